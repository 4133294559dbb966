"""The result of a single-pixel compare: frozen, with its judgement, exit code and metrics (schema 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbparity.bundle_kinds import SCHEMA_V2 as METRICS_SCHEMA   # one schema string for every kind
from nbparity.codec import to_jsonable
from nbparity.verdict import JudgedResult, Judgement, Verdict


@dataclass(frozen=True)
class CompareResult(JudgedResult):
    request: object                    # nbparity.request.CompareRequest
    judgement: Judgement
    case: object = None                # nbparity.cases.Case
    plan: object = None                # nbparity.session.PixelPlan
    comparison: object = None          # nbparity.compare.Comparison
    attribution: object = None         # nbparity.attribution.Attribution
    pixel_values: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    warnings: tuple = ()
    error: str | None = None
    runs: object = None                # nbparity.session.PairRun (raw outputs, for the bundle)
    attribution_runs: tuple = ()       # ((mode, run), …): the re-runs, for the bundle
    proof: object = None               # nbparity.prove.proof.Proof (--prove)
    bundle: Path | None = None

    @property
    def slow(self) -> int:
        return self.request.slow

    @property
    def fast(self) -> int:
        return self.request.fast

    @property
    def per_phi(self):
        return None if self.comparison is None else self.comparison.per_phi

    @property
    def markdown(self) -> str:
        """summary.md's text."""
        from nbparity.write.compare_markdown import summary_markdown

        return summary_markdown(self)

    def to_metrics(self) -> dict:
        """metrics.json: the verdict and everything that decided it, in a versioned schema."""
        req, plan = self.request, self.plan
        torch = req.torch
        m = {
            "schema": METRICS_SCHEMA, "kind": "compare",
            "verdict": self.verdict, "verdict_line": self.judgement.headline,
            "reason": self.judgement.reason, "exit_code": self.exit_code, "strict": req.judge.strict,
            "judgement": self.judgement.to_dict(), "note": req.output.note, "identity": self.identity,
            "case": self.case.summary() if self.case is not None else None,
            "pixel": {"slow": req.slow, "fast": req.fast},
            "region": plan.region if plan else {"roi": None, "full_frame": req.full_frame},
            "placement": plan.placement if plan else None,
            "dtype": torch.dtype, "device": "external" if torch.external else torch.device,
            "quirk_mode": "the port's own" if torch.external else (plan.mode if plan else torch.quirks),
            "quirks_enabled": sorted(plan.enabled) if plan and not torch.external else [],
            "tolerance_overrides": {"rtol": req.judge.rtol, "atol": req.judge.atol},
            "warnings": list(self.warnings), "c_line": plan.c_line if plan else None,
            "port": torch.port.to_dict() if torch.external else None,
            "pixel_values": self.pixel_values,
        }
        if self.comparison is not None:
            from nbparity.config_objects import group_by_object

            m["comparison"] = _comparison_summary(self.comparison)
            m["config_diffs_by_object"] = group_by_object(self.comparison.config_diffs)
            m["per_phi"] = self.comparison.phi_summary
            m["one_sided"] = self.comparison.one_sided
        if self.attribution is not None:
            m["attribution"] = self.attribution.to_dict()
        if self.proof is not None:
            m["proof"] = self.proof.to_dict()
        if self.error:
            m["error"] = self.error
        m["bundle"] = str(self.bundle) if self.bundle else None
        return to_jsonable(m)



def _comparison_summary(comparison) -> dict:
    d = comparison.to_dict(include_table=False)
    return {k: v for k, v in d.items() if k not in ("table", "rows", "values")}


def error_judgement(message: str) -> Judgement:
    return Judgement(Verdict.ERROR, message)
