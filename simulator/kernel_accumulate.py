"""Accumulation of the iteration terms (spec §6.10) in C order over K = T·J·S·F·M, in the requested dtype.

Summation order (measured, see tests/simulator/test_kernel.py): the C adds the K terms one by one,
((I_bg + t0) + t1) + …. `torch.sum` uses a pairwise/vectorized reduction whose rounding differs at
~1e-16 relative. We take the last element of `torch.cumsum` instead: on CPU it is a strictly sequential
scan (double accumulator), so float64 sums are bit-identical to the C loop; on CUDA the scan is
parallel and may differ in the last bit, which is within the trace tolerance."""

from __future__ import annotations

import math

import torch

from .kernel_lattice import c_order


def accumulate(c, it, cap_eff, pol_eff, omega_eff, eshape, taps=None):
    """I per pixel (before r_e²·fluence/steps) from the Iterations `it`, and whether each layer's terms
    carry their own capture fraction (spec mode of C-CAPTURE-001). Factors are in the render dtype."""
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
    if factors and c.quirks.oversample_running_products:
        return _running_products(c, term, factors, evaluated, I0, eshape), spec_capture
    for fct in factors:
        term = torch.where(evaluated(), term * fct, term)
    return (_sum_in_c_order(term, I0) if c.exact else _sum_any_order(term, I0)), spec_capture


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
