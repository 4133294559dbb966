"""The beam part of the setup: fluence, flux and the sample's clipping by the beam (spec §1.13.1), the
divergence and dispersion steps (§5.2) and the source list (§5.3).

Each function is one step of spec §1.14 acting on the setup draft `st` (setup.py); `fields(st)` gives
the Setup fields this part owns."""

from __future__ import annotations

import math
import os

from .constants import SOURCE_DISTANCE
from .geometry import cross, div, rotate_axis, unit, value
from .readers import read_source_file
from .setup_scan import resolve_steps


def fluence(st) -> None:
    """Step 2 (§1.13.1): fluence from flux·exposure/beamsize², the sample clipped to the beam, flux."""
    o, say = st.o, st.say
    fl, flux, exposure, beamsize = o.fluence, o.flux, o.exposure, o.beamsize
    sample_y, sample_z = o.sample_y, o.sample_z
    if flux != 0 and exposure > 0 and beamsize >= 0:
        fl = div(div(flux * exposure, beamsize), beamsize)
    if beamsize >= 0:
        if sample_y > beamsize:
            say(f"WARNING: clipping sample ({value(sample_y):g} m wide) with beam ({value(beamsize):g} m)")
            sample_y = beamsize
        if sample_z > beamsize:
            say(f"WARNING: clipping sample ({value(sample_z):g} m high) with beam ({value(beamsize):g} m)")
            sample_z = beamsize
    if exposure > 0:
        flux = div(fl, exposure) * beamsize * beamsize
    st.fluence, st.flux, st.exposure, st.beamsize = fl, flux, exposure, beamsize
    st.sample_size_m = (o.sample_x, sample_y, sample_z)


def steps(st) -> None:
    """Step 9, divergence and dispersion (§5.2)."""
    o = st.o
    st.hdiv = resolve_steps(o.hdivsteps, o.hdivrange, o.hdivstep, "div")
    st.vdiv = resolve_steps(o.vdivsteps, o.vdivrange, o.vdivstep, "div")
    st.disp = resolve_steps(o.dispsteps, o.dispersion, -1.0, "disp")


def sources(st) -> None:
    """Step 16 (§5.3): positions, wavelengths and weights from -sourcefile, or the divergence grid
    (round or square) times the dispersion steps; directions are the unit positions."""
    o, say = st.o, st.say
    if o.sourcefile is not None:
        pos, lam, w = _file_sources(st)
    else:
        pos, lam, w = _grid_sources(st)
    say(f"  created a total of {len(pos)} sources:")
    for p, wt, la in zip(pos, w, lam):
        say("%g %g %g   %g %g" % (*(value(x) for x in p), value(wt), value(la)))
    st.source_positions, st.source_lambdas, st.source_weights = pos, lam, w
    st.source_dirs = [unit(p) for p in pos]


def _file_sources(st):
    o, b = st.o, st.beam
    pos, lam, w = [], [], []
    for X, Y, Z, I, la in read_source_file(os.path.join(st.cwd, o.sourcefile)):
        pos.append(tuple(-SOURCE_DISTANCE * b[i] if math.isnan(x) else x for i, x in enumerate((X, Y, Z))))
        w.append(1.0 if math.isnan(I) else I)
        lam.append(o.lambda0 if math.isnan(la) else la)
    return pos, lam, w


def _grid_sources(st):
    o, b, p, say = st.o, st.beam, st.polar_vector, st.say
    hdivsteps, hdivrange, hdivstep = st.hdiv
    vdivsteps, vdivrange, vdivstep = st.vdiv
    dispsteps, disprange, dispstep = st.disp
    vert = unit(cross(b, p))
    lambdas = [o.lambda0 * (1.0 + dispstep * d - disprange / 2.0) for d in range(dispsteps)]
    kept = []
    for hk in range(hdivsteps):
        for vk in range(vdivsteps):
            hdiv = hdivstep * hk - hdivrange / 2.0
            vdiv = vdivstep * vk - vdivrange / 2.0
            if o.round_div:
                t = (div(div(hdiv * hdiv - hdivstep * hdivstep / 4.0 * (1 - hdivsteps % 2), hdivrange), hdivrange)
                     + div(div(vdiv * vdiv - vdivstep * vdivstep / 4.0 * (1 - vdivsteps % 2), vdivrange),
                           vdivrange))
                if 4.0 * t > 1.1:
                    continue
            say("divergence deviation: %g %g" % (value(hdiv), value(vdiv)))
            q0 = tuple(-SOURCE_DISTANCE * b[i] for i in range(3))
            kept.append(rotate_axis(rotate_axis(q0, p, vdiv), vert, hdiv))
    for d, lam in enumerate(lambdas):
        say("lambda%d = %.15g" % (d, value(lam)))
    weight = 1.0 / (len(kept) * len(lambdas)) if kept and lambdas else 0.0
    pos, lam, w = [], [], []
    for q2 in kept:
        for la in lambdas:
            pos.append(q2)
            lam.append(la)
            w.append(weight)
    return pos, lam, w


def fields(st) -> dict:
    """The Setup fields of the beam part."""
    o = st.o
    return dict(lambda0=o.lambda0, fluence=st.fluence, polar_K=o.polar_K, nopolar=o.nopolar,
                polar_vector=st.polar_vector, beam=st.beam, source_dirs=st.source_dirs,
                source_lambdas=st.source_lambdas, source_weights=st.source_weights,
                source_positions=st.source_positions, dmin=o.dmin, water_size=o.water_size, flux=st.flux,
                exposure=st.exposure, beamsize=st.beamsize)
