"""Parse-preserving placement of the harness's own tokens (`-roi …`, `-trace_pixel S F`, output names).

The C parses by substring and reads values from the following tokens without consuming them, so tokens
appended after a user's argv can change what the user's tokens mean: under R1, `-misset_seed 3` then
`-trace_pixel 23 3` sets misset angles (3, 0, 23). Before the harness runs an argv it has changed, it
proves with the simulator's parser (simulator/argv.py, the C rules) that the new argv parses to the
user's configuration except for the region, the trace pixel and output names, under every C line asked
for. Positions tried: appended (the harness's -roi then beats a user's), prepended, then every boundary
from the end backwards. Where none holds, the region is dropped (full frame, trace pixel only), and if
even the trace pixel cannot be placed, nothing is added; `reason` says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LINES = ("R1", "R2")                 # R1: C-ARGV-001 on (c_reference); R2: the instrumented golden copy
OUTPUT_FLAGS = {"-floatfile": "floatfile", "-intfile": "intfile", "-pgmfile": "pgmfile",
                "-noisefile": "noisefile"}


@dataclass(frozen=True)
class Placement:
    argv: list                        # what runs
    roi: tuple | None                 # the region placed (None: full frame)
    trace_pixel: tuple | None         # the trace pixel placed (None: could not be placed / not asked)
    where: str                        # "appended", "prepended", "inserted before token N", "not placed"
    lines: tuple = LINES              # C lines the parse was verified under
    reason: str = ""                  # why a requested region or trace pixel was not placed
    outputs: dict = field(default_factory=dict)

    @property
    def narrowed(self) -> bool:
        return self.roi is not None

    def to_dict(self) -> dict:
        return {"where": self.where, "roi": list(self.roi) if self.roi else None,
                "trace_pixel": list(self.trace_pixel) if self.trace_pixel else None,
                "lines_verified": list(self.lines), "reason": self.reason}


def _tokens(roi, trace_pixel, outputs) -> list[str]:
    out: list[str] = []
    for flag, name in (outputs or {}).items():
        out += [flag, str(name)]
    if roi is not None:
        out += ["-roi", *(str(int(v)) for v in roi)]
    if trace_pixel is not None:
        out += ["-trace_pixel", str(int(trace_pixel[0])), str(int(trace_pixel[1]))]
    return out


def preserves_parse(user: list[str], candidate: list[str], *, roi=None, trace_pixel=None, outputs=None,
                    lines=LINES) -> bool:
    """True when `candidate` parses, under every line, to the user's configuration except the region,
    trace pixel and output names, and to exactly the region / trace pixel / outputs asked for."""
    from simulator.argv import OUTPUT_FIELDS, configuration, parse_argv

    ignore = OUTPUT_FIELDS | {"roi", "trace_pixel"}
    for line in lines:
        r1 = line == "R1"
        u, c = parse_argv(user, r1=r1), parse_argv(candidate, r1=r1)
        if configuration(c, ignore) != configuration(u, ignore):
            return False
        if tuple(c.roi) != (tuple(int(v) for v in roi) if roi is not None else tuple(u.roi)):
            return False
        if trace_pixel is not None and tuple(c.trace_pixel or ()) != tuple(int(v) for v in trace_pixel):
            return False
        for flag, name in (outputs or {}).items():
            if getattr(c, OUTPUT_FLAGS[flag]) != str(name):
                return False
        for fld in OUTPUT_FIELDS - {OUTPUT_FLAGS[f] for f in (outputs or {})}:
            if getattr(c, fld) != getattr(u, fld):  # an output the harness did not name stays the user's
                return False
    return True


def _positions(n: int):
    yield n, "appended"
    if n:
        yield 0, "prepended"
    for p in range(n - 1, 0, -1):
        yield p, f"inserted before token {p}"


def _try(argv, tokens, lines, **want):
    for pos, where in _positions(len(argv)):
        cand = argv[:pos] + tokens + argv[pos:]
        if preserves_parse(argv, cand, lines=lines, **want):
            return cand, where
    return None, None


def place(argv: list[str], *, roi=None, trace_pixel=None, outputs=None, lines=LINES) -> Placement:
    """Add the harness tokens to `argv` without changing its parse (see the module docstring)."""
    argv = [str(t) for t in argv]
    lines = tuple(lines)
    roi = tuple(int(v) for v in roi) if roi is not None else None
    tp = tuple(int(v) for v in trace_pixel) if trace_pixel is not None else None
    outputs = dict(outputs or {})
    if roi is None and tp is None and not outputs:
        return Placement(list(argv), None, None, "nothing added", lines)
    cand, where = _try(argv, _tokens(roi, tp, outputs), lines, roi=roi, trace_pixel=tp, outputs=outputs)
    if cand is not None:
        return Placement(cand, roi, tp, where, lines, "", outputs)
    what = " ".join(_tokens(roi, tp, outputs))
    reason = (f"adding `{what}` anywhere in the argv changes how it parses (under "
              f"{' and '.join(lines)} option matching)")
    if roi is not None:  # the full frame needs no -roi: keep the trace pixel (and outputs) if possible
        cand, where = _try(argv, _tokens(None, tp, outputs), lines, trace_pixel=tp, outputs=outputs)
        if cand is not None:
            return Placement(cand, None, tp, where, lines, reason + "; running the full frame instead", outputs)
    return Placement(list(argv), None, None, "not placed", lines, reason + "; nothing was added", {})


def with_pixel(argv: list[str], slow: int, fast: int, roi=None, lines=LINES) -> list[str]:
    """Drop-in for nbparity.runners.with_pixel: the placed argv (full frame where -roi cannot be placed).
    Raises UsageError when not even the trace pixel can be placed."""
    from nbparity.errors import UsageError

    p = place(argv, roi=roi, trace_pixel=(slow, fast), lines=lines)
    if p.trace_pixel is None:
        raise UsageError(f"cannot trace this argv: {p.reason}")
    return p.argv
