"""The render's memory budget (-max_memory): how large a chunk of pixels or a box of one pixel's
iterations may be, and the renders refused before they start because even the smallest piece cannot fit.

The budget bounds what the render allocates: the image and its masks, the lattice and structure-factor
tables, a traced pixel's recorded values and the work tensors of one chunk. The interpreter and torch
themselves (~0.3 GB of resident memory on the CPU) come on top. Default: a fraction of the memory
available now (CPU: MemAvailable; CUDA: the device's free memory)."""

from __future__ import annotations

import math
import re

from .sanity import BadValue   # torch is imported where needed: the harness parses sizes without it

DEFAULT_FRACTION = 0.5        # of the available memory, when -max_memory is not given
FALLBACK_AVAILABLE = 4 * 2**30   # when the available memory cannot be read
MIN_WORK = 8 * 2**20          # the smallest box of work tensors a render runs with
BYTES_PER_ITER = 48           # live values per (pixel, iteration) element, measured roughly
BYTES_PER_INTERP = 120        # extra values per element when tricubic interpolation is on
IMAGE_BYTES_PER_PIXEL = 48    # image (render dtype and float32), masks, indices, the writers' copies
TRACE_BYTES_PER_ITER = 160    # a traced pixel's recorded values per iteration (taps, then the lines' arrays)
SLICED_FACTOR = 2             # a box's bytes per element over a chunk's (the carried scans, indices and
                              # the float64 scan copy: measured 1.5× at -oversample 1000)
RUNTIME_BYTES = 32 * 2**20    # what any render adds to the interpreter (measured 15 MiB on one pixel, ~25 sliced)
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class MemoryBudgetError(BadValue):
    """A render that cannot run within the budget: one line, exit 2 (bad input)."""


def parse_size(text) -> int:
    """Bytes from '1073741824', '512M', '1.5G' (binary units, an optional trailing B); ValueError."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)(?:I?B)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"bad -max_memory {text!r}: give bytes, or a number with K, M, G or T")
    value = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not math.isfinite(value) or value < 1 or value > 2**60:
        raise ValueError(f"bad -max_memory {text!r}: out of range")
    return int(value)


def available_bytes(device) -> int:
    """Memory available to the render now: free device memory on CUDA, MemAvailable on the CPU."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):
            return FALLBACK_AVAILABLE
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_AVAILABLE


def default_limit(device) -> int:
    return int(available_bytes(device) * DEFAULT_FRACTION)


def bytes_per_iteration(dtype, interpolate: bool) -> int:
    """Work-tensor bytes per (pixel, iteration) element."""
    per = BYTES_PER_ITER + (BYTES_PER_INTERP if interpolate else 0)
    return per * _itemsize(dtype)


def box_iterations(budget: int, dtype, interpolate: bool) -> int:
    """Iterations per box of a pixel rendered in slices (kernel_slices.py) within `budget` bytes."""
    return max(1, int(budget) // (SLICED_FACTOR * bytes_per_iteration(dtype, interpolate)))


def iterations_per_pixel(setup) -> int:
    os_ = int(setup.oversample)
    return (int(setup.thicksteps) * os_ * os_ * len(setup.source_dirs) * int(setup.phisteps)
            * len(setup.mosaic_umats))


def fixed_bytes(setup, dtype, traced: bool) -> dict:
    """What the render holds whatever its chunks: the image, the tables, a traced pixel's values."""
    size = _itemsize(dtype)
    lattice = int(setup.phisteps) * len(setup.mosaic_umats) * 9 * 8 * 4   # two variants, views and copies
    grid = math.prod(int(x) for x in getattr(setup.hkl_grid, "shape", ())) * (8 + 3 * size) \
        if setup.hkl_grid is not None else 0
    return {"runtime": RUNTIME_BYTES, "image": int(setup.fpixels) * int(setup.spixels) * IMAGE_BYTES_PER_PIXEL,
            "tables": lattice + grid,
            "trace": iterations_per_pixel(setup) * TRACE_BYTES_PER_ITER if traced else 0}


def work_budget(setup, dtype, limit: int, chunk_target: int, traced: bool) -> int:
    """Bytes of work tensors per chunk within `limit` (at most `chunk_target`, the speed-tuned size),
    or MemoryBudgetError with one line when the smallest box cannot fit beside the fixed costs."""
    fixed = fixed_bytes(setup, dtype, traced)
    left = int(limit) - sum(fixed.values())
    if left < MIN_WORK:
        parts = ", ".join(f"{k} {_mib(v)}" for k, v in fixed.items() if v)
        raise MemoryBudgetError(
            f"render refused: it needs at least {_mib(sum(fixed.values()) + MIN_WORK)} ({parts}, "
            f"work {_mib(MIN_WORK)}) and the memory budget (max memory) is {_mib(limit)}")
    return int(min(chunk_target, left))


def _itemsize(dtype) -> int:
    return 8 if str(dtype).endswith("float64") else 4


def _mib(n) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"
