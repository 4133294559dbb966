"""Imports of big libraries (torch, pandas) without the cyclic collector walking their new objects.

`import_quietly` suits any caller; `import_frozen` also freezes, for programs that own their
interpreter (the CLI, the harness's torch worker, the benchmark driver), not for library use."""

from __future__ import annotations

import gc
import importlib
import time


def import_quietly(*names: str, freeze: bool = False) -> dict:
    """Import the modules with the cyclic collector paused; returns the seconds each import took.

    torch's import creates ~10^6 long-lived objects: the collector walks them repeatedly while it
    imports (~0.1 s). `freeze`: gc.freeze() what exists afterwards, so the collector also skips them
    when the interpreter exits (measured 0.35-0.45 s after a render). Frozen objects are never
    collected, so freeze only in a process whose objects alive at this point live until it ends."""
    was_on = gc.isenabled()
    gc.disable()
    took = {}
    try:
        for name in names:
            t0 = time.perf_counter()
            importlib.import_module(name)
            took[name] = time.perf_counter() - t0
    finally:
        if freeze:
            gc.freeze()
        if was_on:
            gc.enable()
    return took


def import_frozen(*names: str) -> dict:
    """import_quietly(..., freeze=True): for a process that owns its interpreter."""
    return import_quietly(*names, freeze=True)
