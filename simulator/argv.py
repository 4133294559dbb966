"""nanoBragg command-line parsing with the C rules (spec §1.1–§1.12), shared by simulator and harness.

Every token starting with '-' is compared with every option in a fixed order, mostly by substring
(`name in token`), so one token can fire several options (§1.12). Values are read with C atof/atoi
from the following tokens, which are not consumed. An option whose arguments are missing is skipped
silently. Last one wins, side effects (pivot, convention) included. Unknown tokens are ignored.

`Options` keeps the raw values in internal units (metres, radians) with the C sentinels
(-1 = unset count/step/range, NaN = unset position). `given` names the fields set on the command
line, so `-img`/`-mask` header values (applied before the main pass in C) can be merged later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from .geometry import div
from .cparse import RTD, atof, atoi

NAN = math.nan
DEFAULT_FLUENCE = 125932015286227086360700780544.0


@dataclass(frozen=True)
class Options:
    given: frozenset = frozenset()       # Options fields set by the command line
    # inputs
    img_file: str | None = None
    mask_file: str | None = None
    matfile: str | None = None
    hklfile: str | None = None
    dumpfile: str = "Fdump.bin"
    sourcefile: str | None = None
    stolfile: str | None = None
    stol_mult: float = 1e10
    # crystal
    user_cell: bool = False
    cell_a: Any = 0.0                    # Å
    cell_b: Any = 0.0
    cell_c: Any = 0.0
    cell_alpha: Any = 0.0                # rad (0 = default 90°)
    cell_beta: Any = 0.0
    cell_gamma: Any = 0.0
    misset_mode: str | None = None       # None, 'angles' or 'random' (last one wins)
    misset_x: Any = 0.0                  # rad
    misset_y: Any = 0.0
    misset_z: Any = 0.0
    misset_seed: int | None = None       # C idum; None = -time(NULL)
    Na: int = 1
    Nb: int = 1
    Nc: int = 1
    sample_x: Any = 0.0                  # m
    sample_y: Any = 0.0
    sample_z: Any = 0.0
    density: float = 1.0e6               # g/m³, no effect
    molecular_weight: float = 18.0       # no effect
    xtal_shape: str = "SQUARE"
    fudge: Any = 1.0
    # structure factors
    default_F: Any = 0.0
    interpolate: int | None = None       # None = automatic, 0 or 1 forced
    # beam
    lambda0: Any = 1.0e-10               # m
    dispersion: Any = 0.0                # fraction
    dispsteps: int = -1
    hdivrange: Any = -1.0                # rad
    vdivrange: Any = -1.0
    hdivstep: Any = -1.0
    vdivstep: Any = -1.0
    hdivsteps: int = -1
    vdivsteps: int = -1
    round_div: bool = True
    polar_K: Any = 0.0
    nopolar: bool = False
    polar_vector: tuple | None = None
    beam_vector: tuple | None = None
    fluence: Any = DEFAULT_FLUENCE       # photons/m²
    flux: Any = 0.0                      # photons/s
    exposure: Any = 1.0                  # s
    beamsize: Any = 1e-4                 # m
    water_size: Any = 0.0                # m
    coherent: bool = False
    # detector
    pixel: Any = 1e-4                    # m
    fpixels: int = 0
    spixels: int = 0
    detsize_f: Any = 0.1024              # m
    detsize_s: Any = 0.1024
    distance: Any = 0.1                  # m
    close_distance: Any = NAN            # m
    Xbeam: Any = NAN                     # m
    Ybeam: Any = NAN
    Xclose: Any = NAN
    Yclose: Any = NAN
    ORGX: Any = NAN                      # pixels
    ORGY: Any = NAN
    detector_rotx: Any = 0.0             # rad
    detector_roty: Any = 0.0
    detector_rotz: Any = 0.0
    twotheta: Any = 0.0                  # rad
    twotheta_axis: tuple | None = None
    fdet_vector: tuple | None = None
    sdet_vector: tuple | None = None
    odet_vector: tuple | None = None
    pix0_vector: tuple | None = None     # raw numbers as typed
    pix0_vector_mm: bool = False         # the last pix0 flag was -pix0_vector_mm
    curved_det: bool = False
    point_pixel: bool = False
    detector_mu: Any = -1.0              # 1/m; -1 unset
    detector_thick: Any = 0.0            # m
    detector_thicksteps: int = -1
    convention: str = "MOSFLM"
    pivot: str = "BEAM"
    # rotation, mosaic
    phi0: Any = 0.0                      # rad
    osc: Any = -1.0                      # rad
    phistep: Any = -1.0                  # rad
    phisteps: int = -1
    spindle_axis: tuple | None = None
    mosaic_spread: Any = -1.0            # rad
    mosaic_domains: int = -1
    mosaic_seed: int = -12345678
    # sampling
    oversample: int = -1
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    roi: tuple = (-1, -1, -1, -1)        # xmin xmax ymin ymax (fast, fast, slow, slow)
    dmin: Any = 0.0                      # m
    # outputs
    floatfile: str = "floatimage.bin"
    intfile: str = "intimage.img"
    pgmfile: str = "image.pgm"
    noisefile: str = "noiseimage.img"
    write_pgm: bool = True
    write_noise: bool = True
    scale: float = 0.0
    pgmscale: float = 0.0
    adc: float = 40.0
    stolout: str | None = None
    seed: int | None = None              # C idum; None = -time(NULL)
    printout: bool = False
    printout_pixel: tuple = (-1, -1)     # (fast, slow)
    progress: bool = True
    trace_pixel: tuple | None = None     # (slow, fast)
    argv: tuple = ()                     # the tokens parsed (so C-ARGV-001's trigger can re-parse them)
    r1_matching: bool = True             # parsed with R1 option matching (quirk C-ARGV-001 on)


OUTPUT_FIELDS = frozenset({"floatfile", "intfile", "pgmfile", "noisefile", "stolout"})
# fields that describe the parse itself, not the configuration it produced
PARSE_FIELDS = frozenset({"given", "argv", "r1_matching"})


OPTION_FIELDS = frozenset(f.name for f in fields(Options))


def parse_argv(argv: list[str], r1: bool = True) -> Options:
    """Parse a nanoBragg argument vector (without the program name) exactly as the C does.

    `r1` selects the option matching of the C line (quirk C-ARGV-001, spec §12): True = R1 (bl831,
    c_reference's default: `-misset` by substring, `-dump`); False = R2 (the instrumented golden copy:
    exact `-misset`, no `-dump`, `-dump_pixel S F` traces like `-trace_pixel`)."""
    args = ["nanoBragg"] + [str(a) for a in argv]  # C indexing: argv[0] is the program
    argc = len(args)
    v: dict[str, Any] = {}

    def put(**kw):
        v.update(kw)

    # pre-scan (§1.1.1): -img / -mask anywhere in a '-' token, last one wins
    for i in range(1, argc):
        tok = args[i]
        if tok.startswith("-") and argc > i + 1:
            if "-img" in tok:
                put(img_file=args[i + 1])
            if "-mask" in tok:
                put(mask_file=args[i + 1])

    for i in range(1, argc):
        tok = args[i]
        if not tok.startswith("-"):
            continue
        _parse_token(tok, i, args, argc, put, r1)

    given = frozenset(v)
    return replace(Options(), given=given, argv=tuple(args[1:]), r1_matching=bool(r1), **v)


def configuration(opts: Options, ignore=frozenset()) -> dict:
    """The configuration an Options describes: every field except the parse bookkeeping and `ignore`;
    `given` is kept for the remaining fields (a value set explicitly can matter, e.g. for headers)."""
    skip = PARSE_FIELDS | frozenset(ignore)
    out = {f.name: getattr(opts, f.name) for f in fields(Options) if f.name not in skip}
    out["given"] = frozenset(opts.given) - skip
    return out


def line_sensitive(argv: list[str]) -> bool:
    """True when R1 and R2 option matching (C-ARGV-001) parse argv to different configurations."""
    ignore = {"trace_pixel"}  # instrumentation, not configuration
    return (configuration(parse_argv(argv, r1=True), ignore)
            != configuration(parse_argv(argv, r1=False), ignore))


def _vec3(args, i):
    return (atof(args[i + 1]), atof(args[i + 2]), atof(args[i + 3]))


def _parse_token(tok: str, i: int, args: list[str], argc: int, put, r1: bool = True) -> None:
    """One token against the whole option chain, in the fixed C order. Returns early where C `continue`s."""
    n = len(tok)
    has1 = argc > i + 1
    has2 = argc > i + 2
    has3 = argc > i + 3
    nxt = args[i + 1] if has1 else ""

    def f(k=1):
        return atof(args[i + k])

    def d(k=1):
        return atoi(args[i + k])

    # ---- crystal size in cells (these end the chain)
    if "-Na" in tok and has1:
        put(Na=d())
        return
    if "-Nb" in tok and has1:
        put(Nb=d())
        return
    if "-Nc" in tok and has1:
        put(Nc=d())
        return
    if tok == "-N" and has1:
        put(Na=d(), Nb=d(), Nc=d())
        return
    # ---- cell: up to six values, stopping at a missing token or one that starts with '-'
    if "-cell" in tok and has1:
        put(user_cell=True)
        names = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
        for k, name in enumerate(names, start=1):
            if argc <= i + k or args[i + k].startswith("-"):
                break
            value = atof(args[i + k])
            put(**{name: value if k <= 3 else value / RTD})
    # ---- misset (R1: substring, so -misset_seed also fires here; R2: the exact token)
    is_misset = "-misset" in tok if r1 else tok == "-misset"
    if is_misset and has1 and "rand" in nxt:
        put(misset_mode="random")
        return
    if is_misset and has3:
        put(misset_mode="angles", misset_x=f(1) / RTD, misset_y=f(2) / RTD, misset_z=f(3) / RTD)
    if "-misset_seed" in tok and has1:
        put(misset_seed=-d())
    if "-mat" in tok and has1:
        put(matfile=nxt)
    if "-hkl" in tok and has1:
        put(hklfile=nxt)
    if r1 and "-dump" in tok and has1:  # R1 only: -dump_pixel also renames the cache
        put(dumpfile=nxt)
    if "-default_F" in tok and has1:
        put(default_F=f())
    if "-interpolate" in tok:
        put(interpolate=1)
    if "-nointerpolate" in tok:
        put(interpolate=0)
    # ---- sample size (mm)
    if ("-xtalsize" in tok or "-xtal_size" in tok or "-samplesize" in tok or "-sample_size" in tok) and has1:
        s = f() / 1000.0
        put(sample_x=s, sample_y=s, sample_z=s)
    if ("-xtal_thick" in tok or "-xtal_x" in tok or "-sample_thick" in tok or "-sample_x" in tok) and has1:
        put(sample_x=f() / 1000.0)
    if ("-xtal_width" in tok or "-xtal_y" in tok or "-sample_width" in tok or "-sample_y" in tok
            or "-width" in tok) and has1:
        put(sample_y=f() / 1000.0)
    if ("-xtal_heigh" in tok or "-xtal_z" in tok or "-sample_heigh" in tok or "-sample_z" in tok
            or "-heigh" in tok) and has1:
        put(sample_z=f() / 1000.0)
    if ("-density" in tok or "-sample_den" in tok) and has1:
        put(density=f() * 1e6)
    if (tok == "-MW" or "-molec" in tok) and has1:
        put(molecular_weight=f())
    if "-square_xtal" in tok:
        put(xtal_shape="SQUARE")
    if "-round_xtal" in tok:
        put(xtal_shape="ROUND")
    if "-gauss_xtal" in tok:
        put(xtal_shape="GAUSS")
    if "-binary_spots" in tok or "-tophat_spots" in tok:
        put(xtal_shape="TOPHAT")
    if "-fudge" in tok and has1:
        put(fudge=f())
    # ---- beam
    if ("-lambda" in tok or "-wave" in tok) and has1:
        put(lambda0=f() / 1.0e10)
    if "-energy" in tok and has1:
        put(lambda0=div(12398.42, f()) / 1.0e10)   # -energy 0 gives inf, as in C
    if "-dispersion" in tok and has1:
        put(dispersion=f() / 100.0)
    if "-dispsteps" in tok and has1:
        put(dispsteps=d())
    if "-divergence" in tok and has1:
        put(hdivrange=f() / 1000.0, vdivrange=f() / 1000.0)
    if "-hdivrange" in tok and has1:
        put(hdivrange=f() / 1000.0)
    if "-vdivrange" in tok and has1:
        put(vdivrange=f() / 1000.0)
    if "-hdivstep" in tok and n == 9 and has1:
        put(hdivstep=f() / 1000.0)
    if "-vdivstep" in tok and n == 9 and has1:
        put(vdivstep=f() / 1000.0)
    if "-hdivsteps" in tok and has1:
        put(hdivsteps=d())
    if "-vdivsteps" in tok and has1:
        put(vdivsteps=d())
    if "-divsteps" in tok and has1:
        put(hdivsteps=d(), vdivsteps=d())
    if "-round_div" in tok:
        put(round_div=True)
    if "-square_div" in tok:
        put(round_div=False)
    if "-sourcefile" in tok and has1:
        put(sourcefile=nxt)
    if "-polar" in tok and n == 6 and has1:
        put(polar_K=f(), nopolar=False)
    if "-nopolar" in tok:
        put(nopolar=True)
    if "-polar_vector" in tok and has3:
        put(polar_vector=_vec3(args, i), convention="CUSTOM")
    if "-beam_vector" in tok and has3:
        put(beam_vector=_vec3(args, i), convention="CUSTOM")
    if "-fluence" in tok and has1:
        put(fluence=f())
    if "-flux" in tok and has1:
        put(flux=f())
    if "-exposure" in tok and has1:
        put(exposure=f())
    if "-beamsize" in tok and has1:
        put(beamsize=f() / 1000.0)
    if "-water" in tok and has1:
        put(water_size=f() / 1e6)
    if "-coherent" in tok:
        put(coherent=True)
    # ---- detector
    if "-pixel" in tok and has1:
        put(pixel=f() / 1000.0)
    if "-detpixels" in tok and n == 10 and has1:
        put(fpixels=d(), spixels=d())
    if ("-detpixels_f" in tok or "-detpixels_x" in tok) and has1:
        put(fpixels=d())
    if ("-detpixels_s" in tok or "-detpixels_y" in tok) and has1:
        put(spixels=d())
    if "-detsize" in tok and n == 8 and has1:
        put(detsize_f=f() / 1000.0, detsize_s=f() / 1000.0)
    if "-detsize_f" in tok and has1:
        put(detsize_f=f() / 1000.0)
    if "-detsize_s" in tok and has1:
        put(detsize_s=f() / 1000.0)
    if "-distance" in tok and has1:
        put(distance=f() / 1000.0, pivot="BEAM")
    if "-close_distance" in tok and has1:
        put(close_distance=f() / 1000.0, pivot="SAMPLE")
    if "-Xbeam" in tok and has1:
        put(Xbeam=f() / 1000.0, pivot="BEAM")
    if "-Ybeam" in tok and has1:
        put(Ybeam=f() / 1000.0, pivot="BEAM")
    if "-Xclose" in tok and has1:
        put(Xclose=f() / 1000.0, pivot="SAMPLE")
    if "-Yclose" in tok and has1:
        put(Yclose=f() / 1000.0, pivot="SAMPLE")
    if "-ORGX" in tok and has1:
        put(ORGX=f(), pivot="SAMPLE")
    if "-ORGY" in tok and has1:
        put(ORGY=f(), pivot="SAMPLE")
    if "-detector_rotx" in tok and has1:
        put(detector_rotx=f() / RTD)
    if "-detector_roty" in tok and has1:
        put(detector_roty=f() / RTD)
    if "-detector_rotz" in tok and has1:
        put(detector_rotz=f() / RTD)
    if "-twotheta" in tok and has1:  # -twotheta_axis fires here too (§1.12)
        put(twotheta=f() / RTD, pivot="SAMPLE")
    if "-twotheta_axis" in tok and has3:
        put(twotheta_axis=_vec3(args, i), convention="CUSTOM")
    if "-fdet_vector" in tok and has3:
        put(fdet_vector=_vec3(args, i), convention="CUSTOM")
    if "-sdet_vector" in tok and has3:
        put(sdet_vector=_vec3(args, i), convention="CUSTOM")
    if "-odet_vector" in tok and has3:
        put(odet_vector=_vec3(args, i), convention="CUSTOM")
    if "-pix0_vector" in tok and has3:  # -pix0_vector_mm by substring; record which one came last
        put(pix0_vector=_vec3(args, i), pix0_vector_mm="-pix0_vector_mm" in tok, convention="CUSTOM")
    if "-curved_det" in tok and has1:  # C checks argc > i+1: ignored as the last token
        put(curved_det=True)
    if "-point_pixel" in tok:
        put(point_pixel=True)
    if "-detector_abs" in tok and has1:  # C: argc >= i+1 (reads NULL at the end); we skip instead
        if "inf" in nxt or atof(nxt) == 0.0:
            put(detector_thick=0.0, detector_mu=0.0)
        else:
            put(detector_mu=div(1.0, atof(nxt) * 1.0e-6))   # a tiny value underflows to 0: inf
    if "-detector_thick" in tok and n == 15 and has1:
        put(detector_thick=f() * 1.0e-6)
    if ("-detector_thicksteps" in tok or "-thicksteps" in tok) and has1:
        put(detector_thicksteps=d())
    # ---- conventions and pivot
    if "-mosflm" in tok:
        put(convention="MOSFLM", pivot="BEAM")
    if "-xds" in tok:
        put(convention="XDS", pivot="SAMPLE")
    if "-adxv" in tok:
        put(convention="ADXV", pivot="BEAM")
    if "-denzo" in tok:
        put(convention="DENZO", pivot="BEAM")
    if "-dials" in tok:
        put(convention="DIALS", pivot="SAMPLE")
    if "-pivot" in tok and has1:
        if "sample" in nxt:
            put(pivot="SAMPLE")
        if "beam" in nxt:
            put(pivot="BEAM")
    # ---- rotation and mosaic
    if "-phi" in tok and n == 4 and has1:
        put(phi0=f() / RTD)
    if "-osc" in tok and has1:
        put(osc=f() / RTD)
    if "-phistep" in tok and n == 8 and has1:
        put(phistep=f() / RTD)
    if "-phisteps" in tok and has1:
        put(phisteps=d())
    if "-spindle_axis" in tok and has3:
        put(spindle_axis=_vec3(args, i), convention="CUSTOM")
    if (tok == "-mosaic" or "-mosaici" in tok or "-mosaic_spr" in tok) and has1:
        put(mosaic_spread=f() / RTD)
    if "-mosaic_dom" in tok and has1:
        put(mosaic_domains=d())
    if "-mosaic_seed" in tok and has1:
        put(mosaic_seed=-d())
    # ---- sampling (the three flags end the chain so -oversample does not read a value)
    if "-oversample_thick" in tok:
        put(oversample_thick=True)
        return
    if "-oversample_polar" in tok:
        put(oversample_polar=True)
        return
    if "-oversample_omega" in tok:
        put(oversample_omega=True)
        return
    if "-oversample" in tok and has1:
        put(oversample=d())
    if "-roi" in tok and argc > i + 4:
        put(roi=(d(1), d(2), d(3), d(4)))
    if "-dmin" in tok and has1:
        put(dmin=f() * 1e-10)
    # ---- outputs
    if ("-floatfile" in tok or "-floatimage" in tok) and has1:
        put(floatfile=nxt)
    if ("-intfile" in tok or "-intimage" in tok) and has1:
        put(intfile=nxt)
    if ("-pgmfile" in tok or "-pgmimage" in tok) and has1:
        put(pgmfile=nxt, write_pgm=True)
    if ("-noisefile" in tok or "-noiseimage" in tok) and has1:
        put(noisefile=nxt, write_noise=True)
    if "-nonoise" in tok:
        put(write_noise=False)
    if "-nopgm" in tok:
        put(write_pgm=False)
    if "-scale" in tok and has1:
        put(scale=f())
    if "-pgmscale" in tok and has1:
        put(pgmscale=f(), write_pgm=True)
    if "-adc" in tok and has1:
        put(adc=f())
    if "-stolout" in tok and n > 7 and has1:
        put(stolout=nxt)
    if "-seed" in tok and has1:
        put(seed=-d())
    # ---- misc
    if "-img" in tok and has1:
        put(img_file=nxt)
    if "-mask" in tok and has1:
        put(mask_file=nxt)
    if "-printout" in tok:
        put(printout=True)
    if "-printout_pixel" in tok and has2:
        put(printout_pixel=(d(1), d(2)), printout=True)
    if "-noprogress" in tok:
        put(progress=False)
    if "-progress" in tok:
        put(progress=True)
    if "-stol" in tok and n == 5 and has1:
        put(stolfile=nxt, stol_mult=1e10)
    if "-4stol" in tok and n == 6 and has1:
        put(stolfile=nxt, stol_mult=1e10 / 4)
    if "-Q" in tok and n == 2 and has1:
        put(stolfile=nxt, stol_mult=1e10 / math.pi / 4)
    if ("-trace_pixel" in tok or (not r1 and "-dump_pixel" in tok)) and has2:  # (slow, fast)
        put(trace_pixel=(d(1), d(2)))
