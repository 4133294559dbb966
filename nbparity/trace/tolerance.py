"""Two rules of the comparator's tolerance step that come from how a value was printed (issue 22 items 3-4).

    floors(keys, sections, classes, c, r, a, atol_override) -> atol per row
    printed_limit(c, hu_c, hu_py, r, a, exact) -> (limit per row, compared-at-printed-precision per row)

Floors. A key unknown to the schema (class `default`) gets the rtol of its class and an absolute floor of
that rtol times the key's own magnitude (its largest |value| on the C side, over its components and
occurrences; `rot_a_x`/`_y`/`_z` count as one quantity), never a fixed number. A known key keeps its class
floor, but never above that same rtol x magnitude (unless the C side prints it as all zeros): a floor calibrated for the class's unit (the scattering class's 1e-6 m^-1) must not hide
a 0.1 % change of the key printed in another unit (Å^-1, values ~1e-4). Two classes are exempt: their floor
is the sensitivity of the quantity to the last bit of its inputs, not a fraction of its own size
(`lattice`: near the zeros of sincg; `miller`: h = a·q cancels terms of size |a||q| ~ 100).
An --atol override is used as given.

Printed precision. A value printed with n significant digits cannot be checked beyond half a unit of its
last digit; two printed values of one number differ by at most the sum of their half-units. The limit is
the tolerance, or that sum when it is larger; such rows are flagged "compared at printed precision".
"""

from __future__ import annotations

import numpy as np

UNKNOWN = "default"
SENSITIVITY_FLOORS = frozenset({"lattice", "miller"})


def quantity(key: str) -> str:
    """The quantity a key prints: `rot_a_x`, `rot_a_y`, `rot_a_z` (a vector's components printed as keys of
    their own, as per-φ lines do) are one quantity `rot_a`; any other key is itself."""
    stem, sep, axis = str(key).rpartition("_")
    return stem if sep and axis in ("x", "y", "z") and stem else str(key)


def key_magnitudes(keys, sections, c) -> np.ndarray:
    """Per row: the largest finite |C value| of its (section, quantity)."""
    from nbparity.distinct import distinct_codes, per_distinct

    if len(keys) == 0:
        return np.zeros(0, dtype=float)
    ident, _ = distinct_codes(sections, per_distinct(quantity, keys))
    v = np.abs(np.asarray(c, dtype=float))
    fin = np.isfinite(v)
    mags = np.zeros(int(ident.max()) + 1, dtype=float)
    np.maximum.at(mags, ident[fin], v[fin])   # max is exact: the same numbers as a running max per key
    return mags[ident]


def floors(keys, sections, classes, c, r, a, atol_override=None) -> np.ndarray:
    """The absolute floor of every row (see the module docstring)."""
    from nbparity.distinct import per_distinct

    a = np.asarray(a, dtype=float).copy()
    if atol_override is not None or len(a) == 0:
        return a
    scaled = np.asarray(r, dtype=float) * key_magnitudes(keys, sections, c)
    unknown = per_distinct(lambda cl: cl == UNKNOWN, classes, dtype=bool)
    capped = per_distinct(lambda cl: cl not in SENSITIVITY_FLOORS and cl not in ("exact", UNKNOWN), classes,
                          dtype=bool)
    a = np.where(unknown, scaled, a)
    # a quantity printed as all zeros on the C side says nothing of its scale: its class floor stays
    return np.where(capped & (scaled > 0), np.minimum(a, scaled), a)


def printed_limit(c, hu_c, hu_py, r, a, exact) -> tuple[np.ndarray, np.ndarray]:
    """(limit, printed): |py - c| <= limit decides; printed marks rows whose limit is the print's."""
    c = np.asarray(c, dtype=float)
    tol = np.asarray(a, dtype=float) + np.asarray(r, dtype=float) * np.abs(c)
    hu = np.nan_to_num(np.asarray(hu_c, dtype=float)) + np.nan_to_num(np.asarray(hu_py, dtype=float))
    printed = (hu > tol) & ~np.asarray(exact, dtype=bool)
    return np.where(printed, hu, tol), printed


def printed_summary(table) -> dict | None:
    """What the report and metrics say of the rows compared at printed precision: how many, and the keys
    (`section.key`), e.g. {'values': 60, 'keys': ['phi.phi_deg', …]}; None when there is none."""
    if "printed" not in table or not table["printed"].any():
        return None
    rows = table[table["printed"]]
    keys = list(dict.fromkeys(f"{s}.{k}" for s, k in zip(rows["section"], rows["key"])))
    return {"values": int(len(rows)), "keys": keys}


def printed_note(summary: dict | None) -> str | None:
    if not summary:
        return None
    keys = summary["keys"]
    more = f" and {len(keys) - 8} more" if len(keys) > 8 else ""
    return (f"{summary['values']} values compared at printed precision (half a unit of the last printed digit "
            f"of each side, larger than the tolerance): {', '.join(keys[:8])}{more}")
