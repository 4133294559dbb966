"""Per-sub-pixel geometry of the pixel loop: positions (§6.3, curved §4.8), solid angle (§6.4),
capture fractions (§6.4) and the C 'compute once, recompute while zero' rules."""

from __future__ import annotations

import math

import torch

from .kernel_vec import rdiv, rotate_axis, unit


def subpixel_positions(c, fp, sp):
    """X for every (pixel, layer, sub-pixel): shapes (P, T, J) per component.

    Fdet = sub·(fp·os + subF) + sub/2 (integer formed first), likewise Sdet; Odet = t·thickstep;
    X_k = ((Fdet·f_k + Sdet·s_k) + Odet·o_k) + P0_k."""
    os_, dt = c.os, c.gdt
    j = torch.arange(c.j0, c.j0 + c.J, device=c.device)
    sub_f, sub_s = j % os_, j // os_
    fdet = (fp[:, None] * os_ + sub_f[None, :]).to(dt) * c.sub + c.half_sub      # (P, J)
    sdet = (sp[:, None] * os_ + sub_s[None, :]).to(dt) * c.sub + c.half_sub
    odet = torch.arange(c.t0, c.t0 + c.T, device=c.device).to(dt) * c.thickstep   # (T,)
    fdet, sdet, odet = fdet[:, None, :], sdet[:, None, :], odet[None, :, None]
    # One layer: Odet·o_k is ±0, and x + (±0) differs from x only in the sign of a zero, which a
    # non-zero P0_k added next erases: that component skips the two passes.
    thin = c.T == 1 and c.t0 == 0 and bool(torch.isfinite(odet).all()) and all(math.isfinite(float(x)) for x in c.o)
    X = tuple((fdet * c.f[k] + sdet * c.s[k]) + c.pix0[k] if thin and bool(c.pix0[k] != 0.0)
              else ((fdet * c.f[k] + sdet * c.s[k]) + odet * c.o[k]) + c.pix0[k] for k in range(3))
    if c.curved_det:
        # q = distance·b, rotated about s by X_y/distance, then about f by X_z/distance (§4.8)
        q = tuple(torch.broadcast_to(torch.as_tensor(c.distance * c.beam[k], dtype=c.gdt, device=c.device),
                                     X[0].shape) for k in range(3))
        q1 = rotate_axis(q, c.s, X[1] / c.distance)
        X = rotate_axis(q1, c.f, X[2] / c.distance)
    return X, fdet, sdet


def solid_angle(c, R):
    if c.point_pixel:
        return rdiv(1.0, R) / R
    return rdiv(c.pixel * c.pixel, R) / R * c.close_distance / R


def capture_fraction(c, d):
    """exp(((−t)·S·μ)/ρ) − exp(((−(t+1))·S·μ)/ρ), ρ = d·o, for every (P, T, J)."""
    rho = d[0] * c.o[0] + d[1] * c.o[1] + d[2] * c.o[2]
    t = torch.arange(c.t0, c.t0 + c.T, device=c.device)
    mt = (-t).to(c.gdt)[None, :, None]
    mt1 = (-(t + 1)).to(c.gdt)[None, :, None]
    return torch.exp(mt * c.thickstep * c.mu / rho) - torch.exp(mt1 * c.thickstep * c.mu / rho)


def hold_first_nonzero(x, dim: int):
    """The C pattern `if (v == 0.0) v = compute();` along `dim`: position n holds x at the first index
    ≤ n where x != 0 (NaN counts as non-zero), or x[n] itself while everything so far is zero."""
    n = x.shape[dim]
    if n == 1:   # one position: it holds itself
        return x
    shape = [1] * x.dim()
    shape[dim] = n
    idx = torch.arange(n, device=x.device).reshape(shape).expand(x.shape)
    big = torch.full_like(idx, n)
    first = torch.cummin(torch.where(x != 0.0, idx, big), dim=dim).values
    sel = torch.where(first < n, first, idx)
    return torch.gather(x, dim, sel)


def diffracted(X, exact=True):
    d, R = unit(X, exact)
    return d, R
