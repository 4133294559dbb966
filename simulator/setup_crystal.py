"""The crystal part of the setup: automatic interpolation (spec §3.9), cell and orientation (§3), crystal
size and oversampling (§3.8), and the structure factors from -hkl or the Fdump cache (§2).

Each function is one step of spec §1.14 acting on the setup draft `st` (setup.py); `fields(st)` gives
the Setup fields this part owns."""

from __future__ import annotations

import os
import time

from . import crystal
from .constants import M_PER_A, RTD, UM_PER_M
from .geometry import ceil, div, magnitude, scale, value
from .model import InputError
from .readers import read_fdump, read_hkl, read_mosflm_matrix
from .readers import write_fdump as write_fdump_file
from .rng import Ran1, random_rotation, umat2misset
from .setup_detector import fvec


def auto_interpolation(st) -> None:
    """Step 11 (§3.9): tricubic interpolation when some N <= 2, on the N values as parsed."""
    o = st.o
    st.interpolate = o.interpolate
    if st.interpolate is None:
        if o.Na <= 2 or o.Nb <= 2 or o.Nc <= 2:
            st.interpolate = 1
            st.say("auto-selected tricubic interpolation of structure factors")
        else:
            st.interpolate = 0
            st.say("auto-selected no interpolation")


def orientation(st) -> None:
    """Step 12 (§3): the shared random generator, reciprocal vectors from -cell or -mat, the misset
    (angles or random), and the real-space cell."""
    o, say = st.o, st.say
    st.rng = Ran1({
        "misset": o.misset_seed if o.misset_seed is not None else -int(time.time()),
        "mosaic": o.mosaic_seed,
        "noise": o.seed if o.seed is not None else -int(time.time()),
    })
    st.frandrot = st.quirks.float32_random_rotation
    cell_abc = V = None
    a_star = b_star = c_star = (0.0, 0.0, 0.0)
    if o.user_cell:
        ca, cb, cc, al, be, ga = crystal.cell_defaults(o.cell_a, o.cell_b, o.cell_c,
                                                        o.cell_alpha, o.cell_beta, o.cell_gamma)
        cell_abc = (ca, cb, cc)
        a_star, b_star, c_star, V = crystal.reciprocal_from_cell(
            ca, cb, cc, al, be, ga, st.quirks.triclinic_cell_basis, say, st.echo)
    if o.matfile is not None:
        say(f"reading {o.matfile}")
        ma, mb, mc = read_mosflm_matrix(os.path.join(st.cwd, o.matfile))
        lam_scale = M_PER_A / o.lambda0
        a_star, b_star, c_star = (scale(fvec(v), lam_scale) for v in (ma, mb, mc))
        st.echo.star_slots = tuple(magnitude(v) for v in (a_star, b_star, c_star))
        st.echo.matrix_read((ma, mb, mc), o.lambda0, lam_scale, (a_star, b_star, c_star), st.echo.star_slots)
    st.misset = (0.0, 0.0, 0.0)
    if o.misset_mode == "random":
        umat = random_rotation(90.0, st.rng, "misset", float32_angle=st.frandrot)
        st.misset = umat2misset(umat)
        say("random orientation misset angles: %f %f %f deg" % tuple(m * RTD for m in st.misset))
    elif o.misset_mode == "angles":
        st.misset = (o.misset_x, o.misset_y, o.misset_z)
    if o.misset_mode is not None:
        before = (a_star, b_star, c_star)
        a_star, b_star, c_star = crystal.apply_misset(before, *st.misset)
        st.echo.misset(before, st.echo.star_slots, tuple(m * RTD for m in st.misset), (a_star, b_star, c_star))
    (a, b, c), st.stars, st.cell_volume = crystal.real_space(a_star, b_star, c_star, o.user_cell, cell_abc, V,
                                                             st.echo)
    for line in crystal.cell_report(a, b, c, *st.stars):
        say(line)
    say("volume = %g A^3" % value(st.cell_volume))
    st.a0, st.b0, st.c0 = (scale(v, M_PER_A) for v in (a, b, c))
    st.echo.conversion((a, b, c), tuple(magnitude(v) for v in (a, b, c)), (st.a0, st.b0, st.c0),
                       tuple(magnitude(v) for v in (st.a0, st.b0, st.c0)))


def size_and_oversample(st) -> None:
    """Step 13 (§3.8): cells per axis (from the sample size when given), the crystal size, and the
    oversampling (automatic: 3·size / reciprocal pixel size)."""
    o, say = st.o, st.say
    Ns = []
    for N, size, vec in zip((o.Na, o.Nb, o.Nc), st.sample_size_m, (st.a0, st.b0, st.c0)):
        if size > 0:
            N = ceil(div(size, magnitude(vec)))
        Ns.append(float(max(N, 1)))
    st.N = tuple(Ns)
    st.xtal = tuple(magnitude(v) * N for v, N in zip((st.a0, st.b0, st.c0), Ns))
    say("crystal is %g x %g x %g microns" % tuple(value(x) * UM_PER_M for x in st.xtal))
    xtalsize_max = max(st.xtal, key=value)
    reciprocal_pixel_size = div(o.lambda0 * st.geo["distance"], st.pixel)
    recommended = max(ceil(div(3.0 * xtalsize_max, reciprocal_pixel_size)), 1)
    st.oversample = o.oversample
    if st.oversample <= 0:
        st.oversample = recommended
        say(f"auto-selected {st.oversample}-fold oversampling")
    elif st.oversample < recommended:
        say(f"WARNING: maximum dimension of crystal is {value(xtalsize_max) * UM_PER_M:g} microns")
        say(f"WARNING: but reciprocal pixel size is {value(reciprocal_pixel_size) * UM_PER_M:g} microns")
        say(f"WARNING: you should probably use -oversample {recommended}")
        say("WARNING: to get accurate results")


def structure_factors(st, write_fdump: bool) -> None:
    """Steps 14–15 (§2): the HKL grid from -hkl (writing the Fdump cache) or from the cache; no grid
    turns interpolation off. The stol table is read and never used: only its absence matters."""
    o, say = st.o, st.say
    hkl, st.hkl_source = None, ""
    if o.hklfile is not None:
        say(f"counting entries in {o.hklfile}")
        hkl = read_hkl(os.path.join(st.cwd, o.hklfile), float(value(o.default_F)))
        for w in hkl.warnings[:20]:
            say(w)
        say(f"re-reading {o.hklfile}")
        st.hkl_source = "hkl"
        if write_fdump:
            say(f"writing dump file for next time: {o.dumpfile}")
            if not write_fdump_file(st.dump_path, hkl):
                say(f"WARNING: cannot write {o.dumpfile}")
    elif st.have_dump:
        say(f"reading Fs from {o.dumpfile}")
        hkl = read_fdump(st.dump_path)
        st.hkl_source = "dump"
    st.hkl = hkl
    if (hkl.hkls if hkl is not None else 0) == 0:
        st.interpolate = 0
    if o.stolfile is not None and not os.path.isfile(os.path.join(st.cwd, o.stolfile)):
        raise InputError(f"cannot read stol file {o.stolfile}")


def fields(st) -> dict:
    """The Setup fields of the crystal part."""
    o, g = st.o, st.hkl
    a_star, b_star, c_star = st.stars
    return dict(
        a0=st.a0, b0=st.b0, c0=st.c0, a_star=a_star, b_star=b_star, c_star=c_star,
        Na=st.N[0], Nb=st.N[1], Nc=st.N[2], xtal_shape=o.xtal_shape, fudge=o.fudge,
        hkl_grid=g.grid if g else None, h_min=g.h_min if g else 0, h_max=g.h_max if g else 0,
        k_min=g.k_min if g else 0, k_max=g.k_max if g else 0, l_min=g.l_min if g else 0,
        l_max=g.l_max if g else 0, hkls=g.hkls if g is not None else 0, default_F=o.default_F,
        interpolate=int(st.interpolate), oversample=int(st.oversample), cell_volume=st.cell_volume,
        misset=st.misset, sample_size=st.xtal, hkl_source=st.hkl_source,
    )
