"""Process-level set-up for programs that own their interpreter (the CLI, the harness's torch worker,
the benchmark driver); not for library use."""

from __future__ import annotations

import gc
import importlib
import time


def import_frozen(*names: str) -> dict:
    """Import the modules with the cyclic collector paused, then gc.freeze() what exists.

    torch's import creates ~10^6 long-lived objects: the collector walks them repeatedly while it
    imports (~0.1 s) and once more when the interpreter exits (measured 0.35-0.45 s after a render).
    Frozen objects are never collected, so this is only for a process whose objects alive at this
    point live until it ends. Returns the seconds each import took."""
    was_on = gc.isenabled()
    gc.disable()
    took = {}
    try:
        for name in names:
            t0 = time.perf_counter()
            importlib.import_module(name)
            took[name] = time.perf_counter() - t0
    finally:
        gc.freeze()
        if was_on:
            gc.enable()
    return took
