"""Post-parse derivation in the exact order of spec §1.14: Options -> frozen Setup.

The setup is composed of four parts, each owning its Setup fields: the detector (setup_detector.py),
the beam (setup_beam.py), the crystal (setup_crystal.py) and the scan (setup_scan.py). Their steps
interleave in the C (messages and random draws come out in that order), so `derive` runs them in the
spec's order on one draft namespace and builds the Setup from the parts' fields.

All arithmetic follows the C evaluation order on Python floats (glibc `math`), or on 0-dim torch
tensors for the fields named in `overrides` (differentiable; never converted to float).
"""

from __future__ import annotations

import os
from dataclasses import replace
from types import SimpleNamespace

from . import setup_beam as beam
from . import setup_crystal as xtal
from . import setup_detector as detector
from . import setup_scan as scan
from .constants import MAX_PIXELS
from .model import InputError, Setup, UsageExit
from .options import OPTION_FIELDS, Options
from .quirks import as_quirks
from .sanity import check as check_values
from .setup_headers import merge_headers
from .trace_r2 import Echo

BANNER = "nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17"


class _Log:
    def __init__(self, sink):
        self.lines = []
        self.sink = sink

    def __call__(self, line: str):
        self.lines.append(line)
        if self.sink is not None:
            self.sink(line)


def derive(options: Options, quirks=frozenset(), cwd: str = ".", overrides=None, log=None,
           write_fdump: bool = True) -> Setup:
    """Options -> Setup in the order of spec §1.14. Raises UsageExit/InputError (exit 9) like C.
    `quirks`: a Quirks, a mode string or registry ids (unknown ids raise ValueError)."""
    quirks = as_quirks(quirks)
    say = _Log(log)
    o, mask_frame = _effective_options(options, overrides, cwd, say)
    st = SimpleNamespace(o=o, quirks=quirks, say=say, cwd=cwd, echo=Echo())
    detector.size(st)                       # 1. detector size (§4.1)
    beam.fluence(st)                        # 2. fluence, sample clipping, flux (§1.13.1)
    detector.close_point_and_roi(st)        # 3–4. close point, ROI (§4.2)
    detector.convention(st)                 # 5. convention block (§4.3)
    detector.normalize(st)                  # 6. normalization (§4.4)
    _banner_and_usage(st)                   # 7. banner, Fdump probe, usage check (§1.15)
    scan.phi(st)                            # 9. step logic (§8.1, §5.2, §8.4)
    beam.steps(st)
    detector.thickness(st)
    scan.mosaic(st)
    detector.place(st)                      # 10. detector geometry (§4.5)
    xtal.auto_interpolation(st)             # 11. automatic interpolation (§3.9)
    xtal.orientation(st)                    # 12. cell and orientation (§3)
    xtal.size_and_oversample(st)            # 13. crystal size and oversample (§3.8)
    xtal.structure_factors(st, write_fdump)  # 14–15. HKL / Fdump, stol (§2)
    beam.sources(st)                        # 16. sources (§5.3)
    scan.mosaic_domains(st)                 # 17. mosaic matrices (§8.4)
    return Setup(**detector.fields(st, mask_frame), **beam.fields(st), **xtal.fields(st), **scan.fields(st),
                 **_run_fields(st))


def _effective_options(options, overrides, cwd, say):
    """The options with overrides applied and -img/-mask headers merged under them, checked for
    meaningless values (a usage error naming the option, not NaN); and the mask frame."""
    if overrides:
        unknown = set(overrides) - OPTION_FIELDS
        if unknown:
            raise ValueError(f"unknown override field(s): {', '.join(sorted(unknown))}")
        options = replace(options, given=options.given | frozenset(overrides), **overrides)
    options, mask_frame = merge_headers(options, cwd, say)
    check_values(options)
    return options, mask_frame


def _banner_and_usage(st) -> None:
    """Step 7 (§1.15): the banner, the Fdump probe, and the C's usage exits (no structure factors, no
    cell, no pixels), then the convention and pivot messages."""
    o, say = st.o, st.say
    say(BANNER)
    st.dump_path = os.path.join(st.cwd, o.dumpfile)
    st.have_dump = (o.hklfile is None and os.path.isfile(st.dump_path) and os.access(st.dump_path, os.R_OK))
    if o.hklfile is None and not st.have_dump and o.default_F == 0:
        say("ERROR: no hkl file and no dump file to read.")
        raise UsageExit("no -hkl file, no readable dump file and -default_F 0 (C prints usage and exits 9)")
    if o.matfile is None and o.cell_a == 0:
        raise UsageExit("no -mat file and no -cell (C prints usage and exits 9)")
    fpixels, spixels = st.fpixels, st.spixels
    if not (fpixels > 0 and spixels > 0 and fpixels * spixels <= MAX_PIXELS):
        raise InputError(f"detector has no pixels or too many (fpixels={fpixels} spixels={spixels})")
    say(f"{st.convention.lower()} convention selected.")
    say("pivoting detector around sample" if st.pivot == "SAMPLE" else "pivoting detector around direct beam spot")


def _run_fields(st) -> dict:
    """The Setup fields that belong to the run rather than a part: oversample flags, outputs, noise
    seed and generator state, printout, quirks, messages."""
    o = st.o
    return dict(
        oversample_thick=o.oversample_thick, oversample_polar=o.oversample_polar,
        oversample_omega=o.oversample_omega, floatfile=o.floatfile, intfile=o.intfile, pgmfile=o.pgmfile,
        noisefile=o.noisefile, write_pgm=o.write_pgm, write_noise=o.write_noise, scale=o.scale,
        pgmscale=o.pgmscale, adc=o.adc, seed=st.rng.seeds["noise"], rng_state=st.rng.state(),
        printout=o.printout, printout_pixel=o.printout_pixel, progress=o.progress,
        quirks=st.quirks.ids, messages=tuple(st.say.lines), r2_echo=st.echo, trace_pixel=o.trace_pixel, options=o,
    )
