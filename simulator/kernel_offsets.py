"""Float32 renders: Miller indices as float32 offsets from a per-pixel float64 reference.

Why: in float32, h ≈ 50 carries ~4e-6 of rounding, ~1e-3 rad of sincg phase (N·π·δh at N ≈ 50), so
the general path (kernel_lattice) forms every h, k, l in float64 and leaves float64 only at h − h0:
most of a float32 render then still runs in float64. Here one float64 dot product per pixel remains:

    h(φ, m) = q·a(φ, m) = q·ā + q·Δa(φ, m),    ā = the mean of the lattice vectors a(φ, m).

The float64 h_ref = q·ā splits exactly into an integer n_ref and a fraction f ∈ [−½, ½]. Per iteration,
in float32: t = f + q·Δa, n = round(t), δ = t − n; then h0 = n_ref + n and h − h0 = δ. Δa is the
rotation of a over the φ range and the mosaic spread, so |q·Δa| is small and its float32 rounding
(a few 2⁻²⁴·|q||Δa|) stays near the general path's own (2⁻²⁵·|δ| from its cast of δ). A chunk where
|q||Δa| can exceed MAX_SHIFT (|q| <= 2/λ: d and i are unit vectors) takes the general path, as do
interpolation and chunks with non-finite h. C-PARITY-001's first run, one pixel whose iterations use
other lattice vectors, gets its offsets from float64 h, k, l.

F_latt comes out up to its sign for an even N (the sign (−1)^(h0·(N−1)) is skipped): the render only
uses its square and its zeros.

Trace (taps): a traced chunk takes this path like any other, so the trace shows what it computes, under
the general path's key names: hkl_rounded = n_ref + n, hkl_frac = (n_ref + n) + δ (float64 sums of the
float64 reference and the float32 offsets, not a float64 dot product q·a), F_latt_a/b/c = sin(Nπδ)/sin(πδ)
(N where δ == 0) and F_latt = the kernel's product, each with the sign (−1)^(h0·(N−1)) restored from
the traced h0 (exact: a sign flip)."""

from __future__ import annotations

import math

import torch

from .kernel_lattice import Iterations, evaluated_mask, first_run, first_run_hkl

MAX_SHIFT = 1.0          # largest |q|·|Δa| (in units of h) a chunk may have on this path
MAX_STEP = math.ceil(MAX_SHIFT + 0.5)   # so |n| <= MAX_STEP
PAD = 2 * MAX_STEP + 1   # default_F cells around the grid: a clamped reference plus a step stays in them
# Float32 tricks for two operations torch runs as scalar loops (measured 0.3 and 1.8 ns per element,
# against 0.07 for an add): round-to-nearest-even of |x| < 2^22 is (x + 1.5·2^23) − 1.5·2^23, and an
# integer 0 <= i < 2^23 stored as float32 i + 2^23 has the bits 0x4B000000 + i.
ROUND_MAGIC = 12582912.0
INT_MAGIC, INT_MAGIC_BITS = 8388608.0, 0x4B000000
MAX_TABLE = 2**23


class OffsetLattice:
    """What the offset path needs from a Prepared render, built once: ā and Δa per axis, and the HKL grid
    padded with default_F so that a clamped reference index plus a step n needs no clamp per iteration."""

    def __init__(self, c):
        dt, dev = c.dtype, c.device
        self.ref, self.delta, self.reach = [], [], []
        for vec in c.lattice:   # a, b, c: three (F, M) components each, float64
            ref = tuple(float(x.mean()) for x in vec)
            d = tuple(x - r for x, r in zip(vec, ref))
            self.ref.append(ref)
            self.delta.append(tuple(x.to(dt)[:, :, None, None, None, None] for x in d))
            self.reach.append(float(torch.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).max()))
        g = c.grid
        self.mins, self.maxs = g.mins, g.maxs
        if g.hkls:
            rh, rk, rl = (hi - lo + 1 for lo, hi in zip(g.mins, g.maxs))
            table = torch.full((rh + 2 * PAD, rk + 2 * PAD, rl + 2 * PAD), g.default_F, dtype=torch.float64)
            table[PAD:-PAD, PAD:-PAD, PAD:-PAD] = torch.as_tensor(c.setup.hkl_grid, dtype=torch.float64)[:rh, :rk, :rl]
            self.shape = tuple(table.shape)
            self.table = table.reshape(-1).to(dtype=dt, device=dev)
        else:
            self.shape, self.table = None, None
        self.default_F = g.default_F

    @staticmethod
    def build(c):
        """The OffsetLattice of a render, or None where the path does not apply: float32 SQUARE without
        interpolation, finite structure factors, grid indices exact in float32, and |q·Δa| <= MAX_SHIFT
        for every |q| <= 2/λ."""
        if c.dtype != torch.float32 or c.shape != "SQUARE" or c.interpolate or not c.grid.finite:
            return None
        if c.grid.hkls and math.prod(hi - lo + 1 + 2 * PAD for lo, hi in zip(c.grid.mins, c.grid.maxs)) > MAX_TABLE:
            return None
        o = OffsetLattice(c)
        qmax = 2.0 / float(c.lam.min())
        return o if all(math.isfinite(r) and qmax * r <= MAX_SHIFT for r in o.reach) else None


def offset_iterations(c, o: OffsetLattice, state, q, surv, taps=None) -> Iterations | None:
    """F_latt and F_cell of every iteration of a chunk (layout (F, M, P, T, J, S), float32) from the
    per-pixel q (float64 (P, T, J, S) components), or None if some h is not finite (the general path
    handles those). hkl, hkl0 and the per-axis factors are not formed, except the traced pixel's
    (module doc)."""
    P, T, J, S = q[0].shape
    eshape = (c.F, c.M, P, T, J, S)
    dt = c.dtype
    h_refs = [q[0] * ref[0] + q[1] * ref[1] + q[2] * ref[2] for ref in o.ref]   # float64, per pixel
    if not bool(torch.isfinite(h_refs[0] + h_refs[1] + h_refs[2]).all()):
        return None
    q32 = tuple(x.to(dt)[None, None] for x in q)
    steps, fracs, nrefs = [], [], []
    for h_ref, delta in zip(h_refs, o.delta):
        n_ref = torch.round(h_ref)
        t = torch.mul(q32[0], delta[0]).add_((h_ref - n_ref).to(dt)[None, None])   # (addcmul: 2.5× slower)
        t.addcmul_(q32[1], delta[1]).addcmul_(q32[2], delta[2])              # f + q·Δa
        n = torch.add(t, ROUND_MAGIC).sub_(ROUND_MAGIC)                      # round(t), |t| < 2^22
        steps.append(n)
        fracs.append(t.sub_(n))                                              # δ = h − h0
        nrefs.append(n_ref)
    first_idx = first_run(c, state, surv)
    for idx in first_idx or ():   # C-PARITY-001: a block's first pixel uses other vectors, in float64
        at = (slice(None), slice(None)) + idx
        for n, f, n_ref, h in zip(steps, fracs, nrefs, first_run_hkl(c, q, idx)):
            h0 = torch.round(h)
            n[at] = (h0 - n_ref[idx]).to(dt)
            f[at] = (h - h0).to(dt)
    if taps:   # before _lattice_factor and _structure_factor overwrite the offsets in place
        _tap_indices(taps, nrefs, steps, fracs)
    F_latt = _lattice_factor(fracs, c.N, taps)
    F_latt = torch.broadcast_to(F_latt, eshape)
    if taps:
        _tap_signs(taps, c.N, F_latt)
    F_cell = _structure_factor(o, nrefs, steps, eshape)

    return Iterations(hkl=None, hkl0=None, F_latt=F_latt, fabc=None, F_cell=F_cell,
                      first_idx=first_idx, evaluated=evaluated_mask(c, surv, F_latt))


def _lattice_factor(fracs, N, taps=None):
    """Π sin(N·π·δ)/sin(π·δ) over the axes with N > 1, N where δ == 0 (0/0 otherwise: tested only when
    the product is not finite). Overwrites each δ with sin(π·δ), which is 0 exactly where δ is.
    `taps`: records the traced pixel's per-axis factors (1 for N <= 1) as F_abc."""
    nums, dens = [], []
    for d, n in zip(fracs, N):
        if n > 1:
            nums.append(torch.mul(d, n * math.pi).sin_())
            dens.append(d.mul_(math.pi).sin_())
    if taps:
        axes = iter(zip(nums, dens))
        taps.put(F_abc=tuple(_axis_factor(taps, *next(axes), n) if n > 1
                             else torch.ones_like(taps.iteration(fracs[0])) for n in N))
    if not nums:
        return torch.ones_like(fracs[0])

    def product(ratios):   # a new tensor unless there is one factor: the ratios stay intact
        fl = ratios[0] if len(ratios) == 1 else ratios[0] * ratios[1]
        for r in ratios[2:]:
            fl.mul_(r)
        return fl

    ratios = [num.div_(den) for num, den in zip(nums, dens)]
    fl = product(ratios)
    if not bool(torch.isfinite(fl.sum())):   # 0/0 left NaN where den == 0
        fl = product([torch.where(den == 0.0, n, r) for r, den, n in zip(ratios, dens, [n for n in N if n > 1])])
    return fl


def _axis_factor(taps, num, den, n):
    """The traced pixel's sin(Nπδ)/sin(πδ) from the kernel's own sines, N where sin(πδ) == 0 (sincg).
    Runs before the kernel divides num in place."""
    num_t, den_t = taps.iteration(num), taps.iteration(den)
    return torch.where(den_t == 0.0, torch.full_like(num_t, n), num_t / den_t)


def _tap_indices(taps, nrefs, steps, fracs):
    """The traced pixel's h0 = n_ref + n and h = h0 + δ, in float64."""
    hkl0 = tuple(taps.pixel(r)[..., None, None] + taps.iteration(n).double() for r, n in zip(nrefs, steps))
    taps.put(hkl0=hkl0, hkl=tuple(h0 + taps.iteration(d).double() for h0, d in zip(hkl0, fracs)))


def _tap_signs(taps, N, F_latt):
    """Restore the sign (−1)^(h0·(N−1)) the path skips (even N) on the traced factors and F_latt."""
    signs = [1.0 - 2.0 * torch.remainder(h0, 2.0) if n > 1 and int(n) % 2 == 0 else None
             for h0, n in zip(taps.values["hkl0"], N)]
    fl = taps.iteration(F_latt)
    fabc = list(taps.values["F_abc"])
    for i, sg in enumerate(signs):
        if sg is not None:
            fabc[i] = fabc[i] * sg.to(fabc[i].dtype)
            fl = fl * sg.to(fl.dtype)
    taps.put(F_abc=tuple(fabc), F_latt=fl)


def _structure_factor(o: OffsetLattice, nrefs, steps, eshape):
    """F at h0 = n_ref + n on each axis: default_F outside [min, max]. The per-pixel reference is clamped
    to within MAX_STEP of the grid, so every reference plus step lands in the padded table, and the flat
    index is a per-pixel base plus n_h·(nk·nl) + n_k·nl + n_l (integers below 2^23: exact in float32)."""
    if o.table is None:
        return torch.full(eshape, o.default_F, dtype=steps[0].dtype, device=steps[0].device)
    _, nk, nl = o.shape
    base = None
    for n_ref, lo, hi, stride in zip(nrefs, o.mins, o.maxs, (nk * nl, nl, 1)):
        cell = (torch.clamp(n_ref, lo - 1 - MAX_STEP, hi + 1 + MAX_STEP) - (lo - PAD)) * stride
        base = cell if base is None else base + cell
    idx = steps[2].add_(steps[1], alpha=nl).add_(steps[0], alpha=nk * nl).add_(base.to(steps[0].dtype)[None, None])
    flat = idx.add_(INT_MAGIC).view(torch.int32).sub_(INT_MAGIC_BITS).reshape(-1)   # exact: idx < 2^23
    return o.table.index_select(0, flat).reshape(eshape)
