"""nbparity.phi.per_phi_table for the aligned table of nbparity.compare, with numpy: the φ rows pivoted to one
row per (occurrence, phi_tic) step, the same frame (values, dtypes, column order) as the per-row loop.

    steps(rows, fail) -> DataFrame | None    # None: a table this path does not take (the loop does)

It takes tables with float `c` / `py` columns, `side` and `status` columns and at most one row per
(step, key); other tables (other readers' column names, repeated fields) go through the loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

META = ("occurrence", "phi_tic", "max_rel_delta", "failing", "non_finite", "one_sided_fields", "compared")
SUFFIXES = ("_c", "_py", "_delta")


def _takes(rows) -> bool:
    return (all(c in rows.columns for c in ("c", "py", "side", "status", "key"))
            and rows["c"].dtype == np.float64 and rows["py"].dtype == np.float64)


def _per_row(rows):
    """(step code, key name) per row, the steps' (occurrence, tic) in order of first appearance."""
    from nbparity.distinct import distinct_codes, per_distinct
    from nbparity.phi import _norm, occurrence

    occ_cols = [c for c in ("occurrence", "layer", "subS", "subF") if c in rows.columns]

    def occ(*vals):
        return occurrence(dict(zip(occ_cols, vals)))

    occs = per_distinct(occ, *[rows[c] for c in occ_cols]) if occ_cols else np.full(len(rows), None, object)
    if "phi_tic" in rows.columns:
        tics = per_distinct(lambda t: None if _norm(t) is None else int(_norm(t)), rows["phi_tic"])
    else:
        tics = np.full(len(rows), None, dtype=object)
    step, first = distinct_codes(occs, tics)
    names = per_distinct(str, rows["key"])
    return step, list(occs[first]), list(tics[first]), names


def _joined(names, step, mask, n) -> list:
    """Per step: the names of its `mask` rows in row order, joined by spaces ('' for none)."""
    out = [""] * n
    if mask.any():
        joined = pd.Series(names[mask]).groupby(step[mask], sort=True).agg(" ".join)
        for code, text in zip(joined.index.tolist(), joined.tolist()):
            out[code] = text
    return out


def _column_order(names, step) -> list:
    """The frame's columns as the loop's dicts insert them: meta, then each key's three columns when the
    key first appears (earliest step, then row order), 'status' after the first step's keys."""
    order = np.lexsort((np.arange(len(step)), step))       # rows by step, then row order
    keys = pd.factorize(names[order])[0]                    # numbered by that first appearance
    _, at = np.unique(keys, return_index=True)
    cols = list(META)
    for pos in at.tolist():
        if step[order[pos]] > 0 and "status" not in cols:   # the first step's dict ends with 'status'
            cols.append("status")
        cols += [f"{names[order[pos]]}{s}" for s in SUFFIXES]
    return cols + ([] if "status" in cols else ["status"])


def steps(rows, fail):
    """The per-φ frame of nbparity.phi.per_phi_table, or None for a table the loop must take."""
    if not _takes(rows):
        return None
    step, occs, tics, names = _per_row(rows)
    n = len(occs)
    fields = {f"{k}{s}" for k in set(names) for s in SUFFIXES}
    if fields & (set(META) | {"status"}) or len(np.unique(step * (len(names) + 1) + pd.factorize(names)[0])) \
            != len(step):
        return None   # a key that shadows a column, or a field printed twice in a step
    c = rows["c"].to_numpy(dtype=float)
    py = rows["py"].to_numpy(dtype=float)
    bad = np.asarray(fail, dtype=bool)
    compared = (rows["side"] == "both").to_numpy(dtype=bool, na_value=False)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        delta = np.where(~np.isnan(c) & ~np.isnan(py), py - c, np.nan)
        d = np.abs(py - c)
        finite = np.isfinite(c) & np.isfinite(py)
        rel = np.where(finite, np.where(c != 0, d / np.abs(c), np.where(d == 0, 0.0, np.inf)),
                       np.where((c == py) | (np.isnan(c) & np.isnan(py)), 0.0, np.inf))
    nonfinite = compared & (((rows["status"].astype(str) == "non-finite").to_numpy()) | ~np.isfinite(delta))
    counted = compared & ~nonfinite & ~np.isnan(rel)
    max_rel = np.zeros(n)
    np.maximum.at(max_rel, step[counted], rel[counted])
    n_compared = np.bincount(step[compared], minlength=n)
    failing = _joined(names, step, bad, n)
    non_finite = _joined(names, step, nonfinite, n)
    meta = pd.DataFrame([{"occurrence": o, "phi_tic": t, "max_rel_delta": m, "failing": f, "non_finite": nf,
                          "one_sided_fields": os_, "compared": k}
                         for o, t, m, f, nf, os_, k in zip(occs, tics, max_rel.tolist(), failing, non_finite,
                                                           _joined(names, step, ~compared, n),
                                                           n_compared.tolist())])
    meta["status"] = ["one-sided" if k == 0 else "fail" if f else "non-finite" if nf else "pass"
                      for k, f, nf in zip(n_compared.tolist(), failing, non_finite)]
    cols = {name: meta[name] for name in meta.columns}
    for key in dict.fromkeys(names):
        at = names == key
        for suffix, values in zip(SUFFIXES, (c, py, delta)):
            col = np.full(n, np.nan)
            col[step[at]] = values[at]
            cols[f"{key}{suffix}"] = col
    return pd.DataFrame({name: cols[name] for name in _column_order(names, step)})
