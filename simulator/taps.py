"""Named taps: the traced pixel's values, recorded where the kernel computes them.

A traced render runs exactly the code an untraced one runs (same path, same chunks, same operations):
the kernel hands the tensors it has just computed to `Taps`, which copies out the traced pixel's slice
under a trace name (tracing.py turns them into TRACE_PY lines). Nothing is recomputed for the trace,
so tracing a pixel changes no pixel. Copies, not views: the kernel overwrites some tensors in place
after tapping them (kernel_offsets.py)."""

from __future__ import annotations

import torch

from .kernel_lattice import c_order


def _copy(x):
    if isinstance(x, (tuple, list)):
        return tuple(_copy(v) for v in x)
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", copy=True)
    return x


class Taps:
    """Recorder for pixel `p` (its index within the chunk being rendered)."""

    def __init__(self, p: int):
        self.p = p
        self.values: dict = {}

    def pixel(self, x):
        """The traced pixel's slice of a per-pixel tensor (pixels first), or of a tuple of them."""
        if isinstance(x, (tuple, list)):
            return tuple(self.pixel(v) for v in x)
        return _copy(x[self.p])

    def iteration(self, x):
        """The traced pixel's (T, J, S, F, M) slice of an iteration tensor (F, M, P, T, J, S)."""
        if isinstance(x, (tuple, list)):
            return tuple(self.iteration(v) for v in x)
        return _copy(c_order(x)[self.p])

    def put(self, **named):
        """Record values under their trace names (tensors are copied to the CPU)."""
        self.values.update({k: _copy(v) for k, v in named.items()})
