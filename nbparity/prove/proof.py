"""`prove(...)`: the candidates of a divergent comparison, one re-run per injectable cause plus one with all
of them together, each judged against the C trace; the verdicts ranked by effect on the traced pixel."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nbparity.prove.verdicts import CANNOT, FAILED, CauseVerdict, judge_cause, moved_fraction, rank

TOGETHER = "all injectable causes together"


@dataclass
class Proof:
    causes: list                    # CauseVerdict, ranked (first: the largest effect on the pixel)
    together: CauseVerdict | None
    runs: list                      # nbparity.prove.run.ProveRun, in the order they were planned
    pixel: dict = field(default_factory=dict)   # c, before
    seconds: float = 0.0
    split: object = None            # DataFrame (nbparity.prove.split): inherited vs own error per value

    @property
    def headline(self) -> str:
        if not self.causes:
            return "prove: no candidate cause"
        from nbparity.write.textfmt import g

        v = self.causes[0]
        text = f"first cause: {v.label}: {v.phrase}"
        if v.moved is None and v.pixel_after is not None:
            text += f"; the traced pixel does not move with it (C {g(self.pixel.get('c'), 6)})"
        elif v.pixel_after is not None:
            text += (f"; fixed alone: pixel {g(self.pixel.get('before'), 6)} → {g(v.pixel_after, 6)} "
                     f"(C {g(self.pixel.get('c'), 6)})")
        return text

    def to_dict(self) -> dict:
        from nbparity.compare_notes import json_safe

        from nbparity.prove.split import split_summary

        split = split_summary(self.split) if self.split is not None else None
        return json_safe({"headline": self.headline, "pixel": self.pixel, "seconds": self.seconds,
                          "error_split": split,
                          "causes": [v.to_dict() for v in self.causes],
                          "together": self.together.to_dict() if self.together else None,
                          "runs": [{"label": r.label, "tokens": r.tokens, "command": r.command,
                                    "inject": r.payloads, "error": r.error, "pixel_value": r.pixel_value,
                                    "verdict": r.comparison.verdict if r.comparison is not None else None}
                                   for r in self.runs]})


def _injected(cand) -> str:
    if cand.how == "option":
        return " ".join(cand.tokens)
    return f"the C's {cand.label} (protocol)"


def prove(session, plan, comparison, judge_text, pixel_values, base_trace: str, log=None) -> Proof:
    """Re-run the torch side once per injectable cause and once with all; `judge_text(trace) -> Comparison`."""
    from nbparity.prove.plan import intermediate_candidates, option_candidates
    from nbparity.prove.run import ProveRun, run_all
    from nbparity.schema import load_schema

    t0 = time.perf_counter()
    schema = load_schema()
    cands = option_candidates(comparison) + intermediate_candidates(comparison, protocol=True)
    live = [c for c in cands if c.injectable]
    runs = [ProveRun(c.label, list(c.tokens), [c.inject] if c.inject else []) for c in live]
    if len(live) > 1:
        runs.append(ProveRun(TOGETHER, [t for c in live for t in c.tokens], [c.inject for c in live if c.inject]))
    runs = run_all(session, plan, runs, judge_text, log) if runs else []
    before, c_val = pixel_values.get("torch_float"), pixel_values.get("c_float")
    verdicts = []
    for i, c in enumerate(live):
        verdicts.append(_verdict(c, runs[i], i, schema, comparison, base_trace, before, c_val))
    for c in cands:
        if not c.injectable:
            verdicts.append(CauseVerdict(c.label, c.nodes, CANNOT, "none", f"{c.label}: cannot inject: {c.why}",
                                         rel=c.row.get("rel")))
    together = _together(runs[-1], len(runs) - 1, comparison, before, c_val) if len(live) > 1 else None
    fixed = runs[-1].comparison if runs else None   # the run with every injectable cause given
    split = None
    if fixed is not None:
        from nbparity.prove.split import error_split

        split = error_split(comparison, fixed, {n for c in live for n in c.nodes})
    return Proof(rank(verdicts), together, runs, {"c": c_val, "before": before},
                 round(time.perf_counter() - t0, 3), split)


def _verdict(cand, run, index, schema, base, base_trace, before, c_val) -> CauseVerdict:
    injected = _injected(cand)
    if cand.how == "protocol" and not run.error and _same_trace(run.trace_text, base_trace):
        status, msg, still = CANNOT, (f"{cand.label}: cannot inject: the torch side ignored the protocol "
                                      "(its trace did not change; see docs/injection.md)"), []
    else:
        status, msg, still = judge_cause(cand.label, cand.nodes, cand.how, injected, run, schema, base)
    moved = None if status in (FAILED, CANNOT) else moved_fraction(before, run.pixel_value, c_val)
    return CauseVerdict(cand.label, cand.nodes, status, cand.how, msg, injected, still,
                        None if status in (FAILED, CANNOT) else run.pixel_value, moved, cand.row.get("rel"), index)


def _same_trace(a: str, b: str) -> bool:
    keep = lambda text: [ln for ln in text.splitlines() if ln.startswith("TRACE_")]  # noqa: E731
    return keep(a) == keep(b)


def _together(run, index, base, before, c_val) -> CauseVerdict:
    from nbparity.prove.verdicts import NOT_SUFFICIENT, PROVEN, failing_nodes, less_complete

    if run.error:
        return CauseVerdict(TOGETHER, [], FAILED, "all", f"{TOGETHER}: the re-run failed: {run.error}",
                            run_index=index)
    still = sorted(failing_nodes(run.comparison))
    lacking = less_complete(run.comparison, base)
    if lacking:
        status, msg = NOT_SUFFICIENT, f"{TOGETHER}: not proven: the re-run's trace is incomplete ({lacking})"
    elif not still and run.comparison.exit_code == 0:
        status, msg = PROVEN, f"{TOGETHER}: every value agrees ({run.comparison.verdict.split(':')[0]})"
    else:
        shown = ", ".join(n.split(".", 1)[1] for n in still[:6]) + (" …" if len(still) > 6 else "")
        status, msg = NOT_SUFFICIENT, f"{TOGETHER}: still diverge: {shown or run.comparison.verdict}"
    return CauseVerdict(TOGETHER, [], status, "all", msg, still=still, pixel_after=run.pixel_value,
                        moved=moved_fraction(before, run.pixel_value, c_val), run_index=index)
