"""Values that make the computation meaningless, refused with a usage error naming the option.

The C takes them and prints NaN (or an image of one constant) where a number should be: `-lambda 0`
divides by a zero wavelength, `-energy 0` gives an infinite one, a `-cell` whose angles close no
parallelepiped has an imaginary volume. Values the spec gives a meaning (`-N 0` is `-N 1`, `-oversample
0` is automatic, `-pixel 0` exits 9 in the C too) are left to the normal rules.
"""

from __future__ import annotations

import math

from .constants import A_PER_M
from .model import SimulatorError


class BadValue(SimulatorError):
    """A physically meaningless option value: one line, exit 2 (bad input)."""

    exit_code = 2


def _num(x) -> float:
    """A Python float of an option value (a 0-dim tensor that may require grad included)."""
    return float(x.detach()) if hasattr(x, "detach") else float(x)


def _last_flag(argv, names) -> tuple[str, str] | None:
    """The last argv token containing one of `names` (the C's substring rule) and its value token."""
    for i in range(len(argv) - 2, -1, -1):
        tok = argv[i]
        if tok.startswith("-") and any(n in tok for n in names):
            return tok, argv[i + 1]
    return None


def _flag_text(opts, names, what) -> str:
    hit = _last_flag(list(getattr(opts, "argv", ()) or ()), names)
    return f"{hit[0]} {hit[1]}" if hit else what


def check(opts) -> None:
    """Raise BadValue for the first meaningless value of an Options (after the header merge)."""
    lam = _num(opts.lambda0)
    if not (math.isfinite(lam) and lam > 0):
        flag = _flag_text(opts, ("-lambda", "-wave", "-energy"), "the image header's wavelength")
        raise BadValue(f"{flag}: the wavelength must be a positive finite number (got {lam * A_PER_M:g} Å)")
    if getattr(opts, "user_cell", False) and _num(opts.cell_a) != 0.0:
        angles = [_num(x) or math.pi / 2 for x in (opts.cell_alpha, opts.cell_beta, opts.cell_gamma)]
        if not all(math.isfinite(x) for x in angles):
            return   # non-finite angles follow libm's NaN rules, as in the C (spec §1.1.6)
        ca, cb, cg = (math.cos(x) for x in angles)
        v2 = 1.0 - ca * ca - cb * cb - cg * cg + 2.0 * ca * cb * cg   # (V / abc)²
        if not (v2 > 0.0):
            flag = _flag_text(opts, ("-cell",), "-cell")
            raise BadValue(f"{flag.split()[0]}: the angles {', '.join(f'{math.degrees(x):g}' for x in angles)}° "
                           "describe no unit cell (zero or imaginary volume)")
