"""Vectorized render of the nanoBragg pixel loop (spec §6) from a Setup: the driver.

Every rendered pixel carries the C iteration space as tensor dimensions, laid out in C loop order
    (P pixels, T layers, J = os·os sub-pixels [subS major], S sources, F φ steps, M mosaic domains)
so that flattening the last five gives K = T·J·S·F·M iterations in exactly the order the C visits
them. Pixels are processed in row-major chunks sized from a memory budget (kernel_chunk.py renders
one); the two pieces of state the C carries from one pixel to the next (the φ carry-over of
C-PARITY-001 and the interpolation kill-switch of C-INTERP-001) live in `RenderState` and cross chunk
boundaries in C order. A traced pixel's chunk records its values through taps (taps.py) and is
otherwise rendered exactly like every other chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .cpu_memory import give_back, reuse_freed_memory
from .kernel_accumulate import sequential_float32
from .kernel_chunk import render_chunk
from .kernel_prepare import Prepared
from .kernel_slices import render_pixel
from .memory_budget import box_iterations as box_iterations_within
from .memory_budget import bytes_per_iteration, default_limit, work_budget
from .quirks import as_quirks
from .taps import make_taps

__all__ = ["render", "thread_blocks", "Prepared", "RenderResult", "RenderState", "rendered_pixels", "chunk_budget"]

DEFAULT_BUDGET = 256 * 2**20   # bytes of work tensors per chunk (CPU: keeps the peak RSS well under 1 GiB)
CUDA_BUDGET_MAX = 8 * 2**30    # on CUDA: a quarter of the free device memory, at most this


@dataclass
class RenderState:
    """What the C carries across pixels, in C loop order."""
    blocks: list = field(default_factory=lambda: [(0, float("inf"))])   # [lo, hi) flat pixel ranges whose
    # first φ run is still to come (C-PARITY-001): the whole frame, or one per OpenMP thread (C-OMP-001)
    chunk_pix: object = None         # the flat pixel indices of the chunk being rendered
    interp_on: bool = True           # the global interpolate flag (C-INTERP-001)
    omega_sum: float = 0.0
    messages: list = field(default_factory=list)
    first_pending: tuple = ()        # a first φ run continued from an earlier box of the pixel (kernel_slices)


@dataclass
class RenderResult:
    image: torch.Tensor          # (spixels, fpixels) float32 stored values
    image_double: torch.Tensor   # (spixels, fpixels) requested dtype, value before the store
    rendered: torch.Tensor       # (spixels, fpixels) bool: pixels the loop rendered (ROI ∧ mask)
    in_roi: torch.Tensor         # (spixels, fpixels) bool
    trace: dict | None           # tensors of the traced pixel (see tracing.py)
    omega_sum: float
    messages: list


def rendered_pixels(setup, device):
    """Flat row-major indices of the pixels the C loop renders (ROI inclusive, mask != 0)."""
    fp_n, sp_n = int(setup.fpixels), int(setup.spixels)
    xmin, xmax, ymin, ymax = (int(x) for x in setup.roi)
    x0, x1 = max(xmin, 0), min(xmax, fp_n - 1)
    y0, y1 = max(ymin, 0), min(ymax, sp_n - 1)
    in_roi = torch.zeros(sp_n, fp_n, dtype=torch.bool)
    if x0 <= x1 and y0 <= y1:
        in_roi[y0:y1 + 1, x0:x1 + 1] = True
    # indices straight from the ROI ranges (row-major), so a small ROI costs no frame-sized scan
    ys, xs = torch.arange(y0, max(y0, y1 + 1)), torch.arange(x0, max(x0, x1 + 1))   # empty if inverted
    idx = (ys[:, None] * fp_n + xs[None, :]).reshape(-1)
    rendered = in_roi.clone()
    if setup.mask is not None:
        m = torch.as_tensor(np.asarray(setup.mask).astype("int64")).reshape(-1)
        inside = idx < m.numel()
        keep = ~inside | (m[idx.clamp(max=max(m.numel() - 1, 0))] != 0)
        flat = rendered.reshape(-1)
        flat[idx[~keep]] = False
        idx = idx[keep]
    return idx.to(device), in_roi.to(device), rendered.to(device)


def chunk_budget(device) -> int:
    """Bytes of work tensors per chunk. Every chunk costs a few hundred operation launches, which on a
    GPU take longer than the arithmetic of a small chunk: there a chunk may use a quarter of the free
    device memory (the supervisor frame is then one or two chunks)."""
    device = torch.device(device)
    if device.type != "cuda":
        return DEFAULT_BUDGET
    try:
        free, _ = torch.cuda.mem_get_info(device)
    except (RuntimeError, AssertionError):   # no usable CUDA runtime: the CPU budget
        return DEFAULT_BUDGET
    return int(min(max(free // 4, DEFAULT_BUDGET), CUDA_BUDGET_MAX))


def choose_chunk(c: Prepared, budget=DEFAULT_BUDGET) -> int:
    K = c.T * c.os * c.os * c.S * c.F * c.M
    return max(1, int(budget // (K * bytes_per_iteration(c.dtype, c.interpolate))))


def thread_blocks(spixels: int, fpixels: int, threads: int) -> list:
    """[lo, hi) flat pixel ranges of the OpenMP C's thread blocks: schedule(static) splits the rows as
    libgomp does (rows // N each, the first rows % N threads one row more; nbparity.openmp.block_starts)."""
    q, r = divmod(int(spixels), int(threads))
    blocks, row = [], 0
    for t in range(int(threads)):
        n = q + (1 if t < r else 0)
        if n:
            blocks.append((row * fpixels, (row + n) * fpixels))
        row += n
    return blocks


def render(setup, *, device="cpu", dtype=torch.float64, quirks=frozenset(), chunk_pixels=None,
           trace_pixel=None, progress=None, omp_threads=1, max_memory=None, box_iterations=None) -> RenderResult:
    """Render `setup` (quirks: a Quirks, a mode string or registry ids); trace_pixel = (slow, fast).
    omp_threads: the thread count of the OpenMP C to emulate (C-OMP-001; 1 = the serial program).
    max_memory: the memory budget in bytes (memory_budget.py; default a fraction of what is available):
    a render that cannot fit raises MemoryBudgetError before it starts. A pixel whose iterations
    exceed the work budget is rendered in boxes of its iteration space (kernel_slices.py);
    box_iterations forces that box size."""
    device = torch.device(device)
    limit = int(max_memory) if max_memory is not None else default_limit(device)
    budget = work_budget(setup, dtype, limit, chunk_budget(device), trace_pixel is not None)
    if device.type == "cpu":
        reuse_freed_memory()
    c = Prepared(setup, dtype, device, as_quirks(quirks))
    idx, in_roi, rendered = rendered_pixels(setup, device)
    img = torch.zeros(c.fpixels * c.spixels, dtype=dtype, device=device)
    state = RenderState(interp_on=c.interpolate)
    if c.quirks.omp_block_restart and int(omp_threads) > 1:
        state.blocks = thread_blocks(c.spixels, c.fpixels, omp_threads)
    trace_flat = _trace_index(c, trace_pixel, rendered)
    K = c.T * c.J * c.S * c.F * c.M
    # one pixel's iterations exceed the budget: boxes of them (float32 only where the sum is sequential,
    # which every pixel too large for MIN_WORK is: a box then continues the unsliced scan bit for bit)
    box = int(box_iterations) if box_iterations else box_iterations_within(budget, c.dtype, c.interpolate)
    too_large = K * bytes_per_iteration(c.dtype, c.interpolate) > budget or bool(box_iterations and K > box)
    sliced = too_large and (c.exact or sequential_float32(c))
    chunk = 1 if sliced else int(chunk_pixels) if chunk_pixels else choose_chunk(c, budget)
    total = idx.numel()
    trace = omega_sum = None
    for start in range(0, total, chunk):   # chunks of pixels (bounded memory), not single pixels
        pix = idx[start:start + chunk]
        taps = None
        if trace_flat is not None:
            hit = torch.nonzero(pix == trace_flat).reshape(-1)
            taps = make_taps(int(hit[0])) if hit.numel() else None
        if sliced:
            vals, osum, traced = render_pixel(c, state, pix, box, traced=taps is not None)
        else:
            vals, osum = render_chunk(c, state, pix, taps)
            traced = taps.values if taps is not None else None
        img[pix] = vals
        omega_sum = osum if omega_sum is None else omega_sum + osum
        if traced is not None:
            trace = traced
        if progress is not None:
            progress(min(start + chunk, total), total)
    if device.type == "cpu":
        give_back()
    image = (0.0 + img).to(torch.float32)   # floatimage[idx] (0.0) + value, rounded to float
    return RenderResult(image=image.reshape(c.spixels, c.fpixels),
                        image_double=img.reshape(c.spixels, c.fpixels),
                        rendered=rendered, in_roi=in_roi, trace=trace,
                        omega_sum=float(omega_sum.detach()) if omega_sum is not None else 0.0,
                        messages=state.messages)


def _trace_index(c, trace_pixel, rendered):
    """Flat index of the traced pixel, or None when there is none or the loop does not render it."""
    if trace_pixel is None:
        return None
    ts, tf = (int(x) for x in trace_pixel)
    if 0 <= ts < c.spixels and 0 <= tf < c.fpixels and bool(rendered[ts, tf]):
        return ts * c.fpixels + tf
    return None
