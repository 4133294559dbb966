"""Crystal lattice setup in the C order (spec §3.1–§3.7): reciprocal basis from -cell (with the
C-CELL-001 c*_z construction), from -mat, misset, duality to real space, regeneration of a*, b*, c*."""

from __future__ import annotations

import math

from .constants import DBL_MIN
from .geometry import (cos, cross, div, dot, is_tensor, magnitude, rescale, rotate, scale, sin, sqrt,
                       value)


def _const_like(c: float, x):
    """The constant c, as a tensor when x is one (an override keeps its graph); 0·x would be NaN for inf."""
    return c + 0.0 * x if is_tensor(x) else c


def _clamp_sin(x):
    if x > 1.0:
        return _const_like(1.0, x)
    if x < -1.0:
        return _const_like(-1.0, x)
    return x


def _clamp_cos(x):
    # C quirk: a cosine whose square exceeds 1 becomes +1, even when it was below -1
    if x * x > 1.0:
        return _const_like(1.0, x)
    return x


def cell_defaults(a, b, c, alpha, beta, gamma):
    """§3.1 step 1: b, c ≤ 0 take a; angles ≤ 0 become π/2."""
    if b <= 0.0:
        b = a
    if c <= 0.0:
        c = a
    half_pi = math.pi / 2.0
    if alpha <= 0.0:
        alpha = half_pi
    if beta <= 0.0:
        beta = half_pi
    if gamma <= 0.0:
        gamma = half_pi
    return a, b, c, alpha, beta, gamma


def reciprocal_from_cell(a, b, c, alpha, beta, gamma, c_cell_quirk: bool, warn, echo=None):
    """§3.1: (a*, b*, c*) in 1/Å in the default orientation, and the volume V (Å³)."""
    sigma = (alpha + beta + gamma) / 2.0
    K = sin(sigma) * sin(sigma - alpha) * sin(sigma - beta) * sin(sigma - gamma)
    if K < 0:
        K = -K
    V = 2.0 * a * b * c * sqrt(K)
    if V <= 0.0:
        warn("WARNING: non-positive unit cell volume")
        V = DBL_MIN
    Vstar = 1.0 / V
    sa, sb, sg = sin(alpha), sin(beta), sin(gamma)
    ca, cb, cg = cos(alpha), cos(beta), cos(gamma)
    lens = []
    for name, x in (("a*", b * c * sa * Vstar), ("b*", c * a * sb * Vstar), ("c*", a * b * sg * Vstar)):
        if x <= 0.0:
            warn(f"WARNING: non-positive reciprocal length {name}")
            x = -x if x != 0.0 else DBL_MIN
        lens.append(x)
    a_s, b_s, c_s = lens
    if echo is not None:   # the C keeps these lengths as the vectors' stored magnitudes (trace_r2.py)
        echo.star_slots = (a_s, b_s, c_s)
    cos_as = _clamp_cos(div(cb * cg - ca, sb * sg))
    cos_bs = _clamp_cos(div(cg * ca - cb, sg * sa))
    cos_gs = _clamp_cos(div(ca * cb - cg, sa * sb))
    sin_gs = _clamp_sin(c * Vstar / a_s / b_s)
    zero = 0.0 * a_s
    a_star = (a_s, zero, zero)
    b_star = (b_s * cos_gs, b_s * sin_gs, zero)
    cy = div(c_s * (cos_as - cos_bs * cos_gs), sin_gs)   # degenerate cells give inf/NaN, as in C
    if c_cell_quirk:  # C-CELL-001: (sin γ / sin γ*)/c instead of the textbook value
        cz = div(c_s * V, a * b * c * sin_gs)
    else:
        t = div(cos_as - cos_bs * cos_gs, sin_gs)
        cz = c_s * sqrt(1.0 - cos_bs * cos_bs - t * t)
    c_star = (c_s * cos_bs, cy, cz)
    return a_star, b_star, c_star, V


def apply_misset(vectors, rx, ry, rz):
    return tuple(rotate(v, rx, ry, rz) for v in vectors)


def real_space(a_star, b_star, c_star, user_cell: bool, cell_abc, V, echo=None):
    """§3.5–§3.6: direct vectors (Å) by duality, V_cell, and the regenerated reciprocal vectors.
    `echo` (trace_r2.Echo) records each step's values for the R2 setup echo."""
    Pc = cross(b_star, c_star)
    Pa = cross(c_star, a_star)
    Pb = cross(a_star, b_star)
    Vstar = dot(a_star, Pc)
    if echo is not None:
        echo.cross_products((a_star, b_star, c_star), Pb, Pc, Pa, Vstar)
    if user_cell:
        a, b, c = cell_abc
        Pc = rescale(Pc, div(a, V))
        Pa = rescale(Pa, div(b, V))
        Pb = rescale(Pb, div(c, V))
        Vstar = div(1.0, V)
    Vcell = div(1.0, Vstar)   # an empty -mat gives V* = 0: inf, as in C
    a = scale(Pc, Vcell)
    b = scale(Pa, Vcell)
    c = scale(Pb, Vcell)
    crosses = (cross(b, c), cross(c, a), cross(a, b))
    new_stars = tuple(scale(v, Vstar) for v in crosses)
    if echo is not None:
        mags = tuple(magnitude(v) for v in (a, b, c))
        echo.real_vectors(Pc, Pa, Pb, Vcell, Vstar, (a, b, c), mags)
        echo.regeneration((a_star, b_star, c_star), echo.star_slots, crosses, new_stars,
                          tuple(magnitude(v) for v in new_stars))
    return (a, b, c), new_stars, Vcell


def cell_report(a, b, c, a_star, b_star, c_star) -> list[str]:
    """Diagnostic 'Unit Cell' / 'Recp Cell' lines (not used by the physics)."""
    def angles(x, y, z):
        out = []
        for u, v in ((y, z), (z, x), (x, y)):
            cval = div(value(dot(u, v)), value(magnitude(u)) * value(magnitude(v)))
            out.append(math.degrees(math.acos(max(-1.0, min(1.0, cval)))) if cval == cval else math.nan)
        return out
    la = [value(magnitude(v)) for v in (a, b, c)]
    lr = [value(magnitude(v)) for v in (a_star, b_star, c_star)]
    ang = angles(a, b, c)
    angr = angles(a_star, b_star, c_star)
    return [
        "Unit Cell: %g %g %g %g %g %g" % (*la, *ang),
        "Recp Cell: %g %g %g %g %g %g" % (*lr, *angr),
    ]
