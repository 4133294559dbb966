"""Per-evaluation physics of the pixel loop: lattice factors (§6.8, §7), polarization (§5.4) and
structure factors (§6.9). Pure elementwise tensor code in the C operation order."""

from __future__ import annotations

import math

import torch

from .constants import GAUSS_WIDTH, ROUND_NORM, TOPHAT_RADIUS_SQR
from .kernel_vec import cross, csqrt, dot, unit



def sincg(x, n: float):
    """Grating function: N at x == 0 exactly, else sin(x·N)/sin(x) with x·N formed first (§7)."""
    value = _sincg_ratio(x, n)
    zero = x == 0.0
    return torch.where(zero, n, value) if bool(zero.any()) else value   # x == 0 only on exact rows


def _sincg_ratio(x, n: float, consume=False):
    """sin(x·N)/sin(x) without the x == 0 case (0/0 = NaN there). `consume`: x is a scratch tensor
    that may be overwritten (with sin x), saving two allocations."""
    num = x * n
    if num.requires_grad:
        return torch.sin(num) / torch.sin(x)
    return num.sin_().div_(x.sin_() if consume else torch.sin(x))


def _product3(a, b, c):
    """(a·b)·c into a new tensor, in place after the first product where autograd allows."""
    ab = a * b
    return ab * c if ab.requires_grad or c.requires_grad else ab.mul_(c)


def sinc3(x):
    """Sphere transform: 1 at x == 0, else 3·(sin x/x − cos x)/(x·x) (§7)."""
    val = 3.0 * (torch.sin(x) / x - torch.cos(x)) / (x * x)
    return torch.where(x == 0.0, torch.ones_like(x), val)


def sincg_reduced(h, h0, n: float, dtype):
    """sincg(π·h, N) from the offset δ = h − h0 to the nearest integer (exact in float64), for runs in a
    lower precision: sin(Nπh)/sin(πh) = (−1)^(h0·(N−1))·sin(Nπδ)/sin(πδ). Forming (π·h)·N ≈ 10^3 in
    float32 would leave ~1e-4 of rounding in the phase; the reduced phase is below N·π/2."""
    x = math.pi * (h - h0).to(dtype)
    value = torch.where(x == 0.0, n, torch.sin(x * n) / torch.sin(x))
    if int(n) % 2:   # N odd: h0·(N−1) is even, the sign is +1
        return value
    odd = torch.remainder(h0, 2.0).to(dtype)     # h0 is integer-valued: 0 or 1
    return value * (1.0 - 2.0 * odd)


def lattice_factor(shape: str, hkl, hkl0, N, fudge, stars, dtype=None):
    """F_latt and the per-axis SQUARE factors (1 for an axis with N <= 1 or a non-SQUARE shape).

    hkl: (h, k, l) fractional; hkl0: nearest (as floats); N: (Na, Nb, Nc) floats;
    stars: (a*, b*, c*) 3-tuples in Å⁻¹ (unrotated, §3.6). `dtype`: the result's dtype; when it is
    lower than the indices' own (float32 runs), the phase is reduced first (see sincg_reduced).
    The C formulation, bit-exact in float64, is used whenever the dtypes agree."""
    h, k, l = hkl
    dtype = dtype or h.dtype
    reduce = dtype != h.dtype
    one = torch.ones((), dtype=dtype, device=h.device).expand(h.shape)   # a view: no pass
    if shape == "SQUARE":
        if reduce:
            fa, fb, fc = (sincg_reduced(x, x0, n, dtype) if n > 1 else one for x, x0, n in zip(hkl, hkl0, N))
            return (fa * fb) * fc, (fa, fb, fc)
        # (π·h) first, then ·N inside sincg (§7); an axis with N == 1 is skipped (factor exactly 1).
        # The exact-zero rows (x == 0) are rare: the ratios are formed without testing for them, and
        # only a non-finite product (0/0 = NaN) sends the factors through sincg's test.
        fa, fb, fc = (_sincg_ratio(math.pi * x, n, consume=True) if n > 1 else one for x, n in zip(hkl, N))
        fl = _product3(fa, fb, fc)
        if not bool(torch.isfinite(fl.sum())):
            fa, fb, fc = (sincg(math.pi * x, n) if n > 1 else one for x, n in zip(hkl, N))
            fl = _product3(fa, fb, fc)
        return fl, (fa, fb, fc)
    Na, Nb, Nc = N
    dh = (h - hkl0[0]).to(dtype)
    dk = (k - hkl0[1]).to(dtype)
    dl = (l - hkl0[2]).to(dtype)
    h = h.to(dtype)
    if shape == "ROUND":
        hrad_sqr = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc
        fl = Na * Nb * Nc * ROUND_NORM * sinc3(math.pi * csqrt(hrad_sqr * fudge))
        return fl, (one, one, one)
    a_s, b_s, c_s = stars
    dx = dh * a_s[0] + dk * b_s[0] + dl * c_s[0]
    dy = dh * a_s[1] + dk * b_s[1] + dl * c_s[1]
    dz = dh * a_s[2] + dk * b_s[2] + dl * c_s[2]
    rad_star_sqr = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc
    if shape == "GAUSS":
        fl = Na * Nb * Nc * torch.exp(-(rad_star_sqr / GAUSS_WIDTH * fudge))
    elif shape == "TOPHAT":
        fl = torch.where(rad_star_sqr * fudge < TOPHAT_RADIUS_SQR,
                         torch.full_like(h, 1.0) * (Na * Nb * Nc), torch.zeros_like(h))
    else:
        raise ValueError(f"unknown crystal shape {shape!r}")
    return fl, (one, one, one)


def polarization(K, incident, diffracted, axis):
    """Kahn polarization factor (§5.4) of unit-normalized incident/diffracted (already unitized by the
    caller, as the C routine does in place). K is a Python float."""
    c = dot(incident, diffracted)
    c2 = c * c
    s2 = 1.0 - c2
    if K != 0.0:
        B, _ = unit(cross(axis, incident))
        E, _ = unit(cross(incident, B))
        psi = -torch.atan2(dot(B, diffracted), dot(E, diffracted))
        return 0.5 * ((1.0 + c2) - K * torch.cos(2.0 * psi) * s2)
    return 0.5 * ((1.0 + c2) - K * 1.0 * s2)  # cos(2·0) = 1; the C still evaluates the expression


# ----------------------------------------------------------------- structure factors (§6.9)

class FGrid:
    """The HKL grid on device, flattened, with its ranges (nearest and tricubic lookups)."""

    def __init__(self, setup, dtype, device):
        self.hkls = int(setup.hkls)
        self.default_F = float(setup.default_F)
        self.mins = (int(setup.h_min), int(setup.k_min), int(setup.l_min))
        self.maxs = (int(setup.h_max), int(setup.k_max), int(setup.l_max))
        if setup.hkl_grid is not None and self.hkls:
            g = torch.as_tensor(setup.hkl_grid, dtype=torch.float64)
            self.shape = tuple(g.shape)
            self.flat = g.reshape(-1).to(dtype=dtype, device=device)
            # The lookable grid h_min..h_max (…) inside a one-cell border of default_F: clamping an index
            # into the bordered grid is the C's range test, with no per-axis masks.
            rh, rk, rl = (hi - lo + 1 for lo, hi in zip(self.mins, self.maxs))
            bordered = torch.full((rh + 2, rk + 2, rl + 2), self.default_F, dtype=torch.float64)
            bordered[1:-1, 1:-1, 1:-1] = g[:rh, :rk, :rl]
            self.bordered_shape = tuple(bordered.shape)
            self.bordered = bordered.reshape(-1).to(dtype=dtype, device=device)
            # flat index of the clamped (h, k, l) = ((h·nk + k)·nl + l) − offset
            _, nk, nl = self.bordered_shape
            self._offset = float(((self.mins[0] - 1) * nk + (self.mins[1] - 1)) * nl + (self.mins[2] - 1))
            self.finite = bool(torch.isfinite(self.bordered).all())
        else:
            self.shape = None
            self.flat = None
            self.hkls = 0
            self.finite = math.isfinite(self.default_F)

    def _gather(self, hi, ki, li):
        _, nk, nl = self.shape
        return self.flat[(hi * nk + ki) * nl + li]

    def nearest(self, h0, k0, l0, like):
        """grid[h0-h_min][k0-k_min][l0-l_min] when all three are within [min, max], else default_F.
        h0, k0, l0 are the rounded indices as floats (integer-valued; NaN and huge values, which the
        C's int conversion sends out of range, land on the default_F border)."""
        if not self.hkls:
            return torch.full_like(like, self.default_F)
        # clamp each index into the bordered range, then flatten in place; every intermediate is an
        # integer below 2^53, so the fused multiply-adds (alpha) are exact in float64
        hc, kc, lc = (torch.clamp(v, lo - 1, lo - 2 + n) for v, lo, n in zip((h0, k0, l0), self.mins, self.bordered_shape))
        _, nk, nl = self.bordered_shape
        flat = torch.add(lc, torch.add(kc, hc, alpha=nk), alpha=nl).sub_(self._offset)
        # clamp keeps NaN: a NaN index goes to cell 0, a corner of the default_F border
        idx = torch.nan_to_num_(flat, nan=0.0).to(torch.int64)
        return self.bordered.index_select(0, idx.reshape(-1)).reshape(idx.shape)   # 1-D select: fastest gather

    def out_of_range(self, h, k, l):
        """The C range test on fractional indices: (x − min + 3) > range or (x − 2) < min."""
        oor = torch.zeros_like(h, dtype=torch.bool)
        for v, lo, hi in zip((h, k, l), self.mins, self.maxs):
            rng = hi - lo + 1
            oor |= ((v - lo) + 3.0 > rng) | (v - 2.0 < lo)
        return oor

    def tricubic(self, h, k, l):
        """polin3 over the 4×4×4 neighbourhood (nodes floor(x)−1 … floor(x)+2): along l for the 16
        (h,k) rows, then along k, then along h; every evaluation must be in range (1-D inputs)."""
        nodes, idx = [], []
        off = torch.arange(-1, 3, device=h.device)
        for v, lo, hi in zip((h, k, l), self.mins, self.maxs):
            f = torch.floor(v).to(torch.int64)
            n = f[:, None] + off[None, :]                       # (E, 4) C ints
            nodes.append(n.to(h.dtype))
            idx.append((n - lo).clamp(0, hi - lo + 1))
        hi_, ki_, li_ = idx
        Y = self._gather(hi_[:, :, None, None], ki_[:, None, :, None], li_[:, None, None, :])  # (E,4,4,4)
        t = _polint(nodes[2][:, None, None, :], Y, l[:, None, None])      # (E,4,4) along l
        u = _polint(nodes[1][:, None, :], t, k[:, None])                   # (E,4) along k
        return _polint(nodes[0], u, h)                                     # (E,) along h


def _polint(xa, ya, x):
    """4-point Lagrange form, C polint: each term ((x−xa)(x−xb)(x−xc))·y / ((xm−xa)(xm−xb)(xm−xc)),
    summed ((T0+T1)+T2)+T3. xa/ya have the 4 nodes on the last dim; x broadcasts without it."""
    x0, x1, x2, x3 = (xa[..., i] for i in range(4))
    y0, y1, y2, y3 = (ya[..., i] for i in range(4))
    t0 = (x - x1) * (x - x2) * (x - x3) * y0 / ((x0 - x1) * (x0 - x2) * (x0 - x3))
    t1 = (x - x0) * (x - x2) * (x - x3) * y1 / ((x1 - x0) * (x1 - x2) * (x1 - x3))
    t2 = (x - x0) * (x - x1) * (x - x3) * y2 / ((x2 - x0) * (x2 - x1) * (x2 - x3))
    t3 = (x - x0) * (x - x1) * (x - x2) * y3 / ((x3 - x0) * (x3 - x1) * (x3 - x2))
    return t0 + t1 + t2 + t3
