"""Polarization as the pixel loop applies it (spec §5.4, §6.6): which sources call the routine, the
factor each iteration and the final value use, and C-POLAR-001's in-place unitizing of d and i."""

from __future__ import annotations

import torch

from .kernel_physics import polarization
from .kernel_vec import unit


def loop_end_vectors(c, d, pol_calls, p):
    """incident (last source) and diffracted (last sub-pixel of the last layer) as the C loop leaves
    them for pixel p: each polarization call unitizes both in place (§6.6), so a call in that
    sub-pixel leaves d as unit(d) and a call for the last source leaves its unit(i) (C-POLAR-001;
    spec mode leaves both as they were)."""
    S = c.inc[0].shape[0]
    inc = tuple(x[S - 1] for x in c.inc)
    dl = tuple(x[p, -1, -1] for x in d)
    if pol_calls is not None and c.quirks.polar_renormalizes:
        calls, i1, d1 = pol_calls
        if bool(calls[p, -1, -1, :].any()):
            dl = tuple(x[p, -1, -1, 0] for x in d1)            # d1: (P, T, J, 1)
        if bool(calls[p, -1, -1, S - 1]):
            inc = tuple(x[0, 0, 0, S - 1] for x in i1)         # i1: (1, 1, 1, S)
    return tuple(x.detach().cpu() for x in inc), tuple(x.detach().cpu() for x in dl)


def polarization_in_effect(c, surv, inc, dP):
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
    if c.quirks.polar_renormalizes:
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
