"""The scan part of the setup: the step tables of spec §5.2 (divergence, dispersion, detector layers),
the φ sampling (§8.1), the mosaic domains (§8.4) and the total step count (§6.1).

`resolve_*` are the pure step rules; `phi`, `mosaic`, `mosaic_domains` are steps of spec §1.14 acting
on the setup draft `st` (setup.py); `fields(st)` gives the Setup fields this part owns."""

from __future__ import annotations

from .constants import MAX_MOSAIC_DOMAINS, RTD
from .geometry import ceil, div, is_tensor, value
from .model import InputError
from .rng import random_rotation


def resolve_steps(N, R, S, kind: str):
    """Count/range/step table of §5.2 for kind 'div', 'disp' or 'thick', then the sanity reset."""
    if N <= 0:
        if R < 0:
            if S <= 0:
                N, R, S = 1, 0.0, 0.0
            else:
                R, N = S, 2
        else:
            if S <= 0:
                if kind == "thick":
                    N, S = 2, R / 2.0
                else:
                    S, N = R, 2
            else:
                N = ceil(div(R, S))
    else:
        if R < 0:
            if S <= 0:
                R = {"div": 1.0, "disp": 1.0, "thick": 0.5e-6}[kind]
                S = R / N
            else:
                R, N = S, 2
        else:
            if S <= 0:
                N = max(N, 2)
                S = R / (N - 1)
    if R <= 0 or S <= 0 or N <= 0:
        N, R, S = 1, _zero_like(R), _zero_like(S)
    return int(N), R, S


def _zero_like(x):
    """The C's `x = 0.0`: +0.0 (0.0·x would give −0.0 for the −1 'unset' sentinels, and NaN for inf);
    a tensor stays a tensor so an override keeps its graph."""
    return x * 0.0 if is_tensor(x) else 0.0


def resolve_phi(phisteps, osc, phistep):
    """§8.1 φ sampling; no later reset."""
    if phisteps < 0:
        if osc < 0:
            if phistep <= 0:
                phisteps, osc, phistep = 1, _zero_like(osc), _zero_like(phistep)
            else:
                osc, phisteps = phistep, 2
        else:
            if phistep <= 0:
                phisteps, phistep = 2, osc / 2.0
            else:
                phisteps = ceil(div(osc, phistep))
    else:
        if phisteps == 0:
            phisteps = 1
        if osc < 0:
            if phistep <= 0:
                osc = 1.0 / RTD
                phistep = osc / phisteps
            else:
                osc, phisteps = phistep, 2
        else:
            if phistep < 0:
                phistep = osc / phisteps
    return int(phisteps), osc, phistep


def resolve_mosaic(domains, spread, log):
    if domains < 0:
        if spread < 0:
            return 1, _zero_like(spread)
        if spread == 0:
            return 1, spread
        log("WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains")
        return 10, spread
    if spread < 0:
        log("WARNING: no mosaic spread specified.  setting mosaic_domains = 1")
        return 1, _zero_like(spread)
    if spread == 0:
        log("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1")
        return 1, spread
    return domains, spread



def phi(st) -> None:
    """Step 9, rotation (§8.1)."""
    o = st.o
    st.phisteps, st.osc, st.phistep = resolve_phi(o.phisteps, o.osc, o.phistep)


def mosaic(st) -> None:
    """Step 9, mosaicity (§8.4): domain count and spread, with the C's warnings."""
    st.mosaic_domains, st.mosaic_spread = resolve_mosaic(st.o.mosaic_domains, st.o.mosaic_spread, st.say)
    if st.mosaic_domains > MAX_MOSAIC_DOMAINS:  # the C's calloc fails long before; we refuse up front
        raise InputError(f"too many mosaic domains ({st.mosaic_domains}; at most {MAX_MOSAIC_DOMAINS})")


def mosaic_domains(st) -> None:
    """Step 17 (§8.4): one random rotation per domain from the shared generator; domain 0 becomes
    the identity after its draws."""
    umats = [random_rotation(value(st.mosaic_spread), st.rng, "mosaic", float32_angle=st.frandrot)
             for _ in range(st.mosaic_domains)]
    if umats:
        umats[0] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    st.mosaic_umats = umats
    st.say(f"  created a total of {st.mosaic_domains} mosaic domains")


def fields(st) -> dict:
    """The Setup fields of the scan part; steps (§6.1) counts sources, domains, φ steps and sub-pixels,
    not detector layers."""
    steps = len(st.source_dirs) * st.mosaic_domains * st.phisteps * st.oversample * st.oversample
    return dict(spindle=st.spindle, phi0=st.o.phi0, phistep=st.phistep, phisteps=st.phisteps, osc=st.osc,
                mosaic_spread=st.mosaic_spread, mosaic_umats=st.mosaic_umats, mosaic_domains=st.mosaic_domains,
                steps=steps)
