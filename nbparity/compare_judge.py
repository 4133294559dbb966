"""The five-state judgement of an aligned trace comparison (nbparity.verdict's vocabulary).

A PASS only when everything that decides it was compared:

- identical: every deciding value bit-equal (same double; text values the same words);
- within tolerance: every deciding value within its tolerance (nbparity.compare_align's rule);
- divergent: any deciding value outside tolerance, or a key both sides print with a component,
  occurrence or φ step on one side only;
- incomplete: something that decides was not compared: a value only one side printed that no declaration
  in traces/one_sided.toml covers, a value not finite on both sides, nothing in common, a truncated input
  whose missing part holds deciding values, the final pixel value (I_pixel_final) printed by one side only
  (without --keys; it can never be declared one-sided), or a key named by --keys absent on a side.

Deciding values: every value either side printed, less the one-sided ones a declaration covers; with
--keys only the rows of the named keys (bare `key` matches every section, `section.key` one; presets in
KEY_PRESETS).

    judge_aligned(table, config_table, c, py, keys=(), divergence="") -> JudgeOutcome
    parse_keys("KEY,KEY|PRESET") -> tuple[str, ...]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbparity.declarations import FINAL_VALUE, declared_reason, detect_build, side_id
from nbparity.errors import UsageError
from nbparity.verdict import Judgement, Verdict, combine, judge_values

# `--keys scaling`: the factors of I_pixel_final = r_e² · fluence / steps · I · capture · polar · omega
KEY_PRESETS = {
    "scaling": ("pixel.r_e_sqr", "pixel.fluence_photons_per_m2", "pixel.steps", "pixel.capture_fraction",
                "pixel.polar", "pixel.omega_pixel", "pixel.I_before_scaling", "pixel.I_pixel_final"),
    # `--keys phi`: the per-φ fields every instrumented build prints (trace-format.md, "Per-φ line")
    "phi": ("phi.phi_deg", "phi.k_frac", "phi.F_latt_b", "phi.F_latt"),
}
SIDE_NAME = {"C": "the C side", "PY": "the torch side"}
SECTION_NAME = {"config": "configuration", "pixel": "per-pixel", "phi": "per-φ"}


@dataclass
class JudgeOutcome:
    judgement: Judgement
    one_sided: list                 # nbparity.compare_notes.one_sided_keys entries + build, declared
    not_compared: dict              # section -> reason
    counts: dict = field(default_factory=dict)   # deciding, identical, non_finite, one_sided_declared, …
    builds: dict = field(default_factory=dict)   # {"C": build id | None, "torch": …}


def parse_keys(spec) -> tuple:
    """'KEY,KEY|PRESET' (or an iterable of them) -> the keys, presets expanded, in order, no repeats."""
    items = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in str(s).split(",")]
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        out.extend(KEY_PRESETS.get(item, (item,)))
    if not out:
        raise UsageError("--keys needs at least one key name or preset (" + ", ".join(KEY_PRESETS) + ")")
    return tuple(dict.fromkeys(out))


def key_mask(full, keys):
    """Boolean array: the rows of `full` (an aligned table) that the --keys `keys` name."""
    import numpy as np

    mask = np.zeros(len(full), dtype=bool)
    for k in keys:
        sec, _, name = k.rpartition(".") if k.split(".", 1)[0] in _sections(full) else ("", "", k)
        hit = (full["key"] == name).to_numpy()
        if sec:
            hit = hit & (full["section"] == sec).to_numpy()
        mask |= hit
    return mask


def _sections(full) -> set:
    return set(full["section"]) | {"config", "pixel", "phi"}


def _bit_equal(rows) -> "object":
    import numpy as np

    c = rows["c"].to_numpy(dtype=float)
    py = rows["py"].to_numpy(dtype=float)
    words = np.isnan(c) & np.isnan(py) & (rows["status"] == "pass").to_numpy()
    return (c.view(np.int64) == py.view(np.int64)) | words


def _annotate_one_sided(full, entries, frames_by_side, builds):
    """Each one-sided key with the build of the side that has it and the declaration's reason (or None).
    Two sides of the same build print the same keys: between them only a declaration naming the other
    side (`against`) holds. Returns the reason of every row of `full` (an object array)."""
    from nbparity.distinct import per_distinct

    reasons = {}
    same = builds["C"] is not None and builds["C"] == builds["PY"]
    ids = {side: side_id(f) for side, f in frames_by_side.items()}
    for e in entries:
        frames, other = frames_by_side[e["side"]], "PY" if e["side"] == "C" else "C"
        reason = declared_reason(builds[e["side"]], e["section"], e["key"], frames, ids[other], same)
        e.update(build=builds[e["side"]], declared=reason)
        reasons[(e["section"], e["key"], e["side"])] = reason
    return per_distinct(lambda *k: reasons.get(k), full["section"], full["key"], full["side"])


def _name_values(rows, limit: int = 6) -> str:
    keys = list(dict.fromkeys(f"{s}.{k}" if s not in ("pixel",) else k
                              for s, k in zip(rows["section"], rows["key"])))
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _incomplete_parts(full, deciding, keys, c, py):
    """(name, Judgement) for everything that decides but was not compared."""
    parts = []
    absent = _absent_keys(full, keys) if keys else []
    one = deciding & (full["status"] == "one-sided").to_numpy()
    final = (full["section"] == FINAL_VALUE[0]).to_numpy() & (full["key"] == FINAL_VALUE[1]).to_numpy()
    named = key_mask(full, [k for k, _ in absent]) if absent else final & False   # said by the keys part
    for side, lacking in (("C", "torch"), ("PY", "C")):
        rows = full[one & ~final & ~named & (full["side"] == side).to_numpy()]
        if len(rows):
            parts.append((f"one-sided {side}", Judgement(Verdict.INCOMPLETE, (
                f"{len(rows)} value{'s' if len(rows) != 1 else ''} only {SIDE_NAME[side]} printed, declared "
                f"nowhere (the {lacking} side lacks {_name_values(rows)})"))))
    for side in ("C", "PY") if not keys else ():   # with --keys, the named keys alone decide
        if (final & (full["side"] == side).to_numpy()).any():
            parts.append(("final value", Judgement(Verdict.INCOMPLETE, (
                f"the final pixel value {FINAL_VALUE[1]} is printed by {SIDE_NAME[side]} only"))))
    nonfinite = full[deciding & (full["status"] == "non-finite").to_numpy()]
    if len(nonfinite):
        parts.append(("non-finite", Judgement(Verdict.INCOMPLETE, (
            f"{len(nonfinite)} value{'s' if len(nonfinite) != 1 else ''} not finite on both sides "
            f"({_name_values(nonfinite)}): nothing to compare"))))
    for frames, label, other in ((c, "C", "PY"), (py, "torch", "C")):
        missing = full[one & (full["side"] == other).to_numpy()]
        if frames.truncation and len(missing):
            parts.append((f"truncated {label}", Judgement(Verdict.INCOMPLETE, (
                f"{label} input truncated ({frames.truncation}); its missing part holds deciding values "
                f"({_name_values(missing)})"))))
    if absent:
        parts.append(("keys", Judgement(Verdict.INCOMPLETE, "--keys named keys not printed by both sides: "
                                        + ", ".join(f"{k} (absent on {where})" for k, where in absent))))
    return parts


def _absent_keys(full, keys) -> list:
    """[(key, 'the torch side' | 'the C side' | 'both sides'), …] for the --keys not printed by both sides."""
    absent = []
    for k in keys:
        rows = full[key_mask(full, (k,))]
        has_c = bool(rows["line_c"].notna().any())
        has_py = bool(rows["line_py"].notna().any())
        if not (has_c and has_py):
            absent.append((k, "both sides" if not (has_c or has_py) else ("the torch side" if has_c else "the C side")))
    return absent


def _not_compared(full, c, py, keys) -> dict:
    """section -> why it was not compared ('configuration not compared (neither side printed a config echo)')."""
    out = {}
    for sec in dict.fromkeys(["config", "pixel", "phi"] + list(full["section"].unique())):
        rows = full[(full["section"] == sec).to_numpy()]
        if (rows["side"] == "both").any():
            continue
        name = SECTION_NAME.get(sec, sec)
        what = {"config": "a config echo", "pixel": "per-pixel lines", "phi": "per-φ lines"}.get(sec, f"{sec} lines")
        if sec == "config":
            has = [lbl for lbl, f in (("C", c), ("torch", py)) if len(f.config)]
        else:
            has = [{"C": "C", "PY": "torch"}[s] for s in ("C", "PY") if (rows["side"] == s).any()]
        who = "neither side printed" if not has else f"only the {has[0]} side printed"
        out[sec] = f"{name} not compared ({who} {what})"
    if keys:
        out["other keys"] = "not deciding: --keys " + ",".join(keys) + " restricts the judging to those keys"
    return out


def judge_aligned(table, config_table, c, py, keys: tuple = (), divergence: str = "") -> JudgeOutcome:
    """The judgement of the aligned tables (nbparity.compare_align) of frames `c` and `py`.
    `divergence`: the detail a divergent verdict's reason carries (first divergence, root causes)."""
    import numpy as np
    import pandas as pd

    from nbparity.compare_notes import one_sided_keys
    from nbparity.distinct import per_distinct

    full = pd.concat([config_table, table], ignore_index=True)
    builds = {"C": detect_build(c), "PY": detect_build(py)}
    entries = one_sided_keys(full)
    reasons = _annotate_one_sided(full, entries, {"C": c, "PY": py}, builds)
    declared = per_distinct(lambda r: r is not None, reasons, dtype=bool)
    selected = key_mask(full, keys) if keys else np.ones(len(full), dtype=bool)
    one = (full["status"] == "one-sided").to_numpy()
    deciding = selected & ~(one & declared)
    status = full["status"].to_numpy()
    compared = deciding & ((full["side"] == "both").to_numpy() | (status == "FAIL"))
    judged = compared & (status != "non-finite")
    n_failed = int((deciding & (status == "FAIL")).sum())
    n_identical = int((judged & (status == "pass") & _bit_equal(full)).sum())
    values = judge_values(int(judged.sum()), n_failed, n_identical, "deciding values")
    if values.verdict is Verdict.DIVERGENT and divergence:
        values = Judgement(Verdict.DIVERGENT, f"{values.reason}: {divergence}")
    if not compared.any():
        values = Judgement(Verdict.INCOMPLETE, "nothing in common: no deciding value is printed by both sides")
    parts = [("values", values)] + _incomplete_parts(full, deciding, keys, c, py)
    counts = {"deciding": int(compared.sum()), "deciding_failed": n_failed, "identical": n_identical,
              "non_finite": int((deciding & (status == "non-finite")).sum()),
              "one_sided_declared": int((one & declared & selected).sum()),
              "one_sided_undeclared": int((one & ~declared & selected).sum())}
    return JudgeOutcome(combine(parts), entries, _not_compared(full, c, py, keys), counts,
                        {"C": builds["C"], "torch": builds["PY"]})
