"""`run(...)`: one simulator run from an argv (or Options) to image, trace, statistics and files
(docs/contracts.md §3.2)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from . import tracing, writers
from .kernel import render
from .memory_budget import parse_size
from .quirks import Quirks, as_quirks
from .trace_r2 import emulates_r2, source2_lines

DTYPES = {"float64": torch.float64, "float32": torch.float32, "double": torch.float64, "float": torch.float32}


@dataclass
class RunResult:
    image: torch.Tensor          # (spixels, fpixels) float32: the stored values
    image_double: torch.Tensor   # (spixels, fpixels) requested dtype: the value before the store
    setup: Any                   # the Setup
    trace_lines: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    stdout_lines: list = field(default_factory=list)
    rendered: Any = None         # (spixels, fpixels) bool mask of rendered pixels
    quirks: frozenset = frozenset()   # the enabled registry ids


def resolve_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"unsupported dtype {dtype}")
        return dtype
    try:
        return DTYPES[str(dtype)]
    except KeyError:
        raise ValueError(f"bad dtype {dtype!r}: use float32 or float64") from None


def resolve_threads(threads) -> int:
    """A thread count >= 1 (ValueError otherwise)."""
    try:
        n = int(str(threads))
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"bad thread count {threads!r}: use an integer >= 1")
    return n


def resolve_device(device) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"bad device {device!r}: use cpu or cuda")
    return dev


def run(argv_or_options, *, roi=None, trace_pixel=None, device="cpu", dtype="float64", quirks="spec",
        write_outputs=False, cwd=".", overrides=None, chunk_pixels=None, progress=None,
        omp_threads=1, max_memory=None) -> RunResult:
    """omp_threads: the OpenMP C's thread count whose per-thread φ carry-over restart (quirk C-OMP-001)
    the render emulates; 1 (default) is the serial program. max_memory: the render's memory budget,
    bytes or a size such as '512M' (simulator/memory_budget.py); None: a fraction of what is available."""
    from .argv import parse_argv
    from .setup import derive

    q: Quirks = as_quirks(quirks)   # a mode string, registry ids or a Quirks; unknown ids raise
    omp_threads = resolve_threads(omp_threads)
    dt = resolve_dtype(dtype)
    dev = resolve_device(device)
    if isinstance(argv_or_options, (list, tuple)):  # the C line's option matching is quirk C-ARGV-001
        opts = parse_argv(list(argv_or_options), r1=q.r1_option_matching)
    else:
        opts = argv_or_options
    if roi is not None:
        opts = dataclasses.replace(opts, roi=tuple(int(x) for x in roi))
    if trace_pixel is not None:
        opts = dataclasses.replace(opts, trace_pixel=tuple(int(x) for x in trace_pixel))
    setup = derive(opts, quirks=q, cwd=str(cwd), overrides=overrides, write_fdump=write_outputs)
    tp = getattr(opts, "trace_pixel", None) or getattr(setup, "trace_pixel", None)

    from .inject import from_env

    with from_env(tp):   # NBPARITY_INJECT: the C's intermediates for the traced pixel (docs/injection.md)
        res = render(setup, device=dev, dtype=dt, quirks=q, chunk_pixels=chunk_pixels,
                     trace_pixel=tp, progress=progress, omp_threads=omp_threads,
                     max_memory=parse_size(max_memory) if max_memory is not None else None)
    trace_lines: list[str] = []
    if tp is not None:
        if emulates_r2(q):   # R2's setup echo (trace_r2.py), recorded while the setup ran
            trace_lines += setup.r2_echo.lines()
        trace_lines += tracing.config_lines(setup)
        if res.trace is not None:
            trace_lines += tracing.pixel_lines(setup, res.trace, int(setup.oversample))
            if emulates_r2(q):
                trace_lines += source2_lines(res.trace)

    image_np = res.image.detach().cpu().numpy()
    rendered = res.rendered.cpu().numpy()
    in_roi = res.in_roi.cpu().numpy()
    stats = writers.statistics(setup, image_np, rendered, in_roi)
    stdout = list(setup.messages) + trace_lines + list(res.messages)
    stdout += writers.stat_lines(setup, stats, res.omega_sum)
    stdout += writers.write_outputs(setup, image_np, rendered, in_roi, stats, cwd=str(cwd),
                                    write=write_outputs)
    stats["intfile_scale"] = writers.intfile_scale(setup, stats)
    return RunResult(image=res.image, image_double=res.image_double, setup=setup,
                     trace_lines=trace_lines, stats=stats, stdout_lines=stdout,
                     rendered=res.rendered, quirks=q.ids)
