"""Scalar and 3-vector arithmetic in the C evaluation order (used by setup), on Python floats (bit-exact via glibc
`math`) or 0-dim torch tensors (differentiable). Vectors are 3-tuples; nothing converts a tensor."""

from __future__ import annotations

import math


def is_tensor(x) -> bool:
    return not isinstance(x, (int, float))


def _torch():
    import torch
    return torch


def _libm(fn, x):
    """math.fn(x) with C libm results where Python raises: sin(inf), sqrt(-1) → NaN."""
    try:
        return fn(x)
    except ValueError:
        return math.nan


def sin(x):
    return _torch().sin(x) if is_tensor(x) else _libm(math.sin, x)


def cos(x):
    return _torch().cos(x) if is_tensor(x) else _libm(math.cos, x)


def sqrt(x):
    return _torch().sqrt(x) if is_tensor(x) else _libm(math.sqrt, x)


def isnan(x) -> bool:
    return bool(_torch().isnan(x)) if is_tensor(x) else math.isnan(x)


def value(x) -> float:
    """Plain float for control flow (counts, ceil); the graph is untouched."""
    return float(x.detach()) if is_tensor(x) else float(x)


def div(a, b):
    """C double division: x/0 gives ±inf or NaN instead of raising."""
    if is_tensor(a) or is_tensor(b) or b != 0:
        return a / b
    a = float(a)
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def ceil(x) -> int:
    v = value(x)
    return math.ceil(v) if math.isfinite(v) else 0


def dot(u, v):
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def cross(u, v):
    return (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])


def magnitude(u):
    return sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2])


def unit(u):
    m = magnitude(u)
    if m != 0.0:
        return (u[0] / m, u[1] / m, u[2] / m)
    return tuple(u)


def scale(u, s):
    return (u[0] * s, u[1] * s, u[2] * s)


def rescale(u, new_mag):
    """vector_rescale: (new/|u|)·u_i, |u| ≤ 0 treated as 1."""
    old = magnitude(u)
    if old <= 0.0:
        old = 1.0
    f = div(new_mag, old)
    return (f * u[0], f * u[1], f * u[2])


def rotate(v, rx, ry, rz):
    """§3.4: Rx, then Ry, then Rz about lab axes; each skipped when its angle is exactly 0."""
    x, y, z = v
    if rx != 0:
        c, s = cos(rx), sin(rx)
        y, z = y * c + z * (-s), y * s + z * c
    if ry != 0:
        c, s = cos(ry), sin(ry)
        x, z = x * c + y * 0.0 + z * s, x * (-s) + y * 0.0 + z * c
    if rz != 0:
        c, s = cos(rz), sin(rz)
        x, y = x * c + y * (-s), x * s + y * c
    return (x, y, z)


def rotate_axis(v, k, phi):
    """§8.2 Rodrigues rotation of v by phi about k (k not normalized here, as in C)."""
    s, c = sin(phi), cos(phi)
    d = dot(k, v) * (1.0 - c)
    return (
        (k[0] * d + v[0] * c) + ((-k[2]) * v[1] + k[1] * v[2]) * s,
        (k[1] * d + v[1] * c) + (k[2] * v[0] - k[0] * v[2]) * s,
        (k[2] * d + v[2] * c) + ((-k[1]) * v[0] + k[0] * v[1]) * s,
    )
