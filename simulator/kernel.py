"""Vectorized render of the nanoBragg pixel loop (spec §6) from a Setup.

Every rendered pixel carries the C iteration space as tensor dimensions, laid out in C loop order
    (P pixels, T layers, J = os·os sub-pixels [subS major], S sources, F φ steps, M mosaic domains)
so that flattening the last five gives K = T·J·S·F·M iterations in exactly the order the C visits
them. Pixels are processed in row-major chunks sized from a memory budget; the two pieces of state
the C carries from one pixel to the next (the φ carry-over of C-PARITY-001 and the interpolation
kill-switch of C-INTERP-001) live in `RenderState` and cross chunk boundaries in C order.

Summation order (measured, see tests/simulator/test_kernel_sum.py): the C adds the K terms one by
one, ((I_bg + t0) + t1) + …. `torch.sum` uses a pairwise/vectorized reduction whose rounding differs
at ~1e-16 relative. We take the last element of `torch.cumsum` instead: on CPU it is a strictly
sequential scan (double accumulator), so float64 sums are bit-identical to the C loop; on CUDA the
scan is parallel and may differ in the last bit, which is within the trace tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from . import kernel_geometry as geo
from .cpu_memory import give_back, reuse_freed_memory
from .kernel_lattice import c_order, lattice_iterations
from .kernel_offsets import OffsetLattice, offset_iterations
from .kernel_physics import FGrid, polarization
from .kernel_vec import as_scalar, as_vec, csqrt, rdiv, rotate_axis, rotate_umat, unit

R_E_SQR = 7.94079248018965e-30
AVOGADRO = 6.02214179e23
WATER_F = 2.57
WATER_MW = 18.0
DEFAULT_BUDGET = 256 * 2**20   # bytes of work tensors per chunk (CPU: keeps the peak RSS well under 1 GiB)
CUDA_BUDGET_MAX = 8 * 2**30    # on CUDA: a quarter of the free device memory, at most this
BYTES_PER_ITER = 48            # live doubles per (pixel, iteration) element, measured roughly
BYTES_PER_INTERP = 120         # extra doubles per element when tricubic interpolation is on


def _num(x):
    """Setup scalar as a Python float, unless it is a tensor (differentiation through overrides)."""
    return x if isinstance(x, torch.Tensor) else float(x)


class Prepared:
    """Setup constants converted once to the requested device/dtype."""

    def __init__(self, setup, dtype, device, quirks):
        self.setup, self.dtype, self.device = setup, dtype, device
        # Geometry up to the Miller indices always runs in float64: in float32, h ≈ 30 carries ~2e-6 of
        # rounding, i.e. ~1e-4 of phase in sincg (N·π·δh), far above the float32 target of 1e-5. The
        # lattice factors, structure factors and the accumulation then run in the requested dtype
        # (float32 renders mostly take kernel_offsets: one float64 h per pixel, float32 offsets).
        self.gdt = torch.float64
        # float64 renders reproduce the C bit for bit, which needs correctly rounded square roots
        # (kernel_vec.csqrt); a float32 result cannot see the ulp of float64 they correct
        self.exact = dtype == torch.float64
        self.quirks = frozenset(quirks)
        gdt = self.gdt
        t = lambda x: as_scalar(x, gdt, device) if isinstance(x, torch.Tensor) else float(x)  # noqa: E731
        v = lambda x: tuple(t(c) for c in x)  # noqa: E731
        self.fpixels, self.spixels = int(setup.fpixels), int(setup.spixels)
        self.os = int(setup.oversample)
        self.T = int(setup.thicksteps)
        self.pixel = t(setup.pixel)
        self.sub = self.pixel / self.os
        self.half_sub = self.sub / 2.0
        self.thickstep, self.mu = t(setup.thickstep), t(setup.mu)
        self.detector_thick = float(setup.detector_thick)
        self.f, self.s, self.o = v(setup.fdet), v(setup.sdet), v(setup.odet)
        self.pix0, self.beam = v(setup.pix0), v(setup.beam)
        self.distance, self.close_distance = t(setup.distance), t(setup.close_distance)
        self.curved_det, self.point_pixel = bool(setup.curved_det), bool(setup.point_pixel)
        self.os_thick = bool(setup.oversample_thick)
        self.os_polar = bool(setup.oversample_polar)
        self.os_omega = bool(setup.oversample_omega)
        # sources: incident i = −ŝ, λ per source (§5.3)
        dirs = [as_vec(d, gdt, device) for d in setup.source_dirs]
        self.S = len(dirs)
        self.inc = tuple(-torch.stack([d[k] for d in dirs]) for k in range(3))            # (S,)
        self.lam = torch.stack([as_scalar(x, gdt, device) for x in setup.source_lambdas])  # (S,)
        self.nopolar = bool(setup.nopolar)
        self.polar_K = float(setup.polar_K)
        p = as_vec(setup.polar_vector, gdt, device)
        self.polar_axis, _ = unit(p)   # the C routine unitizes p in place on its first call
        self.dmin = float(setup.dmin)
        self.water_size = _num(setup.water_size)
        self.water = float(setup.water_size) != 0.0
        w = self.water_size
        self.I_bg = WATER_F * WATER_F * R_E_SQR * _num(setup.fluence) * w * w * w * 1e6 * AVOGADRO / WATER_MW
        self.fluence = as_scalar(setup.fluence, dtype, device) if isinstance(setup.fluence, torch.Tensor) \
            else float(setup.fluence)
        self.steps = int(setup.steps)
        self.N = (float(setup.Na), float(setup.Nb), float(setup.Nc))
        self.shape = str(setup.xtal_shape).upper()
        self.fudge = float(setup.fudge)
        self.stars = (v(setup.a_star), v(setup.b_star), v(setup.c_star))
        self.grid = FGrid(setup, dtype, device)
        self.interpolate = bool(setup.interpolate) and self.grid.hkls > 0
        self._lattices()
        self.offsets = OffsetLattice.build(self)

    def _phi_sincos(self, phi):
        """sin/cos of the φ steps from glibc (math), as the C gets them: torch's vectorized sin can
        differ by an ulp, which the lattice vectors would carry into h. Tensors that carry gradients
        (overrides) use torch."""
        s = self.setup
        if isinstance(s.phi0, torch.Tensor) or isinstance(s.phistep, torch.Tensor):
            return None
        steps = [float(s.phi0) + float(s.phistep) * n for n in range(int(s.phisteps))]   # φ0 + (S·n)
        as_t = lambda xs: torch.tensor(xs, dtype=self.gdt, device=self.device)  # noqa: E731
        return as_t([math.sin(x) for x in steps]), as_t([math.cos(x) for x in steps])

    def _lattices(self):
        """Lattice vectors per (variant, φ step, domain): variant 0 = what every φ run uses, variant
        1 = the very first φ run of the render (C-PARITY-001, §8.3)."""
        s, dt, dev = self.setup, self.gdt, self.device
        F = int(s.phisteps)
        self.F = F
        tic = torch.arange(F, device=dev)
        phi = as_scalar(s.phi0, dt, dev) + as_scalar(s.phistep, dt, dev) * tic.to(dt)   # φ0 + (S·n)
        self.phi = phi
        u = as_vec(s.spindle, dt, dev)
        base = [as_vec(x, dt, dev) for x in (s.a0, s.b0, s.c0)]
        rot = [rotate_axis(tuple(c.expand(F) for c in b), u, phi, self._phi_sincos(phi)) for b in base]
        if "C-PARITY-001" in self.quirks:
            # a step at φ == 0.0 keeps the vectors of the previous iteration: the latest φ != 0
            # step at or before it, else (later runs) the previous run's last rotated step.
            nz = phi != 0.0
            src = torch.where(nz, tic, torch.full_like(tic, -1))
            latest = torch.cummax(src, 0).values
            last_nz = int(src.max().item()) if F else -1
            later = torch.where(latest >= 0, latest, torch.full_like(latest, last_nz))
            variants = (later, latest)
        else:
            variants = (tic,)
        umats = torch.tensor([list(map(float, m)) for m in s.mosaic_umats], dtype=torch.float64)
        self.M = umats.shape[0]
        use_umat = float(s.mosaic_spread) > 0.0
        U = tuple(umats[:, i].to(dt).to(dev) for i in range(9))                           # (M,)
        lat = []
        for sel in variants:
            vecs = []
            for b, r in zip(base, rot):
                keep = sel >= 0
                g = sel.clamp(min=0)
                ap = tuple(torch.where(keep, rc[g], bc.expand(F)) for rc, bc in zip(r, b))  # (F,)
                if use_umat:
                    ap = rotate_umat(tuple(c[:, None] for c in ap), tuple(x[None, :] for x in U))
                else:
                    ap = tuple(c[:, None].expand(F, self.M) for c in ap)
                vecs.append(ap)                                                            # (F, M)
            lat.append(vecs)
        self.lattice = lat[0]
        self.lattice_first = lat[1] if len(lat) > 1 else None


@dataclass
class RenderState:
    """What the C carries across pixels, in C loop order."""
    first_run_pending: bool = True   # no φ loop has run yet (C-PARITY-001)
    interp_on: bool = True           # the global interpolate flag (C-INTERP-001)
    omega_sum: float = 0.0
    messages: list = field(default_factory=list)


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
    per = BYTES_PER_ITER + (BYTES_PER_INTERP if c.interpolate else 0)
    per = per * (8 if c.dtype == torch.float64 else 4)
    return max(1, int(budget // (K * per)))


def render(setup, *, device="cpu", dtype=torch.float64, quirks=frozenset(), chunk_pixels=None,
           trace_pixel=None, progress=None) -> RenderResult:
    device = torch.device(device)
    if device.type == "cpu":
        reuse_freed_memory()
    c = Prepared(setup, dtype, device, quirks)
    idx, in_roi, rendered = rendered_pixels(setup, device)
    n_pix = c.fpixels * c.spixels
    img = torch.zeros(n_pix, dtype=dtype, device=device)
    state = RenderState(interp_on=c.interpolate)
    trace_flat = None
    if trace_pixel is not None:
        ts, tf = (int(x) for x in trace_pixel)
        if 0 <= ts < c.spixels and 0 <= tf < c.fpixels and bool(rendered[ts, tf]):
            trace_flat = ts * c.fpixels + tf
    chunk = int(chunk_pixels) if chunk_pixels else choose_chunk(c, chunk_budget(device))
    total = idx.numel()
    trace = None
    omega_sum = None
    for start in range(0, total, chunk):   # chunks of pixels (bounded memory), not single pixels
        pix = idx[start:start + chunk]
        local = None
        if trace_flat is not None:
            hit = torch.nonzero(pix == trace_flat).reshape(-1)
            if hit.numel():
                local = int(hit[0])
        vals, keep, osum = _render_chunk(c, state, pix, local)
        img[pix] = vals
        omega_sum = osum if omega_sum is None else omega_sum + osum
        if keep is not None:
            trace = keep
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


def _render_chunk(c: Prepared, state: RenderState, pix, local):
    dt, gdt = c.dtype, c.gdt
    q_ = c.quirks
    P = pix.numel()
    T, J, S, F, M = c.T, c.os * c.os, c.S, c.F, c.M
    fp, sp = pix % c.fpixels, pix // c.fpixels
    keep = {} if local is not None else None

    # ---- geometry per (P, T, J) (§6.3, §6.4)
    X, fdet, sdet = geo.subpixel_positions(c, fp, sp)
    d, R = geo.diffracted(X, c.exact)
    omega_all = geo.solid_angle(c, R)
    omega_all = torch.broadcast_to(omega_all, (P, T, J))
    # Ω: computed at the first sub-pixel of the pixel, recomputed while it is 0 (or every sub-pixel)
    omega_eff = omega_all.reshape(P, T * J)
    if not c.os_omega:
        omega_eff = geo.hold_first_nonzero(omega_eff, 1)
    omega_eff = omega_eff.reshape(P, T, J)
    omega_sum = omega_eff.sum()
    # capture fraction C per layer: reset to 1 (thickness 0) or 0 per layer, computed at the first
    # sub-pixel and recomputed while 0, or at every sub-pixel with -oversample_thick (§6.4)
    if c.os_thick:
        cap_eff = torch.broadcast_to(geo.capture_fraction(c, d), (P, T, J))
    elif c.detector_thick == 0.0:
        cap_eff = torch.ones((P, T, J), dtype=gdt, device=c.device)
    else:
        cap_eff = geo.hold_first_nonzero(torch.broadcast_to(geo.capture_fraction(c, d), (P, T, J)).contiguous(), 2)

    # ---- sources (§6.5): q = (d − i)/λ, dmin cut
    inc = tuple(x[None, None, None, :] for x in c.inc)                         # (1,1,1,S)
    lam = c.lam[None, None, None, :]
    dP = tuple(x[..., None] for x in d)                                          # (P,T,J,1)
    q0 = tuple((dP[k] - inc[k]) / lam for k in range(3))
    if c.dmin > 0.0:   # stol is only needed for the dmin cut
        stol = 0.5 * csqrt(q0[0] * q0[0] + q0[1] * q0[1] + q0[2] * q0[2], c.exact)
        surv = ~((stol > 0.0) & (c.dmin > rdiv(0.5, stol)))
    else:
        surv = torch.ones(q0[0].shape, dtype=torch.bool, device=c.device)
    surv = torch.broadcast_to(surv, (P, T, J, S))

    # ---- polarization (§5.4, §6.6)
    pol_eff, polar_final, d_used, pol_calls = _polarization_in_effect(c, surv, inc, dP)
    q = tuple(((d_used[k] - inc[k]) / lam) for k in range(3)) if d_used is not dP else q0
    q = tuple(torch.broadcast_to(x, (P, T, J, S)) for x in q)

    # ---- h, k, l, F_latt, F_cell per iteration, in the (F, M, P, T, J, S) layout (kernel_lattice)
    eshape = (F, M, P, T, J, S)
    it = offset_iterations(c, c.offsets, state, q, surv) if c.offsets is not None and keep is None else None
    if it is None:
        it = lattice_iterations(c, state, q, surv)
    hkl, hkl0, F_latt, F_cell, first_idx = it.hkl, it.hkl0, it.F_latt, it.F_cell, it.first_idx
    evaluated = it.evaluated

    # ---- accumulation (§6.10) in C order over K = T·J·S·F·M, in the requested dtype
    F_cell = F_cell.to(dt)
    cap_eff, pol_eff, omega_eff, polar_final = (x.to(dt) for x in (cap_eff, pol_eff, omega_eff, polar_final))
    term = F_cell * F_cell
    if term.requires_grad or F_latt.requires_grad:
        term = term * F_latt * F_latt
    else:   # the same ((F·F)·FL)·FL, in place (half the memory traffic)
        term.mul_(F_latt).mul_(F_latt)
    if c.dmin > 0.0 or not c.grid.finite:
        # skipped iterations add nothing; otherwise F_latt == 0 already makes the term 0 (F finite)
        term = torch.where(evaluated(), term, 0.0)
    water_c = c.water and "C-WATER-001" in q_
    I0 = c.I_bg if water_c else 0.0
    per_layer = lambda x: x[None, None, :, :, :, None]   # (P, T, J) → the iteration layout  # noqa: E731
    factors = []
    if c.os_thick:
        factors.append(per_layer(cap_eff))
    if c.os_polar:
        factors.append(pol_eff[None, None])
    if c.os_omega:
        factors.append(per_layer(omega_eff))
    spec_capture = (not c.os_thick and c.detector_thick != 0.0 and "C-CAPTURE-001" not in q_)
    if spec_capture:
        term = term * per_layer(cap_eff)   # each layer weighted by its own C
    Kn = T * J * S * F * M
    if factors and "C-OVERSAMPLE-001" in q_:
        # I = (I + t_k)·C·P·Ω after every evaluated iteration: closed form with suffix products
        g = torch.ones(eshape, dtype=dt, device=c.device)
        for fct in factors:   # at most three factor kinds, not an iteration dimension
            g = g * fct
        g = c_order(torch.where(evaluated(), g, torch.ones_like(g))).reshape(P, Kn)
        G = torch.flip(torch.cumprod(torch.flip(g, [1]), 1), [1])
        terms = c_order(term).reshape(P, Kn) * G
        I0v = torch.full((P, 1), 1.0, dtype=dt, device=c.device) * I0 * G[:, :1]
        I = torch.cumsum(torch.cat([I0v, terms], 1), 1)[:, -1]
    else:
        for fct in factors:
            term = torch.where(evaluated(), term * fct, term)
        I = _sum_in_c_order(term, I0) if c.exact else _sum_any_order(term, I0)

    # ---- final value (§6.11)
    cap_final = cap_eff[:, -1, -1]
    omega_final = omega_eff[:, -1, -1]
    val = R_E_SQR * c.fluence * I / c.steps
    if c.water and not water_c:
        val = val + c.I_bg
    if not c.os_thick and not spec_capture:
        val = val * cap_final
    if not c.os_polar:
        val = val * polar_final
    if not c.os_omega:
        val = val * omega_final

    if keep is not None:
        p = local
        g1 = lambda x: x[p].detach().cpu()  # noqa: E731
        ge = lambda x: g1(c_order(x))  # noqa: E731   (T, J, S, F, M) of an iteration tensor
        mine = first_idx is not None and first_idx[0] == p
        keep.update(
            X=tuple(g1(x) for x in X), R=g1(R), omega_all=g1(omega_all), d=tuple(g1(x) for x in d),
            inc=tuple(x.detach().cpu() for x in c.inc), lam=c.lam.detach().cpu(),
            q=tuple(g1(x) for x in q), surv=g1(surv),
            lat=[tuple(x.detach().cpu() for x in v) for v in c.lattice],
            lat_first=[tuple(x.detach().cpu() for x in v) for v in c.lattice_first] if mine else None,
            first_run=first_idx[1:] if mine else None,
            hkl=tuple(ge(x) for x in hkl), hkl0=tuple(ge(x) for x in hkl0),
            F_abc=_axis_factors(c, hkl, it.fabc, eshape, ge),
            F_latt=ge(F_latt), F_cell=ge(F_cell), evaluated=ge(evaluated()), I=g1(I),
            omega_eff=g1(omega_eff),
            # block C prints the loop's variables as it leaves them (trace-format.md), used or not
            capture=g1(cap_eff[:, -1, -1]), polar=g1(polar_final), omega=g1(omega_eff[:, -1, -1]),
            loop_end=_loop_end_vectors(c, d, pol_calls, p), val=g1(val),
            phi=c.phi.detach().cpu(),
        )
    return val, keep, omega_sum


def _loop_end_vectors(c: Prepared, d, pol_calls, p):
    """incident (last source) and diffracted (last sub-pixel of the last layer) as the C loop leaves
    them for pixel p: each polarization call unitizes both in place (§6.6), so a call in that
    sub-pixel leaves d as unit(d) and a call for the last source leaves its unit(i) (C-POLAR-001;
    spec mode leaves both as they were)."""
    S = c.inc[0].shape[0]
    inc = tuple(x[S - 1] for x in c.inc)
    dl = tuple(x[p, -1, -1] for x in d)
    if pol_calls is not None and "C-POLAR-001" in c.quirks:
        calls, i1, d1 = pol_calls
        if bool(calls[p, -1, -1, :].any()):
            dl = tuple(x[p, -1, -1, 0] for x in d1)            # d1: (P, T, J, 1)
        if bool(calls[p, -1, -1, S - 1]):
            inc = tuple(x[0, 0, 0, S - 1] for x in i1)         # i1: (1, 1, 1, S)
    return tuple(x.detach().cpu() for x in inc), tuple(x.detach().cpu() for x in dl)


def _polarization_in_effect(c: Prepared, surv, inc, dP):
    """P per (P, T, J, S) as the loop uses it, P in the final value (per call with -oversample_polar,
    else the last call of the pixel; 0 if never called), d as the sources see it (C-POLAR-001:
    each call unitizes d in place, so later sources of a sub-pixel use unit(d)), and the calls with
    the unitized i and d they leave behind (None with -nopolar: no call is made)."""
    P, T, J, S = surv.shape
    gdt = c.gdt
    if c.nopolar:
        return (torch.ones((P, T, J, S), dtype=gdt, device=c.device), torch.ones(P, dtype=gdt, device=c.device), dP,
                None)
    i1, _ = unit(tuple(torch.broadcast_to(x, (1, 1, 1, S)) for x in inc))
    # the C unitizes the (already unit) d again; only bit-exact renders need that rounding
    d1 = unit(dP)[0] if c.exact else dP
    pol = torch.broadcast_to(polarization(c.polar_K, i1, d1, c.polar_axis), (P, T, J, S))
    zero = torch.zeros((), dtype=gdt, device=c.device)
    if T * J * S == 1:   # at most one call per pixel, no later source: P of that call, if any
        return pol, torch.where(surv.reshape(P), pol.reshape(P), zero), dP, (surv, i1, d1)
    flat_surv = surv.reshape(P, -1)
    if c.os_polar:
        calls = surv
    else:
        stop = (flat_surv & (pol.reshape(P, -1) != 0.0)).to(torch.int64)
        before = torch.cumsum(stop, 1) - stop                                 # stops strictly before
        calls = (flat_surv & (before == 0)).reshape(P, T, J, S)
    d_used = dP
    if "C-POLAR-001" in c.quirks:
        ci = calls.to(torch.int64)
        prior = (torch.cumsum(ci, 3) - ci) > 0                                 # (P,T,J,S)
        if bool(prior.any()):
            d2, _ = unit(d1, c.exact)
            d_used = tuple(torch.where(prior, d1[k], dP[k]) for k in range(3))
            pol = torch.where(prior, polarization(c.polar_K, i1, d2, c.polar_axis), pol)
    called = calls.reshape(P, -1)
    n_calls = called.sum(1)
    last = torch.where(called, torch.arange(called.shape[1], device=c.device), -1).max(1).values
    pol_flat = pol.reshape(P, -1)
    polar_final = torch.where(n_calls > 0, torch.gather(pol_flat, 1, last.clamp(min=0)[:, None])[:, 0], zero)
    return pol, polar_final, d_used, (calls, i1, d1)


def _axis_factors(c, hkl, fabc, eshape, ge):
    """Per-axis sincg factors for the trace: the SQUARE ones the kernel used, or (other shapes,
    where the C still evaluates them) sincg of the kernel's own h, k, l."""
    if c.shape != "SQUARE":
        from .kernel_physics import sincg
        fabc = tuple(sincg(math.pi * x, n) if n > 1 else torch.ones_like(x) for x, n in zip(hkl, c.N))
    return tuple(ge(torch.broadcast_to(x, eshape)) for x in fabc)


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
