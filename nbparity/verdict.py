"""The one verdict vocabulary of every command, the matrix, JSON, JUnit, HTML and history.

Five states (docs: architecture.md, "Verdicts and exit codes"): identical, within tolerance, explained
(by named C quirks), divergent, incomplete; plus `error` for a run that failed before it could be judged.
Exit 0 only for the first three (explained fails under --strict). A verdict always carries its reason, and
`combine` keeps the worst of several judgements so one part that was not compared cannot hide behind the
parts that were."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from nbparity.errors import EXIT_DIVERGENCE, EXIT_FAILURE, EXIT_OK


class Verdict(str, Enum):
    IDENTICAL = "identical"
    WITHIN_TOLERANCE = "within_tolerance"
    EXPLAINED = "explained"
    DIVERGENT = "divergent"
    INCOMPLETE = "incomplete"
    ERROR = "error"

    @property
    def label(self) -> str:
        """The headline word: IDENTICAL, WITHIN TOLERANCE, EXPLAINED, DIVERGENT, INCOMPLETE, ERROR."""
        return self.value.replace("_", " ").upper()

    @property
    def passing(self) -> bool:
        return self in (Verdict.IDENTICAL, Verdict.WITHIN_TOLERANCE, Verdict.EXPLAINED)

    def exit_code(self, strict: bool = False) -> int:
        if self is Verdict.ERROR:
            return EXIT_FAILURE
        if self is Verdict.EXPLAINED and strict:
            return EXIT_DIVERGENCE
        return EXIT_OK if self.passing else EXIT_DIVERGENCE

    @classmethod
    def parse(cls, word: str) -> "Verdict":
        """A verdict from its value, its label, or a vocabulary older bundles used (pass, fail, PARITY…)."""
        w = str(word).strip().lower().replace(" ", "_")
        legacy = {"pass": "within_tolerance", "parity": "within_tolerance", "fail": "divergent",
                  "failure": "divergent", "divergence": "divergent", "attributed": "explained",
                  "nothing_in_common": "incomplete"}
        return cls(legacy.get(w, w))


# worst first: combining judgements keeps the first of these that occurs
SEVERITY = (Verdict.ERROR, Verdict.DIVERGENT, Verdict.INCOMPLETE, Verdict.EXPLAINED,
            Verdict.WITHIN_TOLERANCE, Verdict.IDENTICAL)


@dataclass(frozen=True)
class Judgement:
    """A verdict with the reason a person reads, and the parts that decided it (name -> Judgement)."""

    verdict: Verdict
    reason: str
    parts: tuple = field(default_factory=tuple)   # ((name, Judgement), …) in report order
    strict: bool = False

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code(self.strict)

    @property
    def headline(self) -> str:
        tail = " (--strict)" if self.strict and self.verdict is Verdict.EXPLAINED else ""
        return f"{self.verdict.label} — {self.reason} (exit {self.exit_code}{tail})"

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.value, "reason": self.reason, "exit_code": self.exit_code,
                "strict": self.strict, "parts": {name: j.to_dict() for name, j in self.parts}}


def combine(parts, strict: bool = False) -> Judgement:
    """One judgement from named parts: the worst verdict wins, and its reasons (of every part with that
    verdict) become the headline's reason. An empty list is incomplete: nothing was judged."""
    parts = tuple(parts)
    if not parts:
        return Judgement(Verdict.INCOMPLETE, "nothing was compared", (), strict)
    worst = min((j.verdict for _, j in parts), key=SEVERITY.index)
    reasons = [j.reason for _, j in parts if j.verdict is worst]
    return Judgement(worst, "; ".join(dict.fromkeys(reasons)), parts, strict)


def judge_values(n_compared: int, n_failed: int, n_identical: int, what: str) -> Judgement:
    """The verdict of a set of compared values: divergent when any fails, identical when every one is
    bit-equal, within tolerance otherwise; incomplete when nothing was compared."""
    if n_compared == 0:
        return Judgement(Verdict.INCOMPLETE, f"no {what} compared")
    if n_failed:
        return Judgement(Verdict.DIVERGENT, f"{n_failed} of {n_compared} {what} outside tolerance")
    if n_identical == n_compared:
        return Judgement(Verdict.IDENTICAL, f"all {n_compared} {what} bit-identical")
    return Judgement(Verdict.WITHIN_TOLERANCE,
                     f"{n_compared} {what} agree within tolerance ({n_identical} bit-identical)")


class JudgedResult:
    """exit_code and verdict of a flow's frozen result that holds a `judgement` (mixed into each)."""

    @property
    def exit_code(self) -> int:
        return self.judgement.exit_code

    @property
    def verdict(self) -> str:
        return self.judgement.verdict.value

    @property
    def metrics(self) -> dict:
        """metrics.json's content (the result's to_metrics())."""
        return self.to_metrics()

    def to_dict(self) -> dict:
        return self.to_metrics()
