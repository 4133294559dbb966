"""Align a C trace with a torch trace and judge every value with one tolerance rule.

    |py - c| <= atol + rtol * |c|      (C is the reference)

rtol/atol come from traces/tolerances.toml by the key's class and the dtype, unless overridden (the
override applies to every non-exact class). Non-finite values must match exactly (NaN with NaN, +inf
with +inf); `exact` keys (ints, flags, words) must be equal.

Public API::

    compare_traces(c: TraceFrames, py: TraceFrames, *, rtol=None, atol=None, dtype="float64") -> Comparison
    unit_hint(c: float, py: float) -> dict | None     # {"ratio", "factor", "meaning"} for a suspicious ratio

Comparison fields:
    table          DataFrame, one row per aligned value, TABLE_COLUMNS: section, key, component, layer, subS,
                   subF, phi_tic, repeat, c, py, abs, rel, rtol, atol, tol_class, status ('pass' | 'FAIL' |
                   'one-sided'), side ('both' | 'C' | 'PY'), line_c, line_py, raw_c, raw_py
                   (rows in C emission order; rows only the torch side has come last)
    config_table   DataFrame with the same columns for the config echo (section 'config', occurrence 0)
    config_diffs   list of dicts (FAIL rows of config_table): key, component, c, py, raw_c, raw_py, abs, rel, ...
    first_divergence  dict (a FAIL row, earliest line of the C trace) or None
    root_causes    list of dicts: node, section, key, component (first failing one), components (all failing),
                   occurrences, layer/subS/subF/phi_tic/c/py/abs/rel of the first failing value, n_failing,
                   downstream (failing keys below it, bare names), downstream_nodes ("section.key")
    one_sided      list of dicts: node, section, key, side ('C' | 'PY': the side that HAS it), n_values
    hints          list of dicts: node, key, component, layer, subS, subF, phi_tic, ratio, factor, meaning
    (every dict above is JSON-safe: numpy scalars become Python ones, NaN/inf become "nan"/"inf"/"-inf")
    tolerances     dict: rule, dtype, rtol_override, atol_override, classes {name: {rtol, atol}}
    warnings       list[str] (parser warnings of both sides, prefixed, plus alignment notes)
    counts         dict: compared, passed, failed, one_sided, config_compared, config_failed
    verdict        str: 'PARITY: …', 'DIVERGENCE (…): …' or 'NOTHING IN COMMON: …' (no value printed by both
                   sides: exit 1, never parity), with how much was compared ('41 values compared, 12 one-sided')
    exit_code      0 (parity) or 1 (divergence, or nothing in common);  to_dict() -> JSON-safe dict
    inputs         dict per side ('C', 'torch'): format, format_reason, truncation, aliases (applied)
    per_phi        DataFrame (nbparity.phi.per_phi_table): one row per (occurrence, phi_tic), C / torch / Δ of
                   every φ field; phi_summary: steps, failing_steps, failing_phi_tics, first_divergent
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nbparity.errors import UsageError
from nbparity.schema import DTYPES, load_schema

TABLE_COLUMNS = ["section", "key", "component", "layer", "subS", "subF", "phi_tic", "repeat", "c", "py",
                 "abs", "rel", "rtol", "atol", "tol_class", "status", "side", "line_c", "line_py", "raw_c",
                 "raw_py"]
ALIGN_ON = ["section", "key", "component", "layer", "subS", "subF", "phi_tic", "repeat"]
RULE = "|py - c| <= atol + rtol*|c| (C is the reference); non-finite values must match exactly"
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


@dataclass
class Comparison:
    table: object
    config_table: object
    config_diffs: list
    first_divergence: dict | None
    root_causes: list
    one_sided: list
    hints: list
    tolerances: dict
    warnings: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    verdict: str = ""
    exit_code: int = 0
    c_source: str | None = None
    py_source: str | None = None
    inputs: dict = field(default_factory=dict)   # per side: format, format_reason, truncation, aliases
    per_phi: object = None                        # DataFrame (nbparity.phi.per_phi_table), empty without φ rows
    phi_summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_dict(self, include_table: bool = True) -> dict:
        out = {"verdict": self.verdict, "exit_code": self.exit_code, "c_source": self.c_source,
               "py_source": self.py_source, "counts": self.counts, "tolerances": self.tolerances,
               "config_diffs": self.config_diffs, "first_divergence": self.first_divergence,
               "root_causes": self.root_causes, "one_sided": self.one_sided, "hints": self.hints,
               "warnings": self.warnings, "inputs": self.inputs, "per_phi_summary": self.phi_summary}
        if include_table:
            out["factors"] = self.table.to_dict("records")
            out["config"] = self.config_table.to_dict("records")
            out["per_phi"] = [] if self.per_phi is None else self.per_phi.to_dict("records")
        return json_safe(out)


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


# --- alignment and judgement -----------------------------------------------------------------------------

def _primary(frames, warnings: list, label: str):
    """Keep the dominant implementation prefix of a log (a C log that also echoes PY lines, …)."""
    v = frames.values
    impls = v["impl"].value_counts()
    if len(impls) > 1:
        keep = impls.index[0]
        warnings.append(f"{label}: lines of several implementations {sorted(impls.index)}; comparing {keep}")
        frames.values = v[v["impl"] == keep]
        frames.config = frames.config[frames.config["impl"] == keep]
    return frames


def _harmonize(c, py, warnings: list):
    """A side without config echo numbers its blocks (0,0,k); renumber them with the other side's echo."""
    for this, other, label in ((c, py, "C"), (py, c, "torch")):
        if this.occurrence_source == "fallback" and other.config_value("oversample") is not None:
            os_ = int(other.config_value("oversample"))
            nt = int(other.config_value("detector_thicksteps") or 1)
            warnings.append(f"{label} trace has no config echo: its blocks were numbered with the other "
                            f"side's oversample={os_}, detector_thicksteps={nt}")
            remapped = this.remap_blocks(os_, nt)
            this.values, this.occurrence_source = remapped.values, remapped.occurrence_source
    return c, py


def _judge(merged, schema, dtype: str, rtol, atol, section_col: str | None = None,
           phi_one_occurrence: tuple[bool, bool] = (False, False)):
    """Add class, tolerance, abs, rel, status columns to an outer-merged frame (value_c / value_py).
    phi_one_occurrence (C, torch): that side's per-φ records carry no occurrence (a per-φ JSON, table or
    log of one sub-pixel); the other side's φ steps at other occurrences are then one-sided, not failures."""
    import numpy as np

    sections = merged["section"] if section_col is None else [section_col] * len(merged)
    # an extra prefix's section (tap5, source2, …) holds per-pixel quantities: judge them as such
    own_sections = list(sections)
    sections = [s if s in ("pixel", "phi", "config") else "pixel" for s in own_sections]
    classes = [schema.class_of(k, s) for k, s in zip(merged["key"], sections)]
    exact = np.array([cl == "exact" for cl in classes], dtype=bool)
    tols = [schema.class_defaults(cl, dtype) for cl in classes]
    r = np.array([t[0] if (rtol is None or ex) else rtol for t, ex in zip(tols, exact)], dtype=float)
    a = np.array([t[1] if (atol is None or ex) else atol for t, ex in zip(tols, exact)], dtype=float)
    c = merged["value_c"].to_numpy(dtype=float)
    py = merged["value_py"].to_numpy(dtype=float)
    has_c = merged["line_c"].notna().to_numpy()
    has_py = merged["line_py"].notna().to_numpy()
    # string-typed keys (convention, pivot, shape) and keys our schema does not know (other builds'
    # text values: detector_convention=CUSTOM) compare their words; a numeric key's unreadable token is
    # a failure, never "NaN == NaN"
    is_str = np.array([_key_type(schema, k, s) in ("str", None) for k, s in zip(merged["key"], sections)],
                      dtype=bool)
    nan_c = np.isnan(c) & ~merged["raw_c"].fillna("nan").map(_is_nan_token).to_numpy()
    nan_py = np.isnan(py) & ~merged["raw_py"].fillna("nan").map(_is_nan_token).to_numpy()
    words = is_str & (nan_c | nan_py)
    garbled = ~is_str & (nan_c | nan_py)   # a value that did not parse as a number
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(py - c)
        rel = np.where(diff == 0, 0.0, diff / np.abs(c))
        finite = np.isfinite(c) & np.isfinite(py)
        same_nonfinite = (np.isnan(c) & np.isnan(py)) | (np.isinf(c) & (c == py))
        within = np.where(exact, py == c, diff <= a + r * np.abs(c))
    ok = np.where(finite, within, same_nonfinite)
    ok = np.where(words, merged["raw_c"].to_numpy() == merged["raw_py"].to_numpy(), ok) & ~garbled
    # A key both sides print must match structurally: a component, occurrence or φ step present on one
    # side only (a truncated vector, a repeated block) is a divergence. Keys one build does not print at
    # all (config echo, extended φ fields of other builds) stay one-sided.
    key_ids = list(zip(own_sections, merged["key"]))
    shared = {k for k, hc in zip(key_ids, has_c) if hc} & {k for k, hp in zip(key_ids, has_py) if hp}
    structural = np.array([k in shared for k in key_ids], dtype=bool) & ~(has_c & has_py)
    if any(phi_one_occurrence):
        elsewhere = (np.array([s == "phi" for s in own_sections], dtype=bool)
                     & ((merged["layer"] != 0) | (merged["subS"] != 0) | (merged["subF"] != 0)).to_numpy())
        unknown = (has_c & phi_one_occurrence[1]) | (has_py & phi_one_occurrence[0])
        structural &= ~(elsewhere & unknown)
    status = np.where(has_c & has_py, np.where(ok, "pass", "FAIL"), np.where(structural, "FAIL", "one-sided"))
    side = np.where(has_c & has_py, "both", np.where(has_c, "C", "PY"))
    merged = merged.assign(c=c, py=py, abs=np.where(has_c & has_py, diff, np.nan),
                           rel=np.where(has_c & has_py, rel, np.nan), rtol=r, atol=a, tol_class=classes,
                           status=status, side=side)
    return merged


def _key_type(schema, key: str, section: str) -> str | None:
    try:
        return schema.spec(key, section).type
    except KeyError:  # keys of other builds that our schema does not know
        return None


def _is_nan_token(raw: str) -> bool:
    return raw.strip().lower().lstrip("+-") == "nan"



def _merge(cdf, pydf, on):
    import pandas as pd

    cols = on + ["value", "raw", "line"]
    merged = pd.merge(cdf[cols], pydf[cols], on=on, how="outer", suffixes=("_c", "_py"))
    # C emission order first; torch-only rows after, in torch order
    merged = merged.assign(_o1=merged["line_c"].fillna(float("inf")), _o2=merged["line_py"].fillna(float("inf")))
    return merged.sort_values(["_o1", "_o2"] + [c for c in on if c in ("component",)], kind="stable") \
        .drop(columns=["_o1", "_o2"]).reset_index(drop=True)


def _finish_table(merged, config: bool = False):
    import pandas as pd

    if config:
        merged = merged.assign(section="config", layer=0, subS=0, subF=0, phi_tic=-1)
    out = merged.rename(columns={"raw_c": "raw_c", "raw_py": "raw_py"})
    for col in ("line_c", "line_py"):
        out[col] = out[col].astype("Int64")
    for col in ("component", "layer", "subS", "subF", "phi_tic", "repeat"):
        out[col] = out[col].astype("int64")
    return pd.DataFrame(out[TABLE_COLUMNS]).reset_index(drop=True)


def _records(frame) -> list[dict]:
    """Rows as dicts of Python scalars: the values iterrows gives, without building a Series per row."""
    return frame.to_dict("records")


def _row_dict(row) -> dict:
    import pandas as pd

    keep = ["section", "key", "component", "layer", "subS", "subF", "phi_tic", "c", "py", "abs", "rel",
            "rtol", "atol", "tol_class", "raw_c", "raw_py", "line_c", "line_py"]
    d = {k: row[k] for k in keep}
    for k in ("line_c", "line_py"):
        d[k] = None if pd.isna(d[k]) else int(d[k])
    return json_safe(d)


def _root_causes(fails, schema, records=None):
    """Failing nodes whose schema parents all agree, each with the failing nodes downstream of it.
    `records`: _records(fails), when the caller has them."""
    first = {}
    for row in (records if records is not None else _records(fails)):  # fails is in C emission order
        node = f"{row['section']}.{row['key']}"
        first.setdefault(node, row)
    failing = set(first)
    roots = []
    for node, row in first.items():
        if any(p in failing for p in schema.parents(node)):
            continue
        mine = fails[(fails["section"] == row["section"]) & (fails["key"] == row["key"])]
        below = [n for n in schema.descendants(node) if n in failing]
        entry = _row_dict(row)
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


def _one_sided(table):
    out = []
    rows = table[table["status"] == "one-sided"]
    for (section, key, side), grp in rows.groupby(["section", "key", "side"], sort=False):
        out.append({"node": f"{section}.{key}", "section": section, "key": key, "side": side,
                    "n_values": int(len(grp))})
    return out


def _hints(fails, records=None):
    out, seen = [], set()
    for row in (records if records is not None else _records(fails)):
        hint = unit_hint(float(row["c"]), float(row["py"]))
        node = f"{row['section']}.{row['key']}"
        if hint is None or (node, hint["factor"]) in seen:
            continue
        seen.add((node, hint["factor"]))
        out.append(json_safe({"node": node, "key": row["key"], "component": row["component"],
                              "layer": row["layer"], "subS": row["subS"], "subF": row["subF"],
                              "phi_tic": row["phi_tic"], **hint}))
    return out


def _occ(d: dict) -> str:
    where = f"{d['key']}[{d['component']}]"
    if d.get("section") != "config":
        where += f" at occurrence ({d['layer']},{d['subS']},{d['subF']})"
        if d.get("phi_tic", -1) >= 0:
            where += f" phi_tic {d['phi_tic']}"
    return where


def compare_traces(c, py, *, rtol: float | None = None, atol: float | None = None,
                   dtype: str = "float64") -> "Comparison":
    """Compare two parsed traces (C reference first). Raises UsageError when either has no values."""
    import pandas as pd

    if dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    for name, val in (("--tolerance", rtol), ("--atol", atol)):
        if val is not None and not (math.isfinite(val) and val >= 0):
            raise UsageError(f"{name} must be a finite number >= 0, not {val!r}")
    for frames, label in ((c, "C"), (py, "torch")):
        if frames.values.empty:
            raise UsageError(f"{label} trace {frames.label} has no per-pixel or per-φ trace values: "
                             "pixel not rendered (outside detector/ROI/mask) or not a trace log")
    schema = load_schema()
    warnings = [f"C: {w}" for w in c.warnings] + [f"torch: {w}" for w in py.warnings]
    c = _primary(_copy(c), warnings, "C")
    py = _primary(_copy(py), warnings, "torch")
    c, py = _harmonize(c, py, warnings)

    table = _finish_table(_judge(_merge(c.values, py.values, ALIGN_ON), schema, dtype, rtol, atol,
                                 phi_one_occurrence=(_phi_one_occurrence(c), _phi_one_occurrence(py))))
    config_table = _finish_table(
        _judge(_merge(c.config, py.config, ["key", "component", "repeat"]), schema, dtype, rtol, atol,
               section_col="config"), config=True)
    for frames, label in ((c, "C"), (py, "torch")):
        if frames.config.empty:
            warnings.append(f"{label} trace has no config echo: configuration not compared")

    config_fails = config_table[config_table["status"] == "FAIL"]
    fails = table[table["status"] == "FAIL"]
    all_fails = pd.concat([config_fails, fails], ignore_index=True)  # config echo precedes the pixel lines
    first = None
    if not all_fails.empty:
        order = all_fails.assign(_l=all_fails["line_c"].astype("float64")).sort_values(
            ["_l", "component"], kind="stable")
        first = _row_dict(order.iloc[0])
    fail_records = _records(all_fails)
    roots = _root_causes(all_fails, schema, fail_records)
    config_diffs = [_row_dict(r) for r in _records(config_fails)]
    one_sided = _one_sided(pd.concat([config_table, table], ignore_index=True))
    hints = _hints(all_fails, fail_records)

    used = sorted(set(table["tol_class"]) | set(config_table["tol_class"]))
    tolerances = {"rule": RULE, "dtype": dtype, "rtol_override": rtol, "atol_override": atol,
                  "classes": {cl: {"rtol": (rtol if rtol is not None and cl != "exact" else schema.class_defaults(cl, dtype)[0]),
                                   "atol": (atol if atol is not None and cl != "exact" else schema.class_defaults(cl, dtype)[1])}
                              for cl in used}}
    both = table["side"] == "both"
    counts = {"compared": int(both.sum()), "passed": int((table["status"] == "pass").sum()),
              "failed": int(len(fails)), "one_sided": int((table["status"] == "one-sided").sum()),
              "config_compared": int((config_table["side"] == "both").sum()),
              "config_failed": int(len(config_fails)),
              "config_one_sided": int((config_table["status"] == "one-sided").sum()),
              "by_section": {str(k): int(v) for k, v in table[both]["section"].value_counts().items()}}
    from nbparity.phi import per_phi_table, summary

    per_phi = per_phi_table(table)
    phi_summary = summary(per_phi)
    failed = not all_fails.empty
    scope = _scope(counts, one_sided)
    nothing_shared = counts["compared"] + counts["config_compared"] == 0
    if nothing_shared:  # two traces without a common value prove nothing: never parity
        verdict = f"NOTHING IN COMMON: {scope}; no value is printed by both sides, so this is not parity"
    elif not failed:
        verdict = f"PARITY: {scope}; all agree within tolerance ({dtype})"
    else:
        parts = []
        if config_diffs:
            keys = ", ".join(dict.fromkeys(d["key"] for d in config_diffs))
            parts.append(f"configuration differs in {keys}")
        parts.append(f"first divergence {_occ(first)}")
        parts.append(f"{len(roots)} root cause{'s' if len(roots) != 1 else ''}: "
                     + ", ".join(dict.fromkeys(r["key"] for r in roots)))
        if phi_summary.get("first_divergent"):
            fd = phi_summary["first_divergent"]
            parts.append(f"first divergent φ step {fd['phi_tic']} at occurrence ({fd['occurrence']}): {fd['fields']}")
        verdict = (f"DIVERGENCE ({counts['failed'] + counts['config_failed']} of "
                   f"{counts['compared'] + counts['config_compared']} values outside tolerance, {dtype}; "
                   f"{scope}): " + "; ".join(parts))
    inputs = {}
    for frames, label in ((c, "C"), (py, "torch")):
        inputs[label] = {"format": getattr(frames, "format", "trace-log"),
                         "format_reason": getattr(frames, "format_reason", ""),
                         "truncation": frames.truncation, "aliases": list(getattr(frames, "aliases", []))}
        if frames.truncation:
            verdict += f"; {label} input truncated: {frames.truncation}"
    return Comparison(table=table, config_table=config_table, config_diffs=config_diffs,
                      first_divergence=first, root_causes=roots, one_sided=one_sided, hints=hints,
                      tolerances=json_safe(tolerances), warnings=warnings, counts=counts, verdict=verdict,
                      exit_code=1 if failed or nothing_shared else 0, c_source=c.source, py_source=py.source,
                      inputs=json_safe(inputs), per_phi=per_phi, phi_summary=json_safe(phi_summary))


def _phi_one_occurrence(frames) -> bool:
    """True when the per-φ rows say nothing about the sub-pixel they belong to: no occurrence fields and
    no per-pixel blocks around them (per-φ JSON, a per-φ table, a per-φ-only log)."""
    v = frames.values
    phi = v[v["section"] == "phi"]
    if phi.empty or (phi["occ_from"] == "fields").any():
        return False
    return not (v["section"] == "pixel").any()


def _scope(counts: dict, one_sided: list) -> str:
    """How much was compared: '41 values compared (30 per-pixel, 11 per-φ), 12 one-sided (3 keys) …'."""
    names = {"pixel": "per-pixel", "phi": "per-φ"}
    parts = ", ".join(f"{n} {names.get(s, s)}" for s, n in counts["by_section"].items())
    text = f"{counts['compared']} values compared" + (f" ({parts})" if parts else "")
    n_one = counts["one_sided"] + counts["config_one_sided"]
    text += f", {n_one} one-sided ({len(one_sided)} key{'s' if len(one_sided) != 1 else ''})"
    return text + f", {counts['config_compared']} config values compared"


def _copy(frames):
    from dataclasses import replace

    return replace(frames, values=frames.values.copy(), config=frames.config.copy(),
                   warnings=list(frames.warnings))
