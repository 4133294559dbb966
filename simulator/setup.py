"""Post-parse derivation in the exact order of spec §1.14: Options -> frozen Setup.

All arithmetic follows the C evaluation order on Python floats (glibc `math`), or on 0-dim torch
tensors for the fields named in `overrides` (differentiable; never converted to float).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import fields, replace

from . import crystal
from .argv import OPTION_FIELDS, Options
from .sanity import check as check_values
from .cparse import RTD
from .geometry import (DBL_MIN, is_tensor, ceil, cross, div, dot, isnan, magnitude, rotate, rotate_axis,
                       scale, unit, value)
from .model import InputError, Setup, UsageExit
from .quirks import as_quirks
from .readers import read_fdump, read_hkl, read_mosflm_matrix, read_smv, read_source_file
from .readers import write_fdump as write_fdump_file
from .rng import Ran1, random_rotation, umat2misset

# convention -> (beam, fdet, sdet, odet, twotheta_axis, polar, spindle), spec §4.3
CONVENTION_VECTORS = {
    "ADXV": ((0, 0, 1), (1, 0, 0), (0, -1, 0), (0, 0, 1), (-1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "MOSFLM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "DENZO": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "XDS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "DIALS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0), (0, 1, 0), (0, 1, 0)),
    # CUSTOM: the C declaration initial values, used for any vector the user did not give
    "CUSTOM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)),
}
FORCED_PIVOT = {"ADXV": "BEAM", "MOSFLM": "BEAM", "DENZO": "BEAM", "XDS": "SAMPLE", "DIALS": "SAMPLE"}
R_E_SQR = 7.94079248018965e-30
SOURCE_DISTANCE = 10.0

BANNER = "nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17"


# Limits where the C (c_reference/nb_setup.c) exits 9 instead of allocating: a detector of more than
# 4e8 pixels, and (our own guard, where the C's calloc would fail) absurd mosaic domain counts.
MAX_PIXELS = 400_000_000
MAX_MOSAIC_DOMAINS = 10_000_000

def _fvec(v):
    return tuple(float(x) if isinstance(x, int) else x for x in v)


class _Log:
    def __init__(self, sink):
        self.lines = []
        self.sink = sink

    def __call__(self, line: str):
        self.lines.append(line)
        if self.sink is not None:
            self.sink(line)


# ------------------------------------------------------------------ headers (§1.1.2, §2.6)
def _apply_header(vals: dict, frame, is_mask: bool) -> None:
    def get(key):
        x = frame.value(key)
        return None if math.isnan(x) else x
    size1 = get("SIZE1")
    if size1 is not None:
        vals["fpixels"] = int(size1)
        size2 = get("SIZE2")
        if size2 is not None:
            vals["spixels"] = int(size2)
    else:
        dim = get("DETECTOR_DIMENSIONS")
        if dim is not None:
            vals["fpixels"] = vals["spixels"] = int(dim)
    px = get("PIXEL_SIZE")
    if px is not None:
        vals["pixel"] = px / 1000.0
    vals["detsize_f"] = vals["pixel"] * vals["fpixels"]
    vals["detsize_s"] = vals["pixel"] * vals["spixels"]
    for key, name, conv in (("DISTANCE", "distance", lambda x: x / 1000.0),
                            ("CLOSE_DISTANCE", "close_distance", lambda x: x / 1000.0),
                            ("WAVELENGTH", "lambda0", lambda x: x / 1e10),
                            ("BEAM_CENTER_X", "Xbeam", lambda x: x / 1000.0)):
        x = get(key)
        if x is not None:
            vals[name] = conv(x)
    y = get("BEAM_CENTER_Y")
    if y is not None:
        vals["Ybeam"] = vals["detsize_s"] - y / 1000.0 if is_mask else y / 1000.0
    for key, name, conv in (("ORGX", "ORGX", lambda x: x), ("ORGY", "ORGY", lambda x: x),
                            ("PHI", "phi0", lambda x: x / RTD), ("OSC_RANGE", "osc", lambda x: x / RTD)):
        x = get(key)
        if x is not None:
            vals[name] = conv(x)
    # TWOTHETA is read into a scratch variable and never used (§2.6)


def merge_headers(options: Options, cwd: str, log) -> tuple[Options, object]:
    """Apply -mask then -img header values under the command line; returns (options, mask frame)."""
    if options.img_file is None and options.mask_file is None:
        return options, None
    vals = {f.name: getattr(Options(), f.name) for f in fields(Options)}
    mask_frame = None
    for path, is_mask in ((options.mask_file, True), (options.img_file, False)):
        if path is None:
            continue
        frame = read_smv(os.path.join(cwd, path), "mask" if is_mask else "img")
        if frame is None:
            log(f"ERROR: {path} does not look like an ADSC frame")
            continue
        _apply_header(vals, frame, is_mask)
        if is_mask:
            mask_frame = frame
    for name in options.given:
        vals[name] = getattr(options, name)
    vals["given"] = options.given
    vals["argv"], vals["r1_matching"] = options.argv, options.r1_matching
    return Options(**vals), mask_frame


# ------------------------------------------------------------------ step logic (§5.2, §8.1, §8.4)
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


# ------------------------------------------------------------------ detector (§4.5)
def place_detector(o, pivot, quirks, f, s, o_vec, b, t2axis, tau, rots, Fclose, Sclose, Fbeam, Sbeam,
                   distance, close_distance, pixel):
    rx, ry, rz = rots
    o_r = rotate(o_vec, rx, ry, rz)
    r = dot(b, o_r)
    if r == 0:
        r = DBL_MIN
    if isnan(close_distance):
        close_distance = abs(r * distance)
    distance = close_distance / r
    P0 = None
    if pivot == "SAMPLE":
        P0 = tuple(((-Fclose) * f[i] - Sclose * s[i]) + close_distance * o_vec[i] for i in range(3))
        P0 = rotate_axis(rotate(P0, rx, ry, rz), t2axis, tau)
    f, s, o_vec = (rotate_axis(rotate(w, rx, ry, rz), t2axis, tau) for w in (f, s, o_vec))
    if pivot == "BEAM":
        P0 = tuple(((-Fbeam) * f[i] - Sbeam * s[i]) + distance * b[i] for i in range(3))
    if o.pix0_vector is not None and not quirks.pix0_ignored:
        # spec mode: the given P0 is used as given (mm for -pix0_vector_mm)
        P0 = tuple(x / 1000.0 for x in o.pix0_vector) if o.pix0_vector_mm else tuple(o.pix0_vector)
    Fclose = -dot(P0, f)
    Sclose = -dot(P0, s)
    close_distance = dot(P0, o_vec)
    w = tuple(close_distance / r * b[i] - P0[i] for i in range(3))
    Fbeam = dot(f, w)
    Sbeam = dot(s, w)
    distance = close_distance / r
    ORGX = div(Fclose, pixel) + 0.5
    ORGY = div(Sclose, pixel) + 0.5
    dials = (1000.0 * P0[2], 1000.0 * P0[1], -1000.0 * P0[0])
    return dict(P0=P0, fdet=f, sdet=s, odet=o_vec, r=r, Fclose=Fclose, Sclose=Sclose,
                close_distance=close_distance, Fbeam=Fbeam, Sbeam=Sbeam, distance=distance,
                ORGX=ORGX, ORGY=ORGY, dials_origin=dials)


# ------------------------------------------------------------------ main entry
def derive(options: Options, quirks=frozenset(), cwd: str = ".", overrides=None, log=None,
           write_fdump: bool = True) -> Setup:
    """Options -> Setup in the order of spec §1.14. Raises UsageExit/InputError (exit 9) like C."""
    quirks = as_quirks(quirks)
    say = _Log(log)
    if overrides:
        unknown = set(overrides) - OPTION_FIELDS
        if unknown:
            raise ValueError(f"unknown override field(s): {', '.join(sorted(unknown))}")
        options = replace(options, given=options.given | frozenset(overrides), **overrides)
    options, mask_frame = merge_headers(options, cwd, say)
    check_values(options)   # meaningless values: a usage error naming the option, not NaN
    o = options

    # 1. detector size (§4.1)
    pixel = o.pixel
    detsize_f, detsize_s = o.detsize_f, o.detsize_s
    if o.fpixels != 0:
        detsize_f = pixel * o.fpixels
    if o.spixels != 0:
        detsize_s = pixel * o.spixels
    fpixels = ceil(div(detsize_f, pixel) - 0.5)
    spixels = ceil(div(detsize_s, pixel) - 0.5)

    # 2. fluence, sample clipping, flux (§1.13.1)
    fluence, flux, exposure, beamsize = o.fluence, o.flux, o.exposure, o.beamsize
    sample_x, sample_y, sample_z = o.sample_x, o.sample_y, o.sample_z
    if flux != 0 and exposure > 0 and beamsize >= 0:
        fluence = div(div(flux * exposure, beamsize), beamsize)
    if beamsize >= 0:
        if sample_y > beamsize:
            say(f"WARNING: clipping sample ({value(sample_y):g} m wide) with beam ({value(beamsize):g} m)")
            sample_y = beamsize
        if sample_z > beamsize:
            say(f"WARNING: clipping sample ({value(sample_z):g} m high) with beam ({value(beamsize):g} m)")
            sample_z = beamsize
    if exposure > 0:
        flux = div(fluence, exposure) * beamsize * beamsize

    # 3. close-point defaults (§4.2)
    Fclose = (o.ORGX - 0.5) * pixel if not isnan(o.ORGX) else detsize_f / 2.0
    Sclose = (o.ORGY - 0.5) * pixel if not isnan(o.ORGY) else detsize_s / 2.0
    Xclose = Fclose if isnan(o.Xclose) else o.Xclose
    Yclose = Sclose if isnan(o.Yclose) else o.Yclose
    Fbeam, Sbeam = Fclose, Sclose

    # 4. ROI defaults (inclusive; maxima default one past the last pixel, as C stores them)
    xmin, xmax, ymin, ymax = o.roi
    roi = (0 if xmin < 0 else xmin, fpixels if xmax < 0 else xmax,
           0 if ymin < 0 else ymin, spixels if ymax < 0 else ymax)

    # 5. convention block (§4.3)
    conv = o.convention
    pivot = FORCED_PIVOT.get(conv, o.pivot)
    Xbeam, Ybeam = o.Xbeam, o.Ybeam
    defaults = CONVENTION_VECTORS[conv]
    if conv == "CUSTOM":
        given = (o.beam_vector, o.fdet_vector, o.sdet_vector, o.odet_vector, o.twotheta_axis,
                 o.polar_vector, o.spindle_axis)
        vecs = [_fvec(g if g is not None else d) for g, d in zip(given, defaults)]
    else:
        vecs = [_fvec(d) for d in defaults]
    b, f, s, odet, t2axis, p, u = vecs
    if conv in ("MOSFLM", "DENZO"):
        if isnan(Xbeam):
            Xbeam = (detsize_s + pixel) / 2.0
        if isnan(Ybeam):
            Ybeam = (detsize_f + pixel) / 2.0
        shift = 0.5 if conv == "MOSFLM" else 0.0
        Fbeam = Ybeam + shift * pixel
        Sbeam = Xbeam + shift * pixel
    elif conv == "ADXV":
        if isnan(Xbeam):
            Xbeam = (detsize_f + pixel) / 2.0
        if isnan(Ybeam):
            Ybeam = (detsize_s - pixel) / 2.0
        Fbeam = Xbeam
        Sbeam = detsize_s - Ybeam
    else:  # XDS, DIALS, CUSTOM
        if isnan(Xbeam):
            Xbeam = Xclose
        if isnan(Ybeam):
            Ybeam = Yclose
        Fbeam, Sbeam = Xbeam, Ybeam
        if conv == "CUSTOM":
            Fclose, Sclose = Xbeam, Ybeam

    # 6. normalization (§4.4)
    b, f, s = unit(b), unit(f), unit(s)
    omag = magnitude(odet)
    odet = unit(odet)
    if omag != 1.0:
        say("WARNING: auto-generating odet_vector")
        odet = unit(cross(f, s))
    p, u = unit(p), unit(u)

    # 7. banner, Fdump probe, usage check (§1.15)
    say(BANNER)
    dump_path = os.path.join(cwd, o.dumpfile)
    have_dump = o.hklfile is None and os.path.isfile(dump_path) and os.access(dump_path, os.R_OK)
    if o.hklfile is None and not have_dump and o.default_F == 0:
        say("ERROR: no hkl file and no dump file to read.")
        raise UsageExit("no -hkl file, no readable dump file and -default_F 0 (C prints usage and exits 9)")
    if o.matfile is None and o.cell_a == 0:
        raise UsageExit("no -mat file and no -cell (C prints usage and exits 9)")
    if not (fpixels > 0 and spixels > 0 and fpixels * spixels <= MAX_PIXELS):
        raise InputError(f"detector has no pixels or too many (fpixels={fpixels} spixels={spixels})")
    say(f"{conv.lower()} convention selected.")
    say("pivoting detector around sample" if pivot == "SAMPLE" else "pivoting detector around direct beam spot")

    # 9. step logic (§8.1, §5.2, §8.4)
    phisteps, osc, phistep = resolve_phi(o.phisteps, o.osc, o.phistep)
    hdivsteps, hdivrange, hdivstep = resolve_steps(o.hdivsteps, o.hdivrange, o.hdivstep, "div")
    vdivsteps, vdivrange, vdivstep = resolve_steps(o.vdivsteps, o.vdivrange, o.vdivstep, "div")
    dispsteps, disprange, dispstep = resolve_steps(o.dispsteps, o.dispersion, -1.0, "disp")
    thicksteps, thick, thickstep = resolve_steps(o.detector_thicksteps, o.detector_thick, -1.0, "thick")
    mu = o.detector_mu
    if thick > 0 and mu < 0:
        mu = 1.0 / thick
        say(f"WARNING: detector attenuation depth not specified, assuming {value(mu):g} um")
    mosaic_domains, mosaic_spread = resolve_mosaic(o.mosaic_domains, o.mosaic_spread, say)
    if mosaic_domains > MAX_MOSAIC_DOMAINS:  # the C's calloc fails long before; we refuse up front
        raise InputError(f"too many mosaic domains ({mosaic_domains}; at most {MAX_MOSAIC_DOMAINS})")

    # 10. detector geometry (§4.5)
    geo = place_detector(o, pivot, quirks, f, s, odet, b, t2axis, o.twotheta,
                         (o.detector_rotx, o.detector_roty, o.detector_rotz),
                         Fclose, Sclose, Fbeam, Sbeam, o.distance, o.close_distance, pixel)
    ff, sf, of = geo["fdet"], geo["sdet"], geo["odet"]
    say("XDS incident beam: %g %g %g" % (value(dot(b, ff)), value(dot(b, sf)), value(dot(b, of))))

    # 11. automatic interpolation (§3.9), on the N values as parsed
    interpolate = o.interpolate
    if interpolate is None:
        if o.Na <= 2 or o.Nb <= 2 or o.Nc <= 2:
            interpolate = 1
            say("auto-selected tricubic interpolation of structure factors")
        else:
            interpolate = 0
            say("auto-selected no interpolation")

    # 12. cell and orientation (§3)
    rng = Ran1({
        "misset": o.misset_seed if o.misset_seed is not None else -int(time.time()),
        "mosaic": o.mosaic_seed,
        "noise": o.seed if o.seed is not None else -int(time.time()),
    })
    frandrot = quirks.float32_random_rotation
    cell_abc = V = None
    a_star = b_star = c_star = (0.0, 0.0, 0.0)
    if o.user_cell:
        ca, cb, cc, al, be, ga = crystal.cell_defaults(o.cell_a, o.cell_b, o.cell_c,
                                                        o.cell_alpha, o.cell_beta, o.cell_gamma)
        cell_abc = (ca, cb, cc)
        a_star, b_star, c_star, V = crystal.reciprocal_from_cell(
            ca, cb, cc, al, be, ga, quirks.triclinic_cell_basis, say)
    if o.matfile is not None:
        say(f"reading {o.matfile}")
        ma, mb, mc = read_mosflm_matrix(os.path.join(cwd, o.matfile))
        lam_scale = 1e-10 / o.lambda0
        a_star, b_star, c_star = (scale(_fvec(v), lam_scale) for v in (ma, mb, mc))
    misset = (0.0, 0.0, 0.0)
    if o.misset_mode == "random":
        umat = random_rotation(90.0, rng, "misset", float32_angle=frandrot)
        misset = umat2misset(umat)
        say("random orientation misset angles: %f %f %f deg" % tuple(m * RTD for m in misset))
    elif o.misset_mode == "angles":
        misset = (o.misset_x, o.misset_y, o.misset_z)
    if o.misset_mode is not None:
        a_star, b_star, c_star = crystal.apply_misset((a_star, b_star, c_star), *misset)
    (a, bb, c), (a_star, b_star, c_star), Vcell = crystal.real_space(
        a_star, b_star, c_star, o.user_cell, cell_abc, V)
    for line in crystal.cell_report(a, bb, c, a_star, b_star, c_star):
        say(line)
    say("volume = %g A^3" % value(Vcell))
    a0, b0, c0 = (scale(v, 1e-10) for v in (a, bb, c))

    # 13. crystal size and oversample (§3.8)
    Ns = []
    for N, size, vec in ((o.Na, sample_x, a0), (o.Nb, sample_y, b0), (o.Nc, sample_z, c0)):
        if size > 0:
            N = ceil(div(size, magnitude(vec)))
        Ns.append(float(max(N, 1)))
    Na, Nb, Nc = Ns
    xtal = tuple(magnitude(v) * N for v, N in zip((a0, b0, c0), Ns))
    say("crystal is %g x %g x %g microns" % tuple(value(x) * 1e6 for x in xtal))
    xtalsize_max = max(xtal, key=value)
    reciprocal_pixel_size = div(o.lambda0 * geo["distance"], pixel)
    recommended = max(ceil(div(3.0 * xtalsize_max, reciprocal_pixel_size)), 1)
    oversample = o.oversample
    if oversample <= 0:
        oversample = recommended
        say(f"auto-selected {oversample}-fold oversampling")
    elif oversample < recommended:
        say(f"WARNING: maximum dimension of crystal is {value(xtalsize_max) * 1e6:g} microns")
        say(f"WARNING: but reciprocal pixel size is {value(reciprocal_pixel_size) * 1e6:g} microns")
        say(f"WARNING: you should probably use -oversample {recommended}")
        say("WARNING: to get accurate results")

    # 14. HKL / Fdump (§2)
    hkl = None
    hkl_source = ""
    if o.hklfile is not None:
        path = os.path.join(cwd, o.hklfile)
        say(f"counting entries in {o.hklfile}")
        hkl = read_hkl(path, float(value(o.default_F)))
        for w in hkl.warnings[:20]:
            say(w)
        say(f"re-reading {o.hklfile}")
        hkl_source = "hkl"
        if write_fdump:
            say(f"writing dump file for next time: {o.dumpfile}")
            if not write_fdump_file(dump_path, hkl):
                say(f"WARNING: cannot write {o.dumpfile}")
    elif have_dump:
        say(f"reading Fs from {o.dumpfile}")
        hkl = read_fdump(dump_path)
        hkl_source = "dump"
    hkls = hkl.hkls if hkl is not None else 0
    if hkls == 0:
        interpolate = 0

    # 15. stol table: read and never used (§2.5); only its absence matters
    if o.stolfile is not None and not os.path.isfile(os.path.join(cwd, o.stolfile)):
        raise InputError(f"cannot read stol file {o.stolfile}")

    # 16. sources (§5.3)
    src_pos, src_lam, src_w = [], [], []
    if o.sourcefile is not None:
        rows = read_source_file(os.path.join(cwd, o.sourcefile))
        for row in rows:
            X, Y, Z, I, lam = row
            pos = tuple(-SOURCE_DISTANCE * b[i] if math.isnan(x) else x for i, x in enumerate((X, Y, Z)))
            src_pos.append(pos)
            src_w.append(1.0 if math.isnan(I) else I)
            src_lam.append(o.lambda0 if math.isnan(lam) else lam)
    else:
        vert = unit(cross(b, p))
        lambdas = []
        for d in range(dispsteps):
            lam = o.lambda0 * (1.0 + dispstep * d - disprange / 2.0)
            lambdas.append(lam)
        kept = []
        for hk in range(hdivsteps):
            for vk in range(vdivsteps):
                hdiv = hdivstep * hk - hdivrange / 2.0
                vdiv = vdivstep * vk - vdivrange / 2.0
                if o.round_div:
                    t = (div(div(hdiv * hdiv - hdivstep * hdivstep / 4.0 * (1 - hdivsteps % 2), hdivrange),
                             hdivrange)
                         + div(div(vdiv * vdiv - vdivstep * vdivstep / 4.0 * (1 - vdivsteps % 2), vdivrange),
                               vdivrange))
                    if 4.0 * t > 1.1:
                        continue
                say("divergence deviation: %g %g" % (value(hdiv), value(vdiv)))
                q0 = tuple(-SOURCE_DISTANCE * b[i] for i in range(3))
                q2 = rotate_axis(rotate_axis(q0, p, vdiv), vert, hdiv)
                kept.append(q2)
        for d, lam in enumerate(lambdas):
            say("lambda%d = %.15g" % (d, value(lam)))
        weight = 1.0 / (len(kept) * len(lambdas)) if kept and lambdas else 0.0
        for q2 in kept:
            for lam in lambdas:
                src_pos.append(q2)
                src_lam.append(lam)
                src_w.append(weight)
    say(f"  created a total of {len(src_pos)} sources:")
    for pos, w, lam in zip(src_pos, src_w, src_lam):
        say("%g %g %g   %g %g" % (*(value(x) for x in pos), value(w), value(lam)))
    source_dirs = [unit(pos) for pos in src_pos]

    # 17. mosaic matrices (§8.4): domain 0 becomes identity after its draws
    umats = [random_rotation(value(mosaic_spread), rng, "mosaic", float32_angle=frandrot)
             for _ in range(mosaic_domains)]
    if umats:
        umats[0] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    say(f"  created a total of {mosaic_domains} mosaic domains")

    # 18. steps (§6.1): detector layers are not included
    steps = len(source_dirs) * mosaic_domains * phisteps * oversample * oversample

    mask = mask_frame.data if mask_frame is not None else None
    mask_shape = None
    if mask_frame is not None:
        m1, m2 = mask_frame.value("SIZE1"), mask_frame.value("SIZE2")
        if not (math.isnan(m1) or math.isnan(m2)):
            mask_shape = (int(m2), int(m1))
    g = hkl
    return Setup(
        fpixels=fpixels, spixels=spixels, pixel=pixel, detsize_f=detsize_f, detsize_s=detsize_s,
        distance=geo["distance"], close_distance=geo["close_distance"], pix0=geo["P0"],
        fdet=ff, sdet=sf, odet=of, curved_det=o.curved_det, point_pixel=o.point_pixel,
        oversample=int(oversample), oversample_thick=o.oversample_thick,
        oversample_polar=o.oversample_polar, oversample_omega=o.oversample_omega,
        thicksteps=thicksteps, thickstep=thickstep, detector_thick=thick, mu=mu, roi=roi, mask=mask,
        convention=conv, pivot=pivot, Fbeam=geo["Fbeam"], Sbeam=geo["Sbeam"], Fclose=geo["Fclose"],
        Sclose=geo["Sclose"], Xbeam=Xbeam, Ybeam=Ybeam, ORGX=geo["ORGX"], ORGY=geo["ORGY"],
        dials_origin=geo["dials_origin"], twotheta=o.twotheta, twotheta_axis=t2axis,
        lambda0=o.lambda0, fluence=fluence, polar_K=o.polar_K, nopolar=o.nopolar, polar_vector=p,
        beam=b, source_dirs=source_dirs, source_lambdas=src_lam, dmin=o.dmin, water_size=o.water_size,
        a0=a0, b0=b0, c0=c0, a_star=a_star, b_star=b_star, c_star=c_star, Na=Na, Nb=Nb, Nc=Nc,
        xtal_shape=o.xtal_shape, fudge=o.fudge, spindle=u, phi0=o.phi0, phistep=phistep,
        phisteps=phisteps, osc=osc, mosaic_spread=mosaic_spread, mosaic_umats=umats,
        hkl_grid=g.grid if g else None, h_min=g.h_min if g else 0, h_max=g.h_max if g else 0,
        k_min=g.k_min if g else 0, k_max=g.k_max if g else 0, l_min=g.l_min if g else 0,
        l_max=g.l_max if g else 0, hkls=hkls, default_F=o.default_F, interpolate=int(interpolate),
        steps=steps, floatfile=o.floatfile, intfile=o.intfile, pgmfile=o.pgmfile,
        noisefile=o.noisefile, write_pgm=o.write_pgm, write_noise=o.write_noise, scale=o.scale,
        pgmscale=o.pgmscale, adc=o.adc, seed=rng.seeds["noise"], rng_state=rng.state(),
        printout=o.printout, printout_pixel=o.printout_pixel, progress=o.progress,
        quirks=quirks.ids, messages=tuple(say.lines),
        r_factor=geo["r"], cell_volume=Vcell, misset=misset, source_weights=src_w,
        source_positions=src_pos, mosaic_domains=mosaic_domains, sample_size=xtal,
        trace_pixel=o.trace_pixel, mask_shape=mask_shape, flux=flux, exposure=exposure,
        beamsize=beamsize, hkl_source=hkl_source, options=o,
    )
