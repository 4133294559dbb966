"""One chunk of pixels through the pixel loop (spec §6): geometry, sources, the per-iteration lattice
(kernel_lattice or, in float32, kernel_offsets), accumulation in C order and the final value.

`taps` (simulator/taps.py, None when no pixel of the chunk is traced) records the traced pixel's
values where they are computed; a traced chunk takes exactly the path an untraced one takes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import kernel_geometry as geo
from .constants import R_E_SQR
from .kernel_accumulate import accumulate
from .kernel_lattice import lattice_iterations
from .kernel_offsets import offset_iterations
from .kernel_polar import loop_end_vectors, polarization_in_effect
from .kernel_vec import csqrt, rdiv


@dataclass
class BoxResult:
    """What one box of a sliced pixel (kernel_slices.py) leaves for the summation and the final value."""
    it: object
    cap_eff: torch.Tensor
    pol_eff: torch.Tensor
    omega_eff: torch.Tensor
    polar_final: torch.Tensor
    d: tuple
    pol_calls: object
    eshape: tuple


def render_chunk(c, state, pix, taps=None, carry=None):
    """Pixel values (requested dtype) of the flat pixel indices `pix`, and the chunk's Ω sum. With a
    `carry` (kernel_carry.py) `c` is one box of the iteration space and the scans continue from the
    carry: the BoxResult comes back in place of the values."""
    P = pix.numel()
    state.chunk_pix = pix   # which thread block each pixel belongs to (C-OMP-001)
    fp, sp = pix % c.fpixels, pix // c.fpixels
    d, omega_eff, cap_eff = _detector(c, fp, sp, taps, carry)
    omega_sum = omega_eff.sum()
    surv, inc, lam, dP, q0 = _sources(c, d)
    in_effect = carry.polarization if carry is not None else polarization_in_effect
    pol_eff, polar_final, d_used, pol_calls = in_effect(c, surv, inc, dP)
    if hasattr(taps, "injection"):   # the injection protocol (simulator/inject.py): the traced pixel only
        omega_eff, polar_final = taps.pixel_factors(c, omega_eff, polar_final)
    q = tuple(((d_used[k] - inc[k]) / lam) for k in range(3)) if d_used is not dP else q0
    q = tuple(torch.broadcast_to(x, surv.shape) for x in q)
    if taps:
        taps.put(inc=c.inc, lam=c.lam, q=taps.pixel(q), surv=taps.pixel(surv), phi=c.phi, lat=c.lattice)

    # h, k, l, F_latt, F_cell per iteration, in the (F, M, P, T, J, S) layout
    it = offset_iterations(c, c.offsets, state, q, surv, taps) if c.offsets is not None else None
    if it is None:
        it = lattice_iterations(c, state, q, surv, taps)
    if taps:
        mine = [idx[1:] for idx in it.first_idx or () if idx[0] == taps.p]
        taps.put(lat_first=c.lattice_first if mine else None, first_run=mine[0] if mine else None)

    dt = c.dtype
    cap_eff, pol_eff, omega_eff, polar_final = (x.to(dt) for x in (cap_eff, pol_eff, omega_eff, polar_final))
    if taps:   # P per (T, J, S) and which iterations call the routine (R2's SOURCE2 lines)
        taps.put(pol=taps.pixel(torch.broadcast_to(pol_eff, surv.shape)),
                 pol_calls=None if pol_calls is None else taps.pixel(torch.broadcast_to(pol_calls[0], surv.shape)))
    eshape = (c.F, c.M, P) + tuple(surv.shape[1:])
    if carry is not None:
        if taps:
            taps.put(omega_eff=taps.pixel(omega_eff))
        return BoxResult(it, cap_eff, pol_eff, omega_eff, polar_final, d, pol_calls, eshape), omega_sum
    I, spec_capture = accumulate(c, it, cap_eff, pol_eff, omega_eff, eshape, taps)
    val = _final_value(c, I, cap_eff, polar_final, omega_eff, spec_capture)
    if taps:
        # block C prints the loop's variables as it leaves them (trace-format.md), used or not
        taps.put(I=taps.pixel(I), omega_eff=taps.pixel(omega_eff), capture=taps.pixel(cap_eff[:, -1, -1]),
                 polar=taps.pixel(polar_final), omega=taps.pixel(omega_eff[:, -1, -1]),
                 loop_end=loop_end_vectors(c, d, pol_calls, taps.p), val=taps.pixel(val))
    return val, omega_sum


def _detector(c, fp, sp, taps, carry=None):
    """Positions, diffracted directions, Ω and capture fraction per (P, T, J) (§6.3, §6.4)."""
    X, _, _ = geo.subpixel_positions(c, fp, sp)
    d, R = geo.diffracted(X, c.exact)
    P, T, J = fp.numel(), c.T, c.J
    omega_all = torch.broadcast_to(geo.solid_angle(c, R), (P, T, J))
    # Ω: computed at the first sub-pixel of the pixel, recomputed while it is 0 (or every sub-pixel)
    if c.os_omega:
        omega_eff = omega_all
    elif carry is not None:
        omega_eff = carry.hold_omega(omega_all)
    else:
        omega_eff = geo.hold_first_nonzero(omega_all.reshape(P, T * J), 1).reshape(P, T, J)
    # capture fraction per layer: reset to 1 (thickness 0) or 0 per layer, computed at the first
    # sub-pixel and recomputed while 0, or at every sub-pixel with -oversample_thick (§6.4)
    if c.os_thick:
        cap_eff = torch.broadcast_to(geo.capture_fraction(c, d), (P, T, J))
    elif c.detector_thick == 0.0:
        cap_eff = torch.ones((P, T, J), dtype=c.gdt, device=c.device)
    else:
        cap = torch.broadcast_to(geo.capture_fraction(c, d), (P, T, J)).contiguous()
        cap_eff = carry.hold_capture(cap) if carry is not None else geo.hold_first_nonzero(cap, 2)
    if taps:
        taps.put(X=taps.pixel(X), R=taps.pixel(R), omega_all=taps.pixel(omega_all), d=taps.pixel(d))
    return d, omega_eff, cap_eff


def _sources(c, d):
    """Per (P, T, J, S): the dmin survivors, incident directions, λ, d and q = (d − i)/λ (§6.5)."""
    inc = tuple(x[None, None, None, :] for x in c.inc)                         # (1,1,1,S)
    lam = c.lam[None, None, None, :]
    dP = tuple(x[..., None] for x in d)                                          # (P,T,J,1)
    q0 = tuple((dP[k] - inc[k]) / lam for k in range(3))
    if c.dmin > 0.0:   # stol is only needed for the dmin cut
        stol = 0.5 * csqrt(q0[0] * q0[0] + q0[1] * q0[1] + q0[2] * q0[2], c.exact)
        surv = ~((stol > 0.0) & (c.dmin > rdiv(0.5, stol)))
    else:
        surv = torch.ones(q0[0].shape, dtype=torch.bool, device=c.device)
    P, T, J = d[0].shape
    return torch.broadcast_to(surv, (P, T, J, c.S)), inc, lam, dP, q0


def _final_value(c, I, cap_eff, polar_final, omega_eff, spec_capture):
    """r_e²·fluence·I/steps, water background, then C·P·Ω as the loop leaves them (§6.11, §6.12)."""
    water_c = c.water and c.quirks.water_scaled_twice
    val = R_E_SQR * c.fluence * I / c.steps
    if c.water and not water_c:
        val = val + c.I_bg
    if not c.os_thick and not spec_capture:
        val = val * cap_eff[:, -1, -1]
    if not c.os_polar:
        val = val * polar_final
    if not c.os_omega:
        val = val * omega_eff[:, -1, -1]
    return val
