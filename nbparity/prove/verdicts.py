"""Per cause: proven, not sufficient or cannot inject, from the re-run with its C value injected; the
causes ranked by how far fixing each alone moves the traced pixel toward the C's value.

A cause is proven when, with its C value given, its own values agree and no divergence originates at or
below it any more: whatever still diverges below it has its root in another cause (the graph of
traces/schema.toml decides what is below what)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PROVEN, NOT_SUFFICIENT, CANNOT, FAILED = "proven", "not sufficient", "cannot inject", "run failed"


@dataclass
class CauseVerdict:
    label: str
    nodes: list                    # the trace nodes the cause stands for
    status: str                    # PROVEN | NOT_SUFFICIENT | CANNOT | FAILED
    how: str                       # "option" | "protocol" | "none"
    message: str
    injected: str = ""             # "-fluence 1e+24" or "rotated vectors (a, b, c) at φ step 0 (protocol)"
    still: list = field(default_factory=list)     # nodes still diverging at or below it
    pixel_after: float | None = None
    moved: float | None = None     # fraction of the pixel's gap to the C closed by fixing it alone
    rel: float | None = None       # the cause's relative difference before
    run_index: int | None = None   # its run in Proof.runs

    @property
    def phrase(self) -> str:
        """'proven by -fluence injection', 'not sufficient (-Xbeam injection)', 'cannot inject', …"""
        rest = self.message[len(self.label) + 2:] if self.message.startswith(self.label + ":") else self.message
        for stop in (":", ";"):
            rest = rest.split(stop)[0]
        return rest.strip()

    def to_dict(self) -> dict:
        from nbparity.compare_notes import json_safe

        return json_safe(self.__dict__)


def subtree(schema, nodes) -> set:
    out = set(nodes)
    for n in nodes:
        out.update(schema.descendants(n))
    return out


def failing_nodes(comparison) -> set:
    import pandas as pd

    t = pd.concat([comparison.config_table, comparison.table], ignore_index=True)
    f = t[t["status"] == "FAIL"]
    return {f"{s}.{k}" for s, k in zip(f["section"], f["key"])}


def less_complete(after, base) -> str | None:
    """Why the re-run's trace proves less than the base one did (values one side lacks, values not finite
    on both sides, beyond the base run's), or None: a proof stands only on what was compared."""
    for key, what in (("one_sided_undeclared", "values only one side printed"),
                      ("non_finite", "values not finite on both sides")):
        extra = int(after.counts.get(key, 0)) - int(base.counts.get(key, 0))
        if extra > 0:
            return f"{extra} more {what} than before"
    return None


def judge_cause(label, nodes, how, injected, run, schema, base) -> tuple[str, str, list]:
    """(status, message, still-diverging nodes at or below it) of one injection run; `base`: the
    comparison without injection."""
    if run.error:
        return FAILED, f"{label}: the re-run failed: {run.error}", []
    after = run.comparison
    lacking = less_complete(after, base)
    if lacking:
        return NOT_SUFFICIENT, f"{label}: not proven: the re-run's trace is incomplete ({lacking})", []
    below = subtree(schema, nodes)
    failing = failing_nodes(after)
    new_roots = {r["node"] for r in after.root_causes}
    still = sorted(failing & below)
    own = sorted(failing & set(nodes))
    by = f"{_option_of(injected)} injection" if how == "option" else "protocol injection"
    if not own and not (new_roots & below):
        if not still:
            return PROVEN, f"{label}: proven by {by}: every downstream value agrees", []
        roots = ", ".join(n.split(".", 1)[1] for n in sorted(new_roots)[:3])
        return PROVEN, (f"{label}: proven by {by}; the {len(still)} keys still diverging below it have "
                        f"other roots ({roots})"), still
    shown = ", ".join(n.split(".", 1)[1] for n in still[:6]) + (" …" if len(still) > 6 else "")
    return NOT_SUFFICIENT, f"{label}: not sufficient ({by}): still diverge: {shown}", still


def _option_of(injected: str) -> str:
    """The option that carries the value: the first option token of the injected ones (-flux 0 and
    -pivot only keep the value in force)."""
    from nbparity.runners import _is_number

    toks = [t for t in injected.split() if t.startswith("-") and not _is_number(t) and t not in ("-flux", "-pivot")]
    return toks[0] if toks else injected


def moved_fraction(before, after, c) -> float | None:
    """1 − |after − C| / |before − C|: 1 when fixing the cause alone brings the pixel to the C's value."""
    try:
        b, a, cv = float(before), float(after), float(c)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) for x in (a, b, cv)) or b == cv:
        return None
    return 1.0 - abs(a - cv) / abs(b - cv)


def rank(verdicts: list) -> list:
    """By the pixel's gap closed (fixing the cause alone), then by relative size; causes no run measured last."""
    def size(v):
        try:
            r = abs(float(v.rel))
        except (TypeError, ValueError):
            return 0.0
        return r if math.isfinite(r) else float("inf")

    return sorted(verdicts, key=lambda v: (v.moved is None, -(v.moved or 0.0), -size(v)))
