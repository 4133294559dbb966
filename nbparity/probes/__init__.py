"""Investigation probes people ran by hand between attempts: sincg sweeps, single-φ runs, the per-φ
basis-vector audit. Each writes an evidence bundle (nbparity probe …)."""
