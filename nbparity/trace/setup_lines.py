"""The instrumented C's free-text setup echo (`TRACE:` lines) and its `DETECTOR_*` lines, read as values of
the section "setup" (issue 22 item 2), keyed by quantity and stage:

    TRACE: Converting real-space vectors from Angstroms to meters:        <- a header (ends with ':')
    TRACE:   Before conversion: b = [-11.4987, 0.71732, -29.1132] |b| = 31.31 Angstroms
        -> setup keys `before_conversion/b` (3 components) and `before_conversion/|b|`
    TRACE:     a_star = [0.02, 0, 0]        (under "Input vectors for cross products:")
        -> `input_vectors_for_cross_products/a_star`
    TRACE:   V_star = a_star . (b_star x c_star) = 4.7619e-06   -> `reciprocal_cell_volume_calculation/V_star`
    DETECTOR_PIX0_VECTOR 0.0988 0.0085 -0.0084                  -> `DETECTOR_PIX0_VECTOR`

The stage is the line's own label (`Before conversion:`) or else the innermost header above it (headers nest
by indentation). Expressions between a name and its value are not values. Units convert through
traces/units.toml. A line that is neither a header nor `name = value` is kept aside.

    SetupReader().line(text) -> list[(key, [(raw, value)], unit)] | None   (None: not a value line)
"""

from __future__ import annotations

import re

from nbparity.trace.layouts import _assignments, read_body, share_unit

_LABEL = re.compile(r"^(?P<label>[^=:]+?):\s+(?=[^=]*=)")
_DETECTOR = re.compile(r"^(?P<key>DETECTOR_[A-Z0-9_]+)\s+(?P<body>\S.*)$")


def slug(text: str) -> str:
    """'Copying vectors to a0, b0, c0 (phi=0 mosaic=0 reference)' -> 'copying_vectors_to_a0_b0_c0'."""
    text = re.sub(r"\([^)]*\)", " ", text)
    return re.sub(r"[^\w]+", "_", text.strip()).strip("_").lower()


def quantity(name: str) -> str:
    """A printed name as a key: `a_star x b_star` -> `a_star_x_b_star`, `|b|` and `r_e^2` kept."""
    name = re.sub(r"\s*\(([^)]*)\)", lambda m: "_" + m.group(1), name.strip())
    return re.sub(r"[^\w|^*/.-]+", "_", name).strip("_")


class SetupReader:
    """Keeps the header stack of one log; `line` reads one `TRACE:` body or one `DETECTOR_*` line."""

    def __init__(self):
        self.headers: list[tuple[int, str]] = []   # (indent, stage slug)

    def stage(self, indent: int) -> str:
        while self.headers and self.headers[-1][0] >= indent:
            self.headers.pop()
        return self.headers[-1][1] if self.headers else ""

    def detector(self, text: str):
        m = _DETECTOR.match(text.strip())
        if m is None:
            return None
        items = read_body(m["body"])
        if items[0].text:
            return None
        return [(m["key"], items[0].parts, items[0].unit)]

    def line(self, body: str):
        """body: what follows `TRACE:`. Returns [(key, parts, unit)], [] for a header, None otherwise."""
        indent = len(body) - len(body.lstrip())
        text = body.strip()
        stage = self.stage(indent)
        if text.endswith(":") and "=" not in re.sub(r"\([^)]*\)", "", text):
            self.headers.append((indent, slug(text[:-1])))
            return []
        m = _LABEL.match(text)
        if m is not None:
            stage, text = slug(m["label"]), text[m.end():]
        items = _assignments(text) if "=" in text else None
        if not items:
            return None
        out = []
        for it in share_unit(items):
            if it.text:
                continue
            key = quantity(it.name or "")
            out.append((f"{stage}/{key}" if stage else key, it.parts, it.unit))
        return out or None
