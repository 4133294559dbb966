"""The --prove re-runs: the torch side (the in-repo simulator as `python -m simulator`, or the --py-cmd
port) on the placed argv plus the injected options, with the protocol file named by NBPARITY_INJECT where
there are intermediates to inject. Every run is a process of its own, so they run side by side in a small
pool (as many as the machine has cores); each has its own work folder."""

from __future__ import annotations

import os
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nbparity.errors import NbparityError

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ProveRun:
    label: str                      # "pix0", "all injectable causes together", …
    tokens: list                    # the argv tokens appended
    payloads: list                  # protocol payloads injected (docs/injection.md)
    command: list = field(default_factory=list)   # what ran, in full
    run: object = None              # nbparity.port.PortRun
    error: str | None = None
    comparison: object = None       # nbparity.compare.Comparison against the C trace
    pixel_value: float | None = None

    @property
    def trace_text(self) -> str:
        return getattr(self.run, "trace_text", "") if self.run is not None else ""


def torch_command(session, plan):
    """(PortSpec, env) the re-runs use: the port itself, or the in-repo simulator as a command with the
    request's device, dtype, quirk mode and OpenMP threads (importable from any work folder)."""
    from nbparity.port import PortSpec

    if session.torch.external:
        return session.torch.spec, {}
    t = session.request.torch
    cmd = [sys.executable, "-m", "simulator", "{argv}", "-device", t.device, "-dtype", t.dtype,
           "-quirks", plan.mode, "-omp_threads", str(session.torch.omp_threads)]
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return PortSpec.parse(shlex.join(cmd)), {"PYTHONPATH": path}


def run_all(session, plan, runs: list[ProveRun], judge, log=None) -> list[ProveRun]:
    """Run every ProveRun (in parallel) and judge its trace with `judge(frames)`; failures stay on the run."""
    from nbparity.prove.protocol import write_injection
    from simulator.inject import ENV

    spec, env = torch_command(session, plan)

    def one(i_run):
        i, pr = i_run
        wd = session.case.prepare_workdir(session.work / f"prove-{i}")
        extra = dict(env)
        if pr.payloads:
            write_injection(wd / "inject.json", (plan.slow, plan.fast), pr.payloads)
            extra[ENV] = str(wd / "inject.json")
        argv = [*plan.argv, *pr.tokens]
        pr.command = spec.command_for(argv, ())
        try:
            from nbparity.port import run_port

            pr.run = run_port(spec, argv, wd, timeout=session.request.c.timeout, shape=plan.shape, env=extra)
            pr.pixel_value = pr.run.pixel_value(plan.slow, plan.fast)
            pr.comparison = judge(pr.run.trace_text)
        except NbparityError as exc:
            pr.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            pr.run = getattr(exc, "port_run", None)
        return pr

    if log:
        log(f"prove: {len(runs)} re-run(s) with the C's values injected…")
    workers = max(1, min(len(runs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, enumerate(runs)))
