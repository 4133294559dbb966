"""Setup constants converted once to the render's device and dtype, and the lattice vectors of every
(φ step, mosaic domain), with C-PARITY-001's first-run variant (spec §8.2–§8.4)."""

from __future__ import annotations

import math

import torch

from .constants import AVOGADRO, R_E_SQR, WATER_DENSITY, WATER_F, WATER_MW
from .kernel_offsets import OffsetLattice
from .kernel_physics import FGrid
from .kernel_vec import as_scalar, as_vec, rotate_axis, rotate_umat, unit
from .quirks import as_quirks


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
        self.quirks = as_quirks(quirks)
        gdt = self.gdt
        t = lambda x: as_scalar(x, gdt, device) if isinstance(x, torch.Tensor) else float(x)  # noqa: E731
        v = lambda x: tuple(t(c) for c in x)  # noqa: E731
        self.fpixels, self.spixels = int(setup.fpixels), int(setup.spixels)
        self.os = int(setup.oversample)
        self.T = int(setup.thicksteps)
        # the layers and sub-pixels this Prepared renders start at t0, j0 (kernel_slices.py narrows them)
        self.t0, self.j0, self.J = 0, 0, self.os * self.os
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
        self.I_bg = WATER_F * WATER_F * R_E_SQR * _num(setup.fluence) * w * w * w * WATER_DENSITY * AVOGADRO / WATER_MW
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
        if self.quirks.phi_carryover:
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
        # a first run with the very vectors of every run is no first run: float32 renders would
        # otherwise give its pixel float64 offsets (kernel_offsets) that spec mode does not
        differs = len(lat) > 1 and not all(torch.equal(x, y) for v, w in zip(lat[0], lat[1]) for x, y in zip(v, w))
        self.lattice_first = lat[1] if differs else None
