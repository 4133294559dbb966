"""The result of a full-image comparison: frozen, with its judgement, exit code and metrics (schema 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbparity.bundle_kinds import SCHEMA_V2 as METRICS_SCHEMA   # one schema string for every kind
from nbparity.codec import to_jsonable
from nbparity.verdict import JudgedResult, Judgement


@dataclass(frozen=True)
class ImageResult(JudgedResult):
    request: object                    # nbparity.request.ImageRequest
    judgement: Judgement
    case: object = None                # nbparity.cases.Case
    plan: object = None                # nbparity.flows.image_plan.ImagePlan
    image: object = None               # nbparity.images.ImageVerdict (metrics + gates), None when not measured
    sha256: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    warnings: tuple = ()
    error: str | None = None
    c_line: dict | None = None         # nbparity.cline.report_line: probed before the run, or from the C output
    runs: object = field(default=None, compare=False)     # nbparity.session.PairRun (raw outputs, for the bundle)
    images: tuple = field(default=(None, None), compare=False)   # (C, torch) float32 frames, None where missing
    bundle: Path | None = None

    @property
    def markdown(self) -> str:
        """summary.md's text."""
        from nbparity.write.image_markdown import summary_markdown

        return summary_markdown(self)

    def to_metrics(self) -> dict:
        """metrics.json: the verdict and everything that decided it; what differs between two identical
        runs (timings, the bundle's path) is in the "volatile" block."""
        req, plan = self.request, self.plan
        torch = req.torch
        m = {
            "schema": METRICS_SCHEMA, "kind": "image",
            "verdict": self.verdict, "verdict_line": self.judgement.headline,
            "reason": self.judgement.reason, "exit_code": self.exit_code, "strict": req.judge.strict,
            "judgement": self.judgement.to_dict(), "note": req.output.note, "identity": self.identity,
            "case": self.case.summary() if self.case is not None else None,
            "argv": plan.argv if plan else None,
            "case_argv": list(self.case.argv) if self.case is not None else None,
            "roi_requested": list(req.roi) if req.roi else None, "placement": plan.placement if plan else {},
            "dtype": torch.dtype, "device": "external" if torch.external else torch.device,
            "quirk_mode": "the port's own" if torch.external else (plan.mode if plan else torch.quirks),
            "quirks_enabled": sorted(plan.enabled) if plan and not torch.external else [],
            "allow_empty": req.judge.allow_empty, "warnings": list(self.warnings),
            "c_line": self.c_line,
            "port": torch.port.to_dict() if torch.external else None,
            "image_sha256": self.sha256, "png_scale": "log" if req.log_scale else "linear",
            "threshold_overrides": {k: v for k, v in req.thresholds},
        }
        if self.image is not None:
            m.update(metrics=self.image.metrics, gates=self.image.gates, thresholds=self.image.thresholds,
                     metric_options=self.image.options)
        if self.error:
            m["error"] = self.error
        m["volatile"] = {"timings_s": self.timings}
        m["bundle"] = str(self.bundle) if self.bundle else None
        return to_jsonable(m)

