"""The frozen `Setup`: everything the kernel needs, derived from the command line (spec §1.14).

Units (internal, as in the C): metres, radians, metres of wavelength, photons/m², unless a comment
says otherwise. Scalars are Python floats (bit-exact C double arithmetic) or 0-dim torch float64
tensors when `derive(..., overrides=...)` was given tensors; vectors are 3-tuples of such scalars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Vec = tuple  # 3-tuple of float | 0-dim tensor


class SimulatorError(Exception):
    """An expected failure of the simulator with the exit status the C would use."""

    exit_code = 9

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(SimulatorError):
    """An input file is unreadable or malformed where the C exits 9 (one-line message)."""


class UsageExit(SimulatorError):
    """The C prints its usage text and exits 9 (missing -hkl/Fdump/default_F, or no cell)."""


@dataclass(frozen=True)
class Setup:
    # ---------------------------------------------------------------- detector
    fpixels: int                 # fast pixel count
    spixels: int                 # slow pixel count
    pixel: Any                   # pixel edge (m)
    detsize_f: Any               # detector size along fast (m)
    detsize_s: Any               # detector size along slow (m)
    distance: Any                # close_distance/r after §4.5 step 7 (m; may be negative)
    close_distance: Any          # P0·o read back (m), used in Ω
    pix0: Vec                    # P0, corner of pixel (0,0) (m)
    fdet: Vec                    # rotated fast axis (unit)
    sdet: Vec                    # rotated slow axis (unit)
    odet: Vec                    # rotated normal (unit)
    curved_det: bool
    point_pixel: bool
    oversample: int              # sub-pixels per axis (after auto selection)
    oversample_thick: bool
    oversample_polar: bool
    oversample_omega: bool
    thicksteps: int              # detector layers
    thickstep: Any               # layer thickness (m)
    detector_thick: Any          # sensor thickness (m)
    mu: Any                      # absorption coefficient (1/m)
    roi: tuple                   # (xmin, xmax, ymin, ymax) inclusive pixel indices (fast, fast, slow, slow)
    mask: Any                    # numpy uint16 (spixels_hdr*fpixels_hdr,) flat as read, or None
    convention: str              # ADXV MOSFLM DENZO XDS DIALS CUSTOM
    pivot: str                   # BEAM SAMPLE
    Fbeam: Any                   # beam spot along f (m), recomputed §4.5 step 7
    Sbeam: Any                   # beam spot along s (m)
    Fclose: Any                  # near point along f (m), recomputed §4.5 step 6
    Sclose: Any                  # near point along s (m)
    Xbeam: Any                   # convention-level beam centre (m), for headers
    Ybeam: Any                   # (m)
    ORGX: Any                    # near point in pixels (Fclose/pixel + 0.5)
    ORGY: Any
    dials_origin: Vec            # mm
    twotheta: Any                # two-theta angle (rad)
    twotheta_axis: Vec           # never normalized (as C)
    # -------------------------------------------------------------------- beam
    lambda0: Any                 # nominal wavelength (m)
    fluence: Any                 # photons/m²
    polar_K: Any                 # Kahn factor
    nopolar: bool
    polar_vector: Vec            # p (unit)
    beam: Vec                    # b, propagation direction source→sample (unit)
    source_dirs: list            # ŝ_j unit 3-tuples (incident direction is -ŝ)
    source_lambdas: list         # λ_j (m)
    dmin: Any                    # m; 0 = off
    water_size: Any              # m
    # ----------------------------------------------------------------- crystal
    a0: Vec                      # real-space a at φ=0 (m)
    b0: Vec
    c0: Vec
    a_star: Vec                  # reciprocal a* (1/Å), §3.6, never rotated
    b_star: Vec
    c_star: Vec
    Na: Any                      # whole numbers as doubles
    Nb: Any
    Nc: Any
    xtal_shape: str              # SQUARE ROUND GAUSS TOPHAT
    fudge: Any
    spindle: Vec                 # u (unit)
    phi0: Any                    # rad
    phistep: Any                 # rad
    phisteps: int
    osc: Any                     # rad
    mosaic_spread: Any           # rad (0 when no mosaic)
    mosaic_umats: list           # M 9-tuples, row-major; domain 0 identity
    # ------------------------------------------------------- structure factors
    hkl_grid: Any                # numpy float64 (range_h+1, range_k+1, range_l+1) or None
    h_min: int
    h_max: int
    k_min: int
    k_max: int
    l_min: int
    l_max: int
    hkls: int                    # entries read (0 = no data)
    default_F: Any
    interpolate: int             # 0/1 after the hkls==0 force-off
    # ----------------------------------------------------------- normalization
    steps: int                   # sources·domains·phisteps·oversample²
    # ----------------------------------------------------------------- outputs
    floatfile: str
    intfile: str
    pgmfile: str
    noisefile: str
    write_pgm: bool
    write_noise: bool
    scale: float                 # ≤0: automatic
    pgmscale: float              # ≤0: automatic
    adc: float
    seed: int                    # noise stream seed variable (C idum), negative re-initializes
    rng_state: tuple             # (iv tuple of 32 ints, iy) of the shared ran1 table after setup draws
    printout: bool
    printout_pixel: tuple        # (fast, slow), (-1, -1) when unset
    progress: bool
    # ------------------------------------------------------------------- misc
    quirks: frozenset = frozenset()   # the enabled quirk ids (registry spelling)
    messages: tuple = ()         # stdout lines setup would print, in order
    r2_echo: Any = field(default=None, compare=False, repr=False)  # trace_r2.Echo: R2's setup echo
    # extras (not in the contract's required list)
    r_factor: Any = 1.0          # b·o_r of §4.5 step 1 (ignores two-theta)
    cell_volume: Any = 0.0       # V_cell of §3.5 (Å³)
    misset: Vec = (0.0, 0.0, 0.0)  # misset angles applied (rad)
    source_weights: list = field(default_factory=list)  # stored, never used by C
    source_positions: list = field(default_factory=list)  # un-normalized positions (m), printout only
    mosaic_domains: int = 1
    sample_size: Vec = (0.0, 0.0, 0.0)  # crystal dimensions |a|Na, |b|Nb, |c|Nc (m)
    trace_pixel: Any = None      # (slow, fast) or None
    mask_shape: Any = None       # (spixels, fpixels) of the mask header, or None
    flux: Any = 0.0              # photons/s, informational
    exposure: Any = 1.0          # s
    beamsize: Any = 1e-4         # m
    hkl_source: str = ""         # 'hkl', 'dump' or '' (where F came from)
    options: Any = None          # the Options the setup came from (after header merge)

    @property
    def hkl_count(self) -> int:
        return self.hkls

    @property
    def sources(self) -> int:
        return len(self.source_dirs)

    def rendered(self, slow: int, fast: int) -> tuple[bool, str]:
        """Whether the C pixel loop renders (slow, fast): inside detector, inclusive ROI, unmasked."""
        if not (0 <= slow < self.spixels and 0 <= fast < self.fpixels):
            return False, f"pixel (slow {slow}, fast {fast}) is outside the {self.spixels}x{self.fpixels} detector"
        xmin, xmax, ymin, ymax = self.roi
        if fast < xmin or fast > xmax or slow < ymin or slow > ymax:
            return False, f"pixel (slow {slow}, fast {fast}) is outside the ROI fast {xmin}..{xmax}, slow {ymin}..{ymax}"
        if self.mask is not None:
            idx = slow * self.fpixels + fast
            if idx < len(self.mask) and int(self.mask[idx]) == 0:
                return False, f"pixel (slow {slow}, fast {fast}) is masked"
        return True, "rendered"
