"""The per-iteration half of the pixel loop: Miller indices (§6.7, §8.2–§8.4), lattice factor (§6.8)
and structure factor (§6.9) for every (pixel, layer, sub-pixel, source, φ step, mosaic domain).

Layout: iteration tensors are (F, M, P, T, J, S), the lattice dimensions first and the pixels inside.
The C order is (P, T, J, S, F, M); `c_order` is that view. Every operation here is elementwise, so the
layout changes no value, but with the pixels innermost the operations that broadcast a per-pixel value
against a per-(φ, domain) one run over long contiguous rows (measured 4–6× faster than rows of F·M).
Anything that depends on C order (first true element, flat indices) goes through `c_order`."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import torch

from .kernel_physics import lattice_factor, sincg


def c_order(x):
    """(F, M, P, T, J, S) → the C loop order (P, T, J, S, F, M), as a view."""
    return x.permute(2, 3, 4, 5, 0, 1)


def from_c_order(x):
    """(P, T, J, S, F, M) → the iteration layout (F, M, P, T, J, S), as a view."""
    return x.permute(4, 5, 0, 1, 2, 3)


@dataclass
class Iterations:
    hkl: tuple            # fractional h, k, l (F, M, P, T, J, S), geometry dtype
    hkl0: tuple           # nearest integers, as floats
    F_latt: torch.Tensor  # (F, M, P, T, J, S), render dtype
    fabc: tuple | None    # per-axis SQUARE factors (1 for other shapes); None on the offset path
    F_cell: torch.Tensor  # (F, M, P, T, J, S), geometry dtype
    first_idx: tuple | None   # ((p, t, j, s), …): the first runs in this chunk (C-PARITY-001, C-OMP-001)
    evaluated: Callable   # () → bool mask of the iterations the C evaluates (built on demand)


def lattice_iterations(c, state, q, surv, taps=None) -> Iterations:
    """h, k, l, F_latt and F_cell of every iteration of a chunk. q: per-pixel (P, T, J, S) components;
    surv: (P, T, J, S) bool, the sources that pass the dmin cut. Updates `state` (C-PARITY-001's
    first run, C-INTERP-001's kill switch) in C order; records the traced pixel's h, k, l, h0, k0, l0,
    per-axis factors and F_latt in `taps`."""
    P, T, J, S = q[0].shape
    F, M = c.F, c.M
    eshape = (F, M, P, T, J, S)
    qe = tuple(x[None, None] for x in q)
    hkl = [_dot_lat(v, qe) for v in c.lattice]
    first_idx = first_run(c, state, surv)
    if first_idx is not None:
        hkl = [x.clone() for x in hkl]
        for idx in first_idx:   # one per thread block (C-OMP-001) starting in this chunk, usually one
            for n, h_first in enumerate(first_run_hkl(c, q, idx)):
                hkl[n][(slice(None), slice(None)) + idx] = h_first
    if hasattr(taps, "injection"):   # the injection protocol (simulator/inject.py): the traced pixel only
        hkl = taps.hkl(c, hkl, q)
    h, k, l = hkl
    hkl0 = tuple((x - 0.5).ceil_() for x in hkl)
    F_latt, fabc = lattice_factor(c.shape, hkl, hkl0, c.N, c.fudge, c.stars, dtype=c.dtype)
    F_latt = torch.broadcast_to(F_latt, eshape)
    if hasattr(taps, "injection"):
        F_latt = taps.F_latt(c, F_latt)

    evaluated = evaluated_mask(c, surv, F_latt)
    F_cell = c.grid.nearest(*hkl0, like=h)
    if c.interpolate and state.interp_on:
        F_cell = _interpolated(c, state, hkl, hkl0, F_cell, evaluated())
    if taps:
        h_t = taps.iteration(hkl)
        fabc_t = taps.iteration(tuple(torch.broadcast_to(x, eshape) for x in fabc))
        taps.put(hkl=h_t, hkl0=taps.iteration(hkl0), F_latt=taps.iteration(F_latt),
                 F_abc=_axis_factors(c, h_t, fabc_t))
    return Iterations(hkl=tuple(hkl), hkl0=hkl0, F_latt=F_latt, fabc=fabc, F_cell=F_cell,
                      first_idx=first_idx, evaluated=evaluated)


def evaluated_mask(c, surv, F_latt) -> Callable:
    """() → the iterations the C evaluates (dmin survivors with F_latt != 0 unless water), built on the
    first call: the plain render never needs it."""
    @functools.cache
    def evaluated():
        ev = surv[None, None].expand(F_latt.shape)
        return ev if c.water else ev & (F_latt != 0.0)
    return evaluated


def first_run(c, state, surv):
    """((p, t, j, s), …) of the first φ runs that fall in this chunk, else None, and marks them done in
    `state`. C-PARITY-001: a first run uses the lattice_first vectors. Serially there is one, the
    render's very first φ run; an OpenMP C has one per thread block of rows (C-OMP-001, `state.blocks`).
    A block's first run is its first pixel (C order) with a source that survives the dmin cut."""
    if c.lattice_first is None:
        return None
    # a first run that a slice of the iteration space began: its later φ/domain slices (kernel_slices)
    pending = tuple(getattr(state, "first_pending", ()))
    if not state.blocks:
        return pending or None
    P = surv.shape[0]
    alive = surv.reshape(P, -1).any(1)
    pix = state.chunk_pix
    found = []
    for block in list(state.blocks):   # at most the thread count: a loop over blocks, not pixels
        lo, hi = block
        in_block = alive if pix is None else alive & (pix >= lo) & (pix < hi)
        p = _first_true_flat(in_block)
        if p is None:
            continue
        state.blocks.remove(block)
        flat = _first_true_flat(surv[p])
        idx = []
        for n in reversed(surv.shape[1:]):   # unravel (torch.unravel_index would import sympy: ~1 s)
            flat, i = divmod(flat, n)
            idx.append(i)
        found.append((p, *reversed(idx)))
        if pix is None:
            break
    return pending + tuple(found) or None


def first_run_hkl(c, q, idx):
    """h, k, l of the first run, (F, M) each, in float64: (a·q) with the lattice_first vectors."""
    qi = tuple(x[idx] for x in q)
    return [v[0] * qi[0] + v[1] * qi[1] + v[2] * qi[2] for v in c.lattice_first]


def _interpolated(c, state, hkl, hkl0, F_cell, evaluated):
    """Tricubic F_cell where the C interpolates (§6.9); the C-INTERP-001 switch acts in C order."""
    h, k, l = (c_order(x) for x in hkl)
    ev = c_order(evaluated)
    oor = c.grid.out_of_range(h, k, l)
    if c.quirks.interp_kill_switch:
        first_bad = _first_true_flat(ev & oor)
        use = ev.reshape(-1).clone()
        if first_bad is not None:
            use[first_bad:] = False   # it and everything after it: nearest neighbour
            state.interp_on = False
            state.messages.extend(_interp_warning((h, k, l), tuple(c_order(x) for x in hkl0), first_bad))
    else:
        use = (ev & ~oor).reshape(-1)
    sel = torch.nonzero(use).reshape(-1)
    if not sel.numel():
        return F_cell
    Fi = c.grid.tricubic(h.reshape(-1)[sel], k.reshape(-1)[sel], l.reshape(-1)[sel])
    shape_c = h.shape
    flat = c_order(F_cell).reshape(-1).clone()
    flat[sel] = Fi.to(flat.dtype)   # float32 renders: F_cell is float32, the tricubic of float64 h is not
    return from_c_order(flat.reshape(shape_c))


def _axis_factors(c, hkl, fabc):
    """The traced pixel's per-axis factors: the SQUARE ones the kernel used, or (other shapes, where the
    C still evaluates them but the image does not use them) sincg of the kernel's own h, k, l."""
    if c.shape == "SQUARE":
        return fabc
    return tuple(sincg(math.pi * x, n) if n > 1 else torch.ones_like(x) for x, n in zip(hkl, c.N))


def _first_true_flat(mask):
    """Index of the first True in row-major order of `mask`, or None."""
    flat = mask.reshape(-1)
    nz = torch.nonzero(flat)
    return int(nz[0]) if nz.numel() else None


def _dot_lat(v, q):
    """(a·q), a of shape (F, M) per component, q (1, 1, P, T, J, S): ((a_x q_x + a_y q_y) + a_z q_z),
    the same three products and two sums, into two buffers where autograd allows."""
    col = lambda x: x[:, :, None, None, None, None]  # noqa: E731
    acc = col(v[0]) * q[0]
    if acc.requires_grad or any(x.requires_grad for x in (*v, *q)):
        return acc + col(v[1]) * q[1] + col(v[2]) * q[2]
    tmp = col(v[1]) * q[1]
    acc.add_(tmp)
    return acc.add_(torch.mul(col(v[2]), q[2], out=tmp))


def _interp_warning(hkl, hkl0, flat_index):
    h, k, l = (x.reshape(-1)[flat_index].item() for x in hkl)
    h0, k0, l0 = (int(x.reshape(-1)[flat_index].item()) for x in hkl0)
    return [f"WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: "
            f"{h:g},{k:g},{l:g},{h0},{k0},{l0}",
            "WARNING: further warnings will not be printed! "]
