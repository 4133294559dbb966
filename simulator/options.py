"""`Options`: a nanoBragg command line as parsed (spec §1), before any derivation.

Raw values in internal units (metres, radians) with the C sentinels (-1 = unset count/step/range,
NaN = unset position). `given` names the fields set on the command line, so `-img`/`-mask` header
values (applied before the main pass in C) can be merged later."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from .constants import DEFAULT_FLUENCE

NAN = math.nan


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
