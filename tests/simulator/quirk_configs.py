"""Generated nanoBragg command lines combining every option family of the spec (§1.2–§1.8) on tiny
detectors, and the check that c mode equals spec mode plus every quirk the attribution finds triggered.

Each family is drawn independently (most of them often absent), so hypothesis shrinks a failure to the
few options that cause it. Sizes stay small (≤ 12×12 pixels, ≤ 3 steps per loop) so one example renders
in a fraction of a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import strategies as st

INPUTS = Path(__file__).resolve().parents[1] / "parity" / "inputs"


def _tokens(*parts) -> list[str]:
    return [str(p) for p in parts]


def _pick(draw, options, none_weight: int = 1):
    """One of `options` (each a token list) or nothing, nothing `none_weight` times as likely as each."""
    return draw(st.sampled_from([[]] * none_weight + list(options)))


@st.composite
def crystal(draw) -> list[str]:
    cell = draw(st.sampled_from([
        _tokens("-cell", 50, 60, 70, 90, 90, 90),
        _tokens("-cell", 70, 80, 90, 85, 95, 100),          # triclinic (C-CELL-001)
        _tokens("-cell", 60, 60, 60, 80, 80, 80),           # rhombohedral
        _tokens("-cell", 40, 50, 60, 90, 100, 90),          # monoclinic: γ* = 90°, no C-CELL-001
        _tokens("-mat", INPUTS / "tiny.mat"),
    ]))
    misset = _pick(draw, [_tokens("-misset", 10, -5, 20),
                          _tokens("-misset", "random", "-misset_seed", draw(st.integers(1, 9)))], 2)
    n = draw(st.sampled_from([_tokens("-N", 3), _tokens("-Na", 2, "-Nb", 3, "-Nc", 4), _tokens("-N", 5),
                              _tokens("-xtal_size", 0.0002)]))
    shape = _pick(draw, [["-round_xtal"], ["-gauss_xtal"], ["-tophat_spots"], ["-round_xtal", "-fudge", "2"]])
    return cell + misset + n + shape


@st.composite
def structure_factors(draw) -> list[str]:
    hkl = draw(st.sampled_from([[], _tokens("-hkl", INPUTS / "tiny.hkl")]))
    default = _tokens("-default_F", draw(st.sampled_from([100, 30]))) if not hkl or draw(st.booleans()) else []
    interp = _pick(draw, [["-interpolate"], ["-nointerpolate"]], 2) if hkl else []
    return hkl + default + interp


@st.composite
def scan(draw) -> list[str]:
    phi = _pick(draw, [_tokens("-phi", -0.5, "-osc", 1, "-phisteps", 2),          # a step at exactly 0
                       _tokens("-phi", 0, "-osc", 2, "-phisteps", 3),
                       _tokens("-phi", 10, "-phistep", 0.5, "-phisteps", 2)], 2)
    mosaic = _pick(draw, [_tokens("-mosaic", 1, "-mosaic_domains", draw(st.integers(2, 3)),
                                  "-mosaic_seed", draw(st.integers(1, 9)))], 2)
    spindle = _pick(draw, [_tokens("-spindle_axis", 0, 1, 0)], 4) if phi else []
    return phi + mosaic + spindle


@st.composite
def beam(draw) -> list[str]:
    lam = draw(st.sampled_from([_tokens("-lambda", 1), _tokens("-lambda", 1.3), _tokens("-energy", 11000)]))
    div = _pick(draw, [_tokens("-divergence", 1, "-divsteps", 3),
                       _tokens("-hdivrange", 1, "-vdivrange", 0.5, "-hdivsteps", 2, "-vdivsteps", 2, "-square_div"),
                       _tokens("-sourcefile", INPUTS / "sources.txt")], 2)
    disp = _pick(draw, [_tokens("-dispersion", 2, "-dispsteps", 2)], 2)
    polar = _pick(draw, [_tokens("-polar", 0.8), ["-nopolar"],
                         _tokens("-polar", 0.5, "-polar_vector", 0, 0, 1)], 1)
    water = _pick(draw, [_tokens("-water", 100)], 3)
    dose = _pick(draw, [_tokens("-fluence", 1e24), _tokens("-flux", 1e12, "-exposure", 2, "-beamsize", 0.05)], 3)
    return lam + div + disp + polar + water + dose


@st.composite
def detector(draw) -> list[str]:
    n = draw(st.integers(6, 12))
    size = draw(st.sampled_from([_tokens("-pixel", 0.5, "-detpixels", n),
                                 _tokens("-pixel", 0.4, "-detpixels_f", n, "-detpixels_s", n - 2)]))
    conv = draw(st.sampled_from([[], ["-mosflm"], ["-xds"], ["-adxv"], ["-denzo"], ["-dials"],
                                 _tokens("-fdet_vector", 0, 0, 1, "-sdet_vector", 0, -1, 0, "-odet_vector", 1, 0, 0,
                                         "-beam_vector", 1, 0, 0)]))
    centre = _pick(draw, [_tokens("-Xbeam", 2.2, "-Ybeam", 1.9), _tokens("-ORGX", 3.3, "-ORGY", 4.7),
                          _tokens("-close_distance", 90), _tokens("-Xclose", 2.5, "-Yclose", 1.5),
                          _tokens("-pix0_vector", 0.1, 0.002, -0.003)], 2)
    dist = _tokens("-distance", draw(st.sampled_from([60, 100])))
    rots = _pick(draw, [_tokens("-detector_rotx", 3, "-detector_roty", 2, "-detector_rotz", 5),
                        _tokens("-detector_roty", 8)], 2)
    two = _pick(draw, [_tokens("-twotheta", 10), _tokens("-twotheta", 4, "-twotheta_axis", 0, 1, 0)], 2)
    pivot = _pick(draw, [["-pivot", "sample"], ["-pivot", "beam"]], 2)
    thick = _pick(draw, [_tokens("-detector_thick", 100, "-thicksteps", draw(st.integers(1, 3))),
                         _tokens("-detector_thick", 100, "-detector_abs", 300, "-thicksteps", 2)], 2)
    shape = _pick(draw, [["-curved_det"], ["-point_pixel"]], 3)
    return size + dist + conv + centre + rots + two + pivot + thick + shape


@st.composite
def sampling(draw) -> list[str]:
    over = _tokens("-oversample", draw(st.integers(1, 2)))
    flags = [f for f in ("-oversample_thick", "-oversample_polar", "-oversample_omega") if draw(st.booleans())]
    dmin = _pick(draw, [_tokens("-dmin", 5)], 3)
    roi = _pick(draw, [_tokens("-roi", 1, 4, 2, 5)], 3)
    return over + flags + dmin + roi


@st.composite
def command_lines(draw) -> list[str]:
    """One argv of every family; the outputs off."""
    return (draw(crystal()) + draw(structure_factors()) + draw(scan()) + draw(beam()) + draw(detector())
            + draw(sampling()) + ["-nonoise", "-nopgm"])


# ----------------------------------------------------------------------------- the check


def spec_triggered_mode(argv, cwd, c_mode: str = "c") -> str:
    """spec plus every quirk the attribution finds triggered on the spec-mode setup of argv (what
    spec-mode attribution re-runs with), among the quirks the C line of `c_mode` has."""
    from nbparity.attribution import triggered_quirks
    from simulator.argv import parse_argv
    from simulator.quirks import resolve
    from simulator.setup import derive

    setup = derive(parse_argv(list(argv), r1=False), quirks="spec", cwd=str(cwd), write_fdump=False)
    line = resolve(c_mode)
    return "spec" + "".join(f",+{q}" for q in triggered_quirks(setup) if q in line)


class NotComparable(Exception):
    """The c-mode image is not finite (e.g. C-OVERSAMPLE-001's running products overflow float32 with
    -point_pixel -oversample_omega): no value there can show the two modes equal."""


def mode_gap(argv, cwd, c_mode: str = "c", dtypes=("float64", "float32")) -> list[str]:
    """Where c mode and spec + triggered quirks render differently: one line per differing image
    (dtype, stored float32 or the pre-store value), empty when every image is bit-identical."""
    from simulator.api import run

    mode = spec_triggered_mode(argv, cwd, c_mode)
    gaps = []
    for dt in dtypes:
        c = run(list(argv), quirks=c_mode, cwd=str(cwd), dtype=dt)
        if not bool(c.image_double.isfinite().all()):
            raise NotComparable(f"{dt}: the c-mode image is not finite")
        s = run(list(argv), quirks=mode, cwd=str(cwd), dtype=dt)
        for what in ("image", "image_double"):
            a, b = getattr(c, what).cpu().numpy(), getattr(s, what).cpu().numpy()
            bad = ~(a == b)   # NaN on both sides is a gap too: nothing was compared there
            if bad.any():
                where = np.argwhere(bad)[:3].tolist()
                gaps.append(f"{dt} {what}: {int(bad.sum())} pixels differ under {mode} (first {where})")
    return gaps
