"""How a full-image comparison is run: the placed argv (the harness ROI, where one can be placed without
changing the parse), the torch quirk mode following the C line, the frame and the region measured.

The C line is handled as compare handles it (nbparity.session.Session.plan_pixel): where the argv parses
differently under the two lines (C-ARGV-001) the line is probed before either side runs, and the torch
side follows it; otherwise both lines parse the argv the same and the line is read from the C output."""

from __future__ import annotations

from dataclasses import dataclass, field

from nbparity import cline, placement
from nbparity.errors import UsageError
from nbparity.session import derive


@dataclass(frozen=True)
class ImagePlan:
    argv: list                     # what both sides run: the case's argv with the ROI placed
    mode: str                      # the torch quirk mode (the C line followed where it changes the parse)
    enabled: frozenset             # the quirk ids that mode emulates
    c_line: dict | None            # probed before the run where it decides the parse, else None
    placement: dict                # nbparity.placement.Placement.to_dict() (empty without --roi)
    shape: tuple                   # (spixels, fpixels) of the frame
    crop: tuple                    # (ymin, ymax, xmin, xmax) inclusive: the rendered region measured
    warnings: tuple = field(default_factory=tuple)

    @property
    def region(self) -> dict:
        y0, y1, x0, x1 = self.crop
        return {"xmin": x0, "xmax": x1, "ymin": y0, "ymax": y1}


def check_roi(roi) -> tuple | None:
    """--roi XMIN XMAX YMIN YMAX as ints (UsageError, exit 2, when it is not a region)."""
    if roi is None:
        return None
    xmin, xmax, ymin, ymax = (int(v) for v in roi)
    if xmin > xmax or ymin > ymax or min(xmin, xmax, ymin, ymax) < 0:
        raise UsageError(f"--roi {xmin} {xmax} {ymin} {ymax}: need 0 <= xmin <= xmax and 0 <= ymin <= ymax")
    return (xmin, xmax, ymin, ymax)


def effective_crop(setup, shape) -> tuple:
    """The rendered region (setup.roi clipped to the frame) as (ymin, ymax, xmin, xmax) inclusive."""
    s, f = shape
    xmin, xmax, ymin, ymax = (int(v) for v in setup.roi)
    y0, y1 = max(0, ymin), min(s - 1, ymax)
    x0, x1 = max(0, xmin), min(f - 1, xmax)
    if y0 > y1 or x0 > x1:
        raise UsageError(f"the ROI {xmin} {xmax} {ymin} {ymax} lies outside the {f}x{s} detector")
    return (y0, y1, x0, x1)


def plan_image(session, roi=None) -> ImagePlan:
    """Validate the argv (bad values are exit 2 before anything runs), follow the C line, place the ROI."""
    roi = check_roi(roi)
    mode = session.base_mode
    derive(session.case_argv, mode, session.py_dir)      # bad input fails here, before either side runs
    c_line = session.c_line_before_run(session.case_argv)
    warnings = []
    if c_line is not None:
        if session.torch.external:
            warnings.append(f"this argv parses differently under the two C lines (C-ARGV-001); "
                            f"{c_line['text']}; the port must match options as that line does")
        else:
            mode = cline.torch_mode(mode, c_line["line"])
    lines = placement.LINES if c_line is None else tuple(sorted({c_line["line"], cline.line_of_mode(mode)}))
    placed = placement.place(session.case_argv, roi=roi, lines=lines)
    if roi is not None and placed.reason:
        warnings.append(f"--roi not applied: {placed.reason}")
    setup, enabled = derive(placed.argv, mode, session.py_dir)
    shape = (int(setup.spixels), int(setup.fpixels))
    return ImagePlan(list(placed.argv), mode, frozenset(enabled), c_line,
                     placed.to_dict() if roi is not None else {}, shape, effective_crop(setup, shape),
                     tuple(warnings))
