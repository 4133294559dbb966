"""Investigation probes people ran by hand between attempts: sincg sweeps, single-φ runs, the per-φ
basis-vector audit. `run_probe(ProbeRequest(...))` runs one and returns a frozen ProbeResult; each writes
an evidence bundle (nbparity probe …)."""

from nbparity.probes.result import ProbeResult
from nbparity.probes.run import run_probe

__all__ = ["ProbeResult", "run_probe"]
