"""`run_probe(request)`: one probe around one pixel. read (case, request) → run (both sides through the
Session: placement, the C line, a port where --py-cmd names one) → judge (five states; a step lacking a
side is not compared and makes the verdict incomplete) → write (the bundle). Bad input raises UsageError
(exit 2) before anything runs; a failed run raises RunnerError (exit 3)."""

from __future__ import annotations

import importlib
from dataclasses import replace

from nbparity.errors import UsageError

PROBES = {"sincg": "nbparity.probes.sincg_run:probe_sincg",
          "single-phi": "nbparity.probes.single_phi:probe_single_phi",
          "rotation": "nbparity.probes.rotation:probe_rotation"}


def probe_function(name: str):
    if name not in PROBES:
        raise UsageError(f"unknown probe {name!r} (one of {', '.join(PROBES)})")
    module, fn = PROBES[name].split(":")
    return getattr(importlib.import_module(module), fn)


def run_probe(request, log=None, sides=None):
    """Run the probe the request names; returns a frozen ProbeResult (with its bundle unless the request
    says no bundle). `sides`: a (C side, torch side) pair replacing the request's (fake sides in tests)."""
    from nbparity.session import Session

    say = log or (lambda msg: None)
    fn = probe_function(request.probe)
    if request.probe == "sincg":
        from nbparity.probes.sincg import params_of

        params_of(request)   # bad parameters are exit 2 before anything runs
    with Session(request, log=say, sides=sides, kind="probe") as session:
        say(f"case {session.case.name}: {session.case.why}")
        result = fn(session, log=say)
        if request.output.bundle:
            from nbparity.probes.bundle import write_probe_bundle

            say("writing bundle…")
            result = replace(result, bundle=write_probe_bundle(result, session))
    return result
