"""The result of a probe: frozen, with its judgement (five states), exit code and metrics (schema 2,
kind "probe")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbparity.bundle_kinds import SCHEMA_V2 as METRICS_SCHEMA   # one schema string for every kind
from nbparity.codec import to_jsonable
from nbparity.verdict import JudgedResult, Judgement


@dataclass(frozen=True)
class ProbeResult(JudgedResult):
    request: object                    # nbparity.request.ProbeRequest
    judgement: Judgement
    case: object = None                # nbparity.cases.Case
    plan: object = None                # nbparity.session.PixelPlan of the case's argv
    table: object = None               # DataFrame: the probe's steps / rows / points
    first_divergent: dict | None = None
    details: dict = field(default_factory=dict)    # the probe's own metrics
    files: dict = field(default_factory=dict)      # the probe's own bundle files (tables, PNG, logs)
    summary: tuple = ()                # the probe's own summary.md lines
    findings: tuple = ()               # lines worth a line of their own (terminal, HTML)
    text_table: object = None          # (title, DataFrame) the terminal shows
    identity: dict = field(default_factory=dict)
    warnings: tuple = ()
    side_commands: dict = field(default_factory=dict)
    bundle: Path | None = None

    @property
    def headline(self) -> str:
        return f"probe {self.request.probe}: {self.judgement.headline}"

    def to_metrics(self) -> dict:
        """metrics.json: the verdict and what decided it; the probe's own details beside."""
        from nbparity.request import request_to_dict

        req, plan, torch = self.request, self.plan, self.request.torch
        m = {
            "schema": METRICS_SCHEMA, "kind": "probe", "probe": req.probe,
            "verdict": self.verdict, "verdict_line": self.headline, "reason": self.judgement.reason,
            "exit_code": self.exit_code, "strict": req.judge.strict, "judgement": self.judgement.to_dict(),
            "note": req.output.note, "identity": self.identity,
            "case": None if self.case is None else {"name": self.case.name, "why": self.case.why},
            "pixel": {"slow": req.slow, "fast": req.fast},
            "dtype": torch.dtype, "device": "external" if torch.external else torch.device,
            "quirk_mode": "the port's own" if torch.external else (plan.mode if plan else torch.quirks),
            "c_line": plan.c_line if plan else None, "region": plan.region if plan else None,
            "placement": plan.placement if plan else None,
            "port": torch.port.to_dict() if torch.external else None,
            "warnings": list(self.warnings), "first_divergent_step": self.first_divergent,
            "params": dict(req.params), **self.details,
            "html_findings": list(self.findings), "request": request_to_dict(req),
            "bundle": str(self.bundle) if self.bundle else None,
        }
        return to_jsonable(m)
