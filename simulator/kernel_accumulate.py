"""Accumulation of the iteration terms (spec §6.10) in C order over K = T·J·S·F·M, in the requested dtype.

Summation order (measured, see tests/simulator/test_kernel.py): the C adds the K terms one by one,
((I_bg + t0) + t1) + …. `torch.sum` uses a pairwise/vectorized reduction whose rounding differs at
~1e-16 relative. We take the last element of `torch.cumsum` instead: on CPU it is a strictly sequential
scan (double accumulator), so float64 sums are bit-identical to the C loop; on CUDA the scan is
parallel and may differ in the last bit, which is within the trace tolerance. Float32 renders use torch's
own order, except for pixels of more than SEQUENTIAL_ITERS iterations (the only ones a memory budget
slices, kernel_slices.py): those scan in C order too, so a sliced pixel continues the same scan."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .kernel_lattice import c_order

SEQUENTIAL_ITERS = 4096   # float32: iterations per pixel above which the sum runs in C order


def accumulate(c, it, cap_eff, pol_eff, omega_eff, eshape, taps=None):
    """I per pixel (before r_e²·fluence/steps) from the Iterations `it`, and whether each layer's terms
    carry their own capture fraction (spec mode of C-CAPTURE-001). Factors are in the render dtype."""
    w = weighted_terms(c, it, cap_eff, pol_eff, omega_eff, eshape, taps)
    if w.running:
        return _running_products(c, w.term, w.factors, w.evaluated, w.I0, eshape), w.spec_capture
    term = w.term
    for fct in w.factors:
        term = torch.where(w.evaluated(), term * fct, term)
    if c.exact or sequential_float32(c):
        return _sum_in_c_order(term, w.I0), w.spec_capture
    return _sum_any_order(term, w.I0), w.spec_capture


@dataclass
class Weighted:
    term: torch.Tensor      # F_cell²·F_latt² (spec mode: ·C per layer), (F, M, P, T, J, S)
    factors: list           # the per-iteration C, P, Ω factors of -oversample_thick/_polar/_omega
    evaluated: object       # () → the iterations the C evaluates
    I0: float               # the sum's start value
    spec_capture: bool
    running: bool           # C-OVERSAMPLE-001: the factors multiply the running sum


def sequential_float32(c):
    """Float32 renders sum in C order too (a sequential scan) once a pixel has more than SEQUENTIAL_ITERS
    iterations: then a render sliced over the iteration space (kernel_slices.py, only ever that large)
    continues the very scan an unsliced one runs, bit for bit."""
    return c.T * c.J * c.S * c.F * c.M > SEQUENTIAL_ITERS


def weighted_terms(c, it, cap_eff, pol_eff, omega_eff, eshape, taps=None) -> Weighted:
    """The iteration terms and the factors the C applies to them, before any summation."""
    dt = c.dtype
    F_cell = it.F_cell.to(dt)
    F_latt, evaluated = it.F_latt, it.evaluated
    term = F_cell * F_cell
    if taps:   # F_cell² before the in-place products overwrite it (R2's SOURCE2 lines print it)
        taps.put(F_cell_sq=taps.iteration(torch.broadcast_to(term, eshape)))
    if term.requires_grad or F_latt.requires_grad:
        term = term * F_latt * F_latt
    else:   # the same ((F·F)·FL)·FL, in place (half the memory traffic)
        term.mul_(F_latt).mul_(F_latt)
    if taps:
        taps.put(F_cell=taps.iteration(torch.broadcast_to(F_cell, eshape)), I_term=taps.iteration(term),
                 evaluated=taps.iteration(evaluated()))
    if c.dmin > 0.0 or not c.grid.finite:
        # skipped iterations add nothing; otherwise F_latt == 0 already makes the term 0 (F finite)
        term = torch.where(evaluated(), term, 0.0)
    I0 = c.I_bg if c.water and c.quirks.water_scaled_twice else 0.0
    per_layer = lambda x: x[None, None, :, :, :, None]   # (P, T, J) → the iteration layout  # noqa: E731
    factors = []
    if c.os_thick:
        factors.append(per_layer(cap_eff))
    if c.os_polar:
        factors.append(pol_eff[None, None])
    if c.os_omega:
        factors.append(per_layer(omega_eff))
    spec_capture = not c.os_thick and c.detector_thick != 0.0 and not c.quirks.last_layer_capture
    if spec_capture:
        term = term * per_layer(cap_eff)   # each layer weighted by its own C
    running = bool(factors) and c.quirks.oversample_running_products
    return Weighted(term, factors, evaluated, I0, spec_capture, running)


def _running_products(c, term, factors, evaluated, I0, eshape):
    """C-OVERSAMPLE-001: I = (I + t_k)·C·P·Ω after every evaluated iteration, in closed form with
    suffix products of the factors."""
    dt = c.dtype
    P = eshape[2]
    Kn = math.prod(eshape) // P
    g = torch.ones(eshape, dtype=dt, device=c.device)
    for fct in factors:   # at most three factor kinds, not an iteration dimension
        g = g * fct
    g = c_order(torch.where(evaluated(), g, torch.ones_like(g))).reshape(P, Kn)
    G = torch.flip(torch.cumprod(torch.flip(g, [1]), 1), [1])
    terms = c_order(term).reshape(P, Kn) * G
    I0v = torch.full((P, 1), 1.0, dtype=dt, device=c.device) * I0 * G[:, :1]
    return torch.cumsum(torch.cat([I0v, terms], 1), 1)[:, -1]


def _sum_any_order(term, I0):
    """I0 + Σ terms per pixel, in torch's own (pairwise, vectorized) order: for renders that are not
    bit-exact (float32), where a sequential scan would cost more than the rest of the accumulation."""
    F, M, P, T, J, S = term.shape
    return term.reshape(F * M, P, T * J * S).sum((0, 2)) + I0


def _sum_in_c_order(term, I0):
    """I = ((I0 + t0) + t1) + … over K = (T, J, S, F, M) per pixel of an (F, M, P, T, J, S) tensor:
    the last element of a cumsum, a sequential scan (module doc). With one (T, J, S) per pixel the
    scan runs down dim 0 of the (F·M, P) view, no transpose. Starting from I0 = 0 it skips the zero:
    0 + t0 == t0 except for t0 == −0, whose sign lasts only while every term is ±0; + 0.0 clears it."""
    F, M, P, T, J, S = term.shape
    if T * J * S == 1:
        flat, dim = term.reshape(F * M, P), 0
    else:
        flat, dim = c_order(term).reshape(P, T * J * S * F * M), 1
    if I0 == 0.0:
        return torch.cumsum(flat, dim).select(dim, -1) + 0.0
    start = torch.full_like(flat.narrow(dim, 0, 1), I0)
    return torch.cumsum(torch.cat([start, flat], dim), dim).select(dim, -1)
