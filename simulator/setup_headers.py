"""`-img` / `-mask` header values under the command line (spec §1.1.2, §2.6): the C reads the headers
before its main option pass, so a value given on the command line wins."""

from __future__ import annotations

import math
import os
from dataclasses import fields

from .constants import A_PER_M, MM_PER_M, RTD
from .options import Options
from .readers import read_smv


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
        vals["pixel"] = px / MM_PER_M
    vals["detsize_f"] = vals["pixel"] * vals["fpixels"]
    vals["detsize_s"] = vals["pixel"] * vals["spixels"]
    for key, name, conv in (("DISTANCE", "distance", lambda x: x / MM_PER_M),
                            ("CLOSE_DISTANCE", "close_distance", lambda x: x / MM_PER_M),
                            ("WAVELENGTH", "lambda0", lambda x: x / A_PER_M),
                            ("BEAM_CENTER_X", "Xbeam", lambda x: x / MM_PER_M)):
        x = get(key)
        if x is not None:
            vals[name] = conv(x)
    y = get("BEAM_CENTER_Y")
    if y is not None:
        vals["Ybeam"] = vals["detsize_s"] - y / MM_PER_M if is_mask else y / MM_PER_M
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
