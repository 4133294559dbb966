"""What nbparity.compare reports besides the table: unit hints, root causes, one-sided keys, the scope
line, and the JSON-safe row dicts (numpy scalars as Python ones, NaN/inf as "nan"/"inf"/"-inf")."""

from __future__ import annotations

import math

_HINT_REL = 1e-3


def _hint_candidates():
    out = [(-1.0, "-1", "sign flip: an axis direction or a convention differs")]
    names = {3: "m vs mm", 6: "m vs µm (or m² vs mm²)", 9: "m vs nm", 10: "m vs Å (or Å⁻¹ vs m⁻¹)",
             20: "m² vs Å²", 1: "a factor of ten (cm vs mm, or a scale slip)"}
    for k in range(1, 25):
        for sign in (1, -1):
            what = names.get(k, "a power-of-ten scale error")
            out.append((10.0 ** (sign * k), f"1e{sign * k}", f"likely unit error: {what}"))
    two_pi, rtd = 2 * math.pi, 180 / math.pi
    out += [(two_pi, "2π", "factor 2π: reciprocal-space convention (2π/d vs 1/d) or cycles vs radians"),
            (1 / two_pi, "1/(2π)", "factor 1/(2π): reciprocal-space convention (1/d vs 2π/d) or radians vs cycles"),
            (rtd, "180/π", "degrees printed where radians are expected"),
            (1 / rtd, "π/180", "radians printed where degrees are expected")]
    return out


_CANDIDATES = _hint_candidates()


def unit_hint(c: float, py: float) -> dict | None:
    """Name the likely unit/convention error when py/c is (within 1e-3) 10^k (|k|>=1), 2π, 180/π, their
    inverses, or -1."""
    if not (math.isfinite(c) and math.isfinite(py)) or c == 0 or py == 0:
        return None
    ratio = py / c
    for value, factor, meaning in _CANDIDATES:
        if abs(ratio / value - 1.0) <= _HINT_REL:
            return {"ratio": ratio, "factor": factor, "meaning": meaning}
    return None


def json_safe(obj):
    """Recursively turn numpy scalars into Python ones and non-finite floats into 'nan'/'inf'/'-inf'."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if obj != obj else ("inf" if obj > 0 else "-inf")
    return obj


def records_of(frame) -> list[dict]:
    """Rows as dicts of Python scalars: the values iterrows gives, without building a Series per row."""
    return frame.to_dict("records")


def row_dict(row) -> dict:
    import pandas as pd

    keep = ["section", "key", "component", "layer", "subS", "subF", "phi_tic", "c", "py", "abs", "rel",
            "rtol", "atol", "tol_class", "raw_c", "raw_py", "line_c", "line_py", "ulps", "digits", "rtol_needed"]
    d = {k: row[k] for k in keep if k in row}
    for k in ("line_c", "line_py"):
        d[k] = None if pd.isna(d[k]) else int(d[k])
    if "ulps" in d and not pd.isna(d["ulps"]) and abs(d["ulps"]) < 2 ** 63:   # a count
        d["ulps"] = int(d["ulps"])
    return json_safe(d)


def root_causes(fails, schema, records=None):
    """Failing nodes whose schema parents all agree, each with the failing nodes downstream of it.
    `records`: records_of(fails), when the caller has them."""
    first = {}
    for row in (records if records is not None else records_of(fails)):  # fails is in C emission order
        node = f"{row['section']}.{row['key']}"
        first.setdefault(node, row)
    failing = set(first)
    roots = []
    for node, row in first.items():
        if any(p in failing for p in schema.parents(node)):
            continue
        mine = fails[(fails["section"] == row["section"]) & (fails["key"] == row["key"])]
        below = [n for n in schema.descendants(node) if n in failing]
        entry = row_dict(row)
        entry.update({
            "node": node,
            "components": sorted({int(x) for x in mine["component"]}),
            "occurrences": sorted({(int(a), int(b), int(c)) for a, b, c in
                                   zip(mine["layer"], mine["subS"], mine["subF"])}),
            "n_failing": int(len(mine)),
            "downstream": [n.split(".", 1)[1] for n in below],
            "downstream_nodes": below,
        })
        entry["occurrences"] = [list(o) for o in entry["occurrences"]]
        roots.append(entry)
    return roots


def one_sided_keys(table):
    out = []
    rows = table[table["status"] == "one-sided"]
    for (section, key, side), grp in rows.groupby(["section", "key", "side"], sort=False):
        out.append({"node": f"{section}.{key}", "section": section, "key": key, "side": side,
                    "n_values": int(len(grp))})
    return out


def hints(fails, records=None):
    out, seen = [], set()
    for row in (records if records is not None else records_of(fails)):
        hint = unit_hint(float(row["c"]), float(row["py"]))
        node = f"{row['section']}.{row['key']}"
        if hint is None or (node, hint["factor"]) in seen:
            continue
        seen.add((node, hint["factor"]))
        out.append(json_safe({"node": node, "key": row["key"], "component": row["component"],
                              "layer": row["layer"], "subS": row["subS"], "subF": row["subF"],
                              "phi_tic": row["phi_tic"], **hint}))
    return out


def occ_text(d: dict) -> str:
    where = f"{d['key']}[{d['component']}]"
    if d.get("section") != "config":
        where += f" at occurrence ({d['layer']},{d['subS']},{d['subF']})"
        if d.get("phi_tic", -1) >= 0:
            where += f" phi_tic {d['phi_tic']}"
    return where


def scope_text(counts: dict, one_sided: list) -> str:
    """How much was compared: '41 values compared (30 per-pixel, 11 per-φ), 12 one-sided (3 keys) …'."""
    names = {"pixel": "per-pixel", "phi": "per-φ"}
    parts = ", ".join(f"{n} {names.get(s, s)}" for s, n in counts["by_section"].items())
    text = f"{counts['compared']} values compared" + (f" ({parts})" if parts else "")
    n_one = counts["one_sided"] + counts["config_one_sided"]
    text += f", {n_one} one-sided ({len(one_sided)} key{'s' if len(one_sided) != 1 else ''})"
    return text + f", {counts['config_compared']} config values compared"


