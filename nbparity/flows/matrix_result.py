"""The result of a parity matrix: frozen, with its judgement (the worst run's verdict), exit code and
metrics (schema 2, kind "matrix")."""

from __future__ import annotations

from nbparity.verdict import JudgedResult

from dataclasses import dataclass

from nbparity.codec import to_jsonable
from nbparity.flows.compare_result import METRICS_SCHEMA
from nbparity.flows.matrix_judge import counts
from nbparity.verdict import Judgement


@dataclass(frozen=True)
class MatrixResult(JudgedResult):
    request: object                  # nbparity.request.MatrixRequest
    matrix: object                   # nbparity.read.matrix_parse.Matrix (the selected runs)
    outcomes: tuple                  # one JSON-ready record per run, in the matrix's order
    judgement: Judgement
    identity: dict
    wall_s: float = 0.0
    bundle: str | None = None
    junit: str | None = None

    @property
    def name(self) -> str:
        return self.matrix.name

    @property
    def counts(self) -> dict:
        return counts(self.outcomes)

    @property
    def scheduler(self) -> str | None:
        return self.request.scheduler

    @property
    def jobs(self) -> int:
        return self.request.jobs

    def to_metrics(self) -> dict:
        """metrics.json: the matrix's verdict, every run's record, and what varies between two runs of the
        same matrix (paths, times) in one "volatile" block."""
        from nbparity.request import request_to_dict

        port = self.matrix.port
        m = {"schema": METRICS_SCHEMA, "kind": "matrix", "verdict": self.verdict,
             "verdict_line": self.judgement.headline, "reason": self.judgement.reason,
             "exit_code": self.exit_code, "strict": self.request.judge.strict,
             "judgement": self.judgement.to_dict(), "note": self.request.output.note, "identity": self.identity,
             "matrix": str(self.matrix.path), "name": self.name, "counts": self.counts,
             "runs": list(self.outcomes), "port": port.to_dict() if port is not None else None,
             "request": request_to_dict(self.request),
             "volatile": {"bundle": self.bundle, "junit": self.junit, "scheduler": self.scheduler,
                          "jobs": self.jobs, "wall_s": round(self.wall_s, 3)}}
        return to_jsonable(m)


def c_line_texts(outcomes) -> list[str]:
    """The distinct 'C side is R… ' statements of the runs (one binary: usually one line)."""
    out: list[str] = []
    for o in outcomes:
        t = (o.get("c_line") or {}).get("text")
        if t and t not in out:
            out.append(t)
    return out
