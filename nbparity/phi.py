"""The per-φ table: one row per (occurrence, φ step) from the φ rows of the aligned comparison table.

Also the few helpers other pipeline modules use to read the aligned table (failing rows, row identity),
so the table's column names are interpreted in one place.
"""

from __future__ import annotations

import math

FIELDS = ("phi_deg", "h_frac", "k_frac", "l_frac", "F_latt_a", "F_latt_b", "F_latt_c", "F_latt", "F_cell", "I_term")
FAIL_WORDS = {"fail", "failed", "diverge", "divergent", "mismatch", "error"}


def _col(table, *names):
    for n in names:
        if n in table.columns:
            return n
    return None


def failing_mask(table):
    """Boolean Series: rows whose comparison failed (one-sided rows never fail)."""
    import pandas as pd

    if table is None or len(table) == 0:
        return pd.Series([], dtype=bool)
    c = _col(table, "status", "verdict", "result")
    if c is not None:
        return table[c].astype(str).str.lower().isin(FAIL_WORDS)
    c = _col(table, "ok", "passed", "pass")
    if c is not None:
        return ~table[c].fillna(True).astype(bool)
    c = _col(table, "failed", "fail")
    return table[c].fillna(False).astype(bool) if c else pd.Series(False, index=table.index)


def failing_rows(table):
    import pandas as pd

    if table is None or len(table) == 0:
        return pd.DataFrame()
    return table[failing_mask(table)]


def _norm(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (list, tuple)):
        return tuple(v)
    try:
        import numpy as np

        if isinstance(v, np.generic):
            v = v.item()
            if isinstance(v, float) and math.isnan(v):
                return None
    except ImportError:
        pass
    return v


def occurrence(row):
    """'layer,subS,subF' of an aligned row (None for config rows and single-occurrence keys)."""
    get = row.get if hasattr(row, "get") else (lambda k, d=None: getattr(row, k, d))
    occ = _norm(get("occurrence", None))
    if occ is not None:
        return str(occ)
    parts = [_norm(get(k, None)) for k in ("layer", "subS", "subF")]
    if all(p is None for p in parts):
        return None
    return ",".join("-" if p is None else str(int(p)) for p in parts)


def row_id(row) -> tuple:
    """(section, key, component, occurrence, phi_tic[, repeat]): the identity of one compared value."""
    get = row.get if hasattr(row, "get") else (lambda k, d=None: getattr(row, k, d))
    tic = _norm(get("phi_tic", None))
    return (str(_norm(get("section", "")) or ""), str(_norm(get("key", ""))), _norm(get("component", None)),
            occurrence(row), None if tic is None else int(tic), _norm(get("repeat", None)))


def _phi_section(table):
    sec = _col(table, "section")
    if sec is not None:
        rows = table[table[sec].astype(str).str.lower() == "phi"]
        if len(rows):
            return rows
    tic = _col(table, "phi_tic")
    return table[table[tic].notna()] if tic else table.iloc[0:0]


def _rel(c, py) -> float:
    try:
        c, py = float(c), float(py)
    except (TypeError, ValueError):
        return math.nan
    if not (math.isfinite(c) and math.isfinite(py)):
        return 0.0 if (c == py or (math.isnan(c) and math.isnan(py))) else math.inf
    d = abs(py - c)
    return d / abs(c) if c != 0 else (0.0 if d == 0 else math.inf)


def _delta(c, py) -> float:
    """py - c (torch minus C), NaN when either side lacks the field."""
    try:
        c, py = float(c), float(py)
    except (TypeError, ValueError):
        return math.nan
    return py - c if (c == c and py == py) else math.nan


def _compared(r, cv, pv) -> bool:
    side = r.get("side")
    if side is not None:
        return side == "both"
    return _norm(cv) is not None and _norm(pv) is not None


def _add_field(g: dict, r: dict, bad: bool, ccol, pcol) -> None:
    key = str(r.get("key"))
    cv = r.get(ccol) if ccol else None
    pv = r.get(pcol) if pcol else None
    g[f"{key}_c"], g[f"{key}_py"] = cv, pv
    g[f"{key}_delta"] = _delta(cv, pv)
    if not _compared(r, cv, pv):
        g["one_sided_fields"].append(key)
        if bad:
            g["failing"].append(key)
        return
    g["compared"] += 1
    rel = _rel(cv, pv)
    if str(r.get("status", "")) == "non-finite" or not math.isfinite(g[f"{key}_delta"]):
        g["non_finite"].append(key)
    elif rel == rel:
        g["max_rel_delta"] = max(g["max_rel_delta"], rel)
    if bad:
        g["failing"].append(key)


def _step_status(g: dict) -> str:
    """'one-sided' (no field printed by both sides: never pass), 'fail', 'non-finite' (a compared field
    with a NaN/inf Δ: not pass), or 'pass'."""
    if g["compared"] == 0:
        return "one-sided"
    if g["failing"]:
        return "fail"
    return "non-finite" if g["non_finite"] else "pass"


def per_phi_table(table):
    """DataFrame, one row per (occurrence, phi_tic): C and torch values of each φ field and their Δ
    (`{field}_delta` = torch − C; NaN for a field one side lacks, listed in `one_sided_fields`), the
    largest relative Δ over the compared fields, the failing and non-finite fields, `compared` (how many
    fields both sides printed) and a status ('pass', 'fail', 'non-finite', 'one-sided'); sorted in C
    emission order. A pass row has a finite Δ in every compared field."""
    import pandas as pd

    from nbparity.phi_pivot import steps

    if table is None or len(table) == 0:
        return pd.DataFrame()
    rows = _phi_section(table)
    if len(rows) == 0:
        return pd.DataFrame()
    ccol, pcol = _col(rows, "c", "c_value", "C"), _col(rows, "py", "py_value", "torch", "PY")
    fail = failing_mask(rows)
    fast = steps(rows, fail.to_numpy(dtype=bool))   # the aligned table of nbparity.compare, with numpy
    return _ordered(fast if fast is not None else _steps_loop(rows, fail, ccol, pcol))


def _steps_loop(rows, fail, ccol, pcol):
    """The per-φ frame of any table, one row at a time (columns in the order the step dicts insert them)."""
    import pandas as pd

    groups: dict = {}
    order = []
    for r, bad in zip(rows.to_dict("records"), fail):   # iterrows' values, without a Series per row
        occ, tic = occurrence(r), _norm(r.get("phi_tic"))
        tic = None if tic is None else int(tic)
        g = groups.get((occ, tic))
        if g is None:
            g = groups[(occ, tic)] = {"occurrence": occ, "phi_tic": tic, "max_rel_delta": 0.0, "failing": [],
                                      "non_finite": [], "one_sided_fields": [], "compared": 0}
            order.append((occ, tic))
        _add_field(g, r, bad, ccol, pcol)
    out = []
    for k in order:
        g = groups[k]
        g["status"] = _step_status(g)
        for name in ("failing", "non_finite", "one_sided_fields"):
            g[name] = " ".join(g[name])
        out.append(g)
    return pd.DataFrame(out)


def _ordered(df):
    lead = ["occurrence", "phi_tic"]
    vals = [c for f in FIELDS for c in (f"{f}_c", f"{f}_py", f"{f}_delta") if c in df.columns]
    rest = [c for c in df.columns if c not in lead + vals]
    return df[lead + vals + rest]


def summary(per_phi) -> dict:
    """Steps, how many were compared (both sides printed them) and how many were one-sided, failing and
    non-finite steps, and the first divergent step (in C emission order)."""
    if per_phi is None or len(per_phi) == 0:
        return {"steps": 0, "compared_steps": 0, "one_sided_steps": 0, "failing_steps": 0,
                "non_finite_steps": 0, "failing_phi_tics": [], "first_divergent": None}
    status = per_phi["status"]
    bad = per_phi[status == "fail"]
    first = None
    if len(bad):
        r = bad.iloc[0]
        first = {"occurrence": _norm(r["occurrence"]), "phi_tic": _norm(r["phi_tic"]), "fields": r["failing"]}
    return {"steps": int(len(per_phi)), "compared_steps": int((status != "one-sided").sum()),
            "one_sided_steps": int((status == "one-sided").sum()), "failing_steps": int(len(bad)),
            "non_finite_steps": int((status == "non-finite").sum()),
            "failing_phi_tics": sorted({int(t) for t in bad["phi_tic"] if t is not None}),
            "first_divergent": first}
