"""Align a C trace with a torch trace and judge every value with one tolerance rule.

    |py - c| <= atol + rtol * |c|      (C is the reference)

rtol/atol come from traces/tolerances.toml by the key's class and the dtype, unless overridden (the
override applies to every non-exact class). Non-finite values must match exactly (NaN with NaN, +inf
with +inf), and a deciding value not finite on both sides makes the verdict incomplete; `exact` keys
(ints, flags, words) must be equal. The judgement (five states, nbparity.compare_judge) is a PASS only
when everything that decides it was compared; one-sided keys are fine only where traces/one_sided.toml
declares that the build of the side that has them prints them alone.

Modules: compare_align (alignment, value rule), compare_judge (five-state judgement), compare_notes
(hints, root causes, one-sided list, scope), declarations (traces/one_sided.toml).

Public API::

    compare_traces(c: TraceFrames, py: TraceFrames, *, rtol=None, atol=None, dtype="float64", keys=())
        -> Comparison          # keys: --keys names/presets (nbparity.compare_judge.parse_keys) that alone decide
    unit_hint(c: float, py: float) -> dict | None     # {"ratio", "factor", "meaning"} for a suspicious ratio

Comparison fields:
    table          DataFrame, one row per aligned value, TABLE_COLUMNS: section, key, component, layer, subS,
                   subF, phi_tic, repeat, c, py, abs, rel, rtol, atol, tol_class, status ('pass' | 'FAIL' |
                   'one-sided' | 'non-finite': the same NaN/inf on both sides, not compared), side ('both' | 'C' | 'PY'), line_c, line_py, raw_c, raw_py,
                   printed, then nbparity.agreement's ulps, digits, rtol_needed
                   (rows in C emission order; rows only the torch side has come last)
    config_table   DataFrame with the same columns for the config echo (section 'config', occurrence 0)
    config_diffs   list of dicts (FAIL rows of config_table): key, component, c, py, raw_c, raw_py, abs, rel, ...
    first_divergence  dict (a FAIL row, earliest line of the C trace) or None
    root_causes    list of dicts: node, section, key, component (first failing one), components (all failing),
                   occurrences, layer/subS/subF/phi_tic/c/py/abs/rel of the first failing value, n_failing,
                   downstream (failing keys below it, bare names), downstream_nodes ("section.key")
    one_sided      list of dicts: node, section, key, side ('C' | 'PY': the side that HAS it), n_values,
                   build (that side's build id in traces/one_sided.toml, or None), declared (the reason, or
                   None: an undeclared one-sided value makes the verdict incomplete)
    hints          list of dicts: node, key, component, layer, subS, subF, phi_tic, ratio, factor, meaning
    (every dict above is JSON-safe: numpy scalars become Python ones, NaN/inf become "nan"/"inf"/"-inf")
    tolerances     dict: rule, dtype, rtol_override, atol_override, classes {name: {rtol, atol}}
    warnings       list[str] (parser warnings of both sides, prefixed, plus alignment notes)
    counts         dict: compared, passed, failed, one_sided, config_compared, config_failed, config_one_sided,
                   by_section, deciding, deciding_failed, identical, non_finite, one_sided_declared,
                   one_sided_undeclared
    judgement      nbparity.verdict.Judgement: identical | within_tolerance | divergent | incomplete, with
                   the reason and the parts that decided it (values, one-sided C/PY, final value,
                   non-finite, truncated C/torch, keys)
    not_compared   dict section -> reason ('configuration not compared (neither side printed a config
                   echo)', 'per-φ not compared (only the C side printed per-φ lines)', …)
    builds         dict {'C': build id | None, 'torch': …} (traces/one_sided.toml)
    verdict        str starting with the judgement's label: 'IDENTICAL: …', 'WITHIN TOLERANCE: …',
                   'DIVERGENT (…): …' or 'INCOMPLETE: …' (nothing in common, undeclared one-sided values,
                   …), with how much was compared ('41 values compared, 12 one-sided')
    exit_code      judgement.exit_code: 0 identical / within tolerance, 1 divergent or incomplete;
                   to_dict() -> JSON-safe dict
    inputs         dict per side ('C', 'torch'): format, format_reason, truncation, aliases (applied)
    per_phi        DataFrame (nbparity.phi.per_phi_table): one row per (occurrence, phi_tic), C / torch / Δ of
                   every φ field; phi_summary: steps, compared_steps, one_sided_steps, failing_steps,
                   non_finite_steps, failing_phi_tics, first_divergent
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nbparity.compare_align import (ALIGN_ON, RULE, TABLE_COLUMNS, copy_frames, finish_table, harmonize,  # noqa: F401
                                    judge_rows, merge, phi_one_occurrence, primary)
from nbparity.compare_judge import KEY_PRESETS, judge_aligned, key_mask, parse_keys  # noqa: F401
from nbparity.compare_notes import (hints, json_safe, occ_text, records_of, root_causes, row_dict,  # noqa: F401
                                    scope_text, unit_hint)
from nbparity.agreement import agreement
from nbparity.errors import UsageError
from nbparity.schema import DTYPES, load_schema
from nbparity.trace.tolerance import printed_note, printed_summary
from nbparity.verdict import Judgement, Verdict


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
    judgement: Judgement | None = None
    not_compared: dict = field(default_factory=dict)  # section -> why it was not compared
    builds: dict = field(default_factory=dict)        # side -> build id of traces/one_sided.toml

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_dict(self, include_table: bool = True) -> dict:
        out = {"verdict": self.verdict, "exit_code": self.exit_code, "c_source": self.c_source,
               "py_source": self.py_source, "counts": self.counts, "tolerances": self.tolerances,
               "config_diffs": self.config_diffs, "first_divergence": self.first_divergence,
               "root_causes": self.root_causes, "one_sided": self.one_sided, "hints": self.hints,
               "warnings": self.warnings, "inputs": self.inputs, "per_phi_summary": self.phi_summary,
               "judgement": None if self.judgement is None else self.judgement.to_dict(),
               "not_compared": self.not_compared, "builds": self.builds}
        if include_table:
            out["factors"] = self.table.to_dict("records")
            out["config"] = self.config_table.to_dict("records")
            out["per_phi"] = [] if self.per_phi is None else self.per_phi.to_dict("records")
        return json_safe(out)




def _check_inputs(c, py, dtype, rtol, atol) -> None:
    if dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    for name, val in (("--tolerance", rtol), ("--atol", atol)):
        if val is not None and not (math.isfinite(val) and val >= 0):
            raise UsageError(f"{name} must be a finite number >= 0, not {val!r}")
    for frames, label in ((c, "C"), (py, "torch")):
        if frames.values.empty:
            raise UsageError(f"{label} trace {frames.label} has no per-pixel or per-φ trace values: "
                             "pixel not rendered (outside detector/ROI/mask) or not a trace log")


def _tolerances(schema, table, config_table, dtype, rtol, atol) -> dict:
    def pick(cl, i, override):
        return override if override is not None and cl != "exact" else schema.class_defaults(cl, dtype)[i]

    used = sorted(set(table["tol_class"].unique()) | set(config_table["tol_class"].unique()))
    return json_safe({"rule": RULE, "dtype": dtype, "rtol_override": rtol, "atol_override": atol,
                      "classes": {cl: {"rtol": pick(cl, 0, rtol), "atol": pick(cl, 1, atol)} for cl in used}})


def _counts(table, config_table) -> dict:
    both = table["side"] == "both"
    return {"compared": int(both.sum()), "passed": int((table["status"] == "pass").sum()),
            "failed": int((table["status"] == "FAIL").sum()),
            "one_sided": int((table["status"] == "one-sided").sum()),
            "config_compared": int((config_table["side"] == "both").sum()),
            "config_failed": int((config_table["status"] == "FAIL").sum()),
            "config_one_sided": int((config_table["status"] == "one-sided").sum()),
            "printed_precision": int(table["printed"].sum()),
            "by_section": {str(k): int(v) for k, v in table[both]["section"].value_counts().items()}}


def _findings(table, config_table, schema) -> dict:
    """First divergence, root causes, config diffs, hints (every failing value, deciding or not)."""
    import pandas as pd

    config_fails = config_table[config_table["status"] == "FAIL"]
    fails = table[table["status"] == "FAIL"]
    all_fails = pd.concat([config_fails, fails], ignore_index=True)  # config echo precedes the pixel lines
    first = None
    if not all_fails.empty:
        order = all_fails.assign(_l=all_fails["line_c"].astype("float64")).sort_values(
            ["_l", "component"], kind="stable")
        first = row_dict(order.iloc[0])
    fail_records = records_of(all_fails)
    return {"first": first, "roots": root_causes(all_fails, schema, fail_records),
            "config_diffs": [row_dict(r) for r in records_of(config_fails)],
            "hints": hints(all_fails, fail_records)}


def _divergence_detail(f: dict, phi_summary: dict) -> str:
    if f["first"] is None:
        return ""
    parts = []
    if f["config_diffs"]:
        parts.append("configuration differs in " + ", ".join(dict.fromkeys(d["key"] for d in f["config_diffs"])))
    parts.append(f"first divergence {occ_text(f['first'])}")
    roots = f["roots"]
    parts.append(f"{len(roots)} root cause{'s' if len(roots) != 1 else ''}: "
                 + ", ".join(dict.fromkeys(r["key"] for r in roots)))
    fd = phi_summary.get("first_divergent")
    if fd:
        parts.append(f"first divergent φ step {fd['phi_tic']} at occurrence ({fd['occurrence']}): {fd['fields']}")
    return "; ".join(parts)


def _verdict_text(j, counts: dict, scope: str, dtype: str, detail: str, keys=()) -> str:
    v = j.verdict
    if v is Verdict.IDENTICAL:
        return f"{v.label}: {scope}; every deciding value bit-identical ({dtype})"
    if v is Verdict.WITHIN_TOLERANCE:
        return f"{v.label}: {scope}; all agree within tolerance ({dtype}), {counts['identical']} bit-identical"
    if v is Verdict.DIVERGENT:
        n_fail = counts["failed"] + counts["config_failed"]
        n_all = counts["compared"] + counts["config_compared"]
        if keys:   # only the named keys decide
            n_fail, n_all = counts["deciding_failed"], counts["deciding"]
        text = f"{v.label} ({n_fail} of {n_all} values outside tolerance, {dtype}; {scope}): {detail}"
        also = [p.reason for _, p in j.parts if p.verdict is Verdict.INCOMPLETE]
        return text + ("; also incomplete: " + "; ".join(also) if also else "")
    return f"{v.label}: {j.reason}; {scope}"


def compare_traces(c, py, *, rtol: float | None = None, atol: float | None = None,
                   dtype: str = "float64", keys=()) -> "Comparison":
    """Compare two parsed traces (C reference first). Raises UsageError when either has no values.
    `keys`: only these keys (names, `section.key` or presets, nbparity.compare_judge.parse_keys) decide,
    and each must be printed by both sides."""
    from nbparity.phi import per_phi_table, summary

    _check_inputs(c, py, dtype, rtol, atol)
    keys = parse_keys(keys) if keys else ()
    schema = load_schema()
    warnings = [f"C: {w}" for w in c.warnings] + [f"torch: {w}" for w in py.warnings]
    c = primary(copy_frames(c), warnings, "C")
    py = primary(copy_frames(py), warnings, "torch")
    c, py = harmonize(c, py, warnings)
    table = finish_table(judge_rows(merge(c.values, py.values, ALIGN_ON), schema, dtype, rtol, atol,
                                   phi_one_occ=(phi_one_occurrence(c), phi_one_occurrence(py))))
    config_table = finish_table(judge_rows(merge(c.config, py.config, ["key", "component", "repeat"]), schema,
                                           dtype, rtol, atol, section_col="config"), config=True)
    table, config_table = agreement(table), agreement(config_table)
    per_phi = per_phi_table(table)
    phi_summary = summary(per_phi)
    found = _findings(table, config_table, schema)
    detail = _divergence_detail(found, phi_summary)
    if keys:   # the reason speaks of the keys that decide
        detail = _divergence_detail(_findings(table[key_mask(table, keys)],
                                              config_table[key_mask(config_table, keys)], schema), {})
    outcome = judge_aligned(table, config_table, c, py, keys, detail)
    counts = {**_counts(table, config_table), **outcome.counts}
    warnings += [why for sec, why in outcome.not_compared.items() if sec != "other keys"]
    printed = printed_summary(table)
    warnings += [printed_note(printed)] if printed else []
    verdict = _verdict_text(outcome.judgement, counts, scope_text(counts, outcome.one_sided), dtype, detail, keys)
    inputs = {}
    for frames, label in ((c, "C"), (py, "torch")):
        inputs[label] = {"format": getattr(frames, "format", "trace-log"),
                         "format_reason": getattr(frames, "format_reason", ""),
                         "truncation": frames.truncation, "aliases": list(getattr(frames, "aliases", []))}
        if frames.truncation:
            verdict += f"; {label} input truncated: {frames.truncation}"
    return Comparison(table=table, config_table=config_table, config_diffs=found["config_diffs"],
                      first_divergence=found["first"], root_causes=found["roots"],
                      one_sided=json_safe(outcome.one_sided), hints=found["hints"],
                      tolerances={**_tolerances(schema, table, config_table, dtype, rtol, atol),
                                  "printed_precision": printed}, warnings=warnings,
                      counts=counts, verdict=verdict, exit_code=outcome.judgement.exit_code, c_source=c.source,
                      py_source=py.source, inputs=json_safe(inputs), per_phi=per_phi,
                      phi_summary=json_safe(phi_summary), judgement=outcome.judgement,
                      not_compared=outcome.not_compared, builds=outcome.builds)
