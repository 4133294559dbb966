"""Component-wise 3-vector arithmetic in the exact C evaluation order (spec §0 notation).

A vector is a tuple (x, y, z) of tensors (any broadcastable shapes) or Python floats. Every dot
product is ((x·x') + (y·y')) + (z·z') left to right and every operation is a plain elementwise op:
no matmul/einsum/addcmul, which would reorder the sum or fuse a multiply-add (FMA) and break
bit-exactness with the C reference.
"""

from __future__ import annotations

import torch

_DEKKER = 134217729.0   # 2**27 + 1: splits a double into two 26-bit halves whose products are exact


def csqrt(x, exact=True):
    """Correctly rounded (IEEE) square root for float64, like the C's sqrt (`exact=False`: plain
    torch.sqrt, for renders whose result is float32 anyway). torch.sqrt on CPU is one ulp
    off for rare near-halfway inputs (measured: sqrt(0x1.489e8483eb841p-9) = 0.050071604727629816 where
    the IEEE result is 0.05007160472762981), and one ulp of R = |X| reaches h at ~1e-14 through the
    cancellation in q = (d − i)/λ. Fix-up: y = torch.sqrt(x); the exact residual r = x − y·y (Dekker's
    product) says whether y + ulp or y − ulp is nearer the true root. Gradients flow through torch.sqrt."""
    y = torch.sqrt(x)
    if y.dtype != torch.float64 or not exact:
        return y
    yd = y.detach()
    xd = x.detach()
    p = yd * yd
    c = _DEKKER * yd
    hi = c - (c - yd)
    lo = yd - hi
    e = ((hi * hi - p) + 2.0 * hi * lo) + lo * lo          # y·y = p + e exactly
    r = (xd - p) - e                                        # x − y·y (x − p is exact: Sterbenz)
    up = torch.nextafter(yd, torch.full_like(yd, float("inf")))
    dn = torch.nextafter(yd, torch.zeros_like(yd))
    u_up, u_dn = up - yd, yd - dn
    # true root above y + u_up/2  ⟺  r − y·u_up > u_up²/4;  below y − u_dn/2  ⟺  r + y·u_dn < u_dn²/4.
    # Near a boundary r ≈ ±y·u, so the sums on the left are exact (Sterbenz); u_dn is half of u_up
    # just below a power of two (sqrt(1 − 2⁻⁵³) must round down to 1 − 2⁻⁵³, not up to 1).
    fixed = torch.where(r - yd * u_up > 0.25 * u_up * u_up, up,
                        torch.where(r + yd * u_dn < 0.25 * u_dn * u_dn, dn, yd))
    return y + (fixed - yd) if y.requires_grad else fixed


def dot(u, v):
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def cross(x, y):
    # C cross_product: z1 = x2*y3 - x3*y2, z2 = x3*y1 - x1*y3, z3 = x1*y2 - x2*y1
    return (x[1] * y[2] - x[2] * y[1],
            x[2] * y[0] - x[0] * y[2],
            x[0] * y[1] - x[1] * y[0])


def rdiv(a, t):
    """a / t for a Python number a and a tensor t as ONE IEEE division, like the C. torch evaluates
    `float / tensor` as reciprocal(t)·a, two roundings (measured: 26 % of results differ by an ulp)."""
    return torch.as_tensor(a, dtype=t.dtype, device=t.device) / t


def magnitude(v, exact=True):
    return csqrt(dot(v, v), exact)


def unit(v, exact=True):
    """C unitize(): divide by |v| (a division, not a reciprocal multiply); a zero vector stays zero.
    `exact`: the correctly rounded |v| (see csqrt)."""
    mag = magnitude(v, exact)
    nz = mag != 0.0
    safe = torch.where(nz, mag, torch.ones_like(mag))
    return tuple(torch.where(nz, c / safe, c) for c in v), mag


def rotate_axis(v, k, phi, sincos=None):
    """Rodrigues rotation of v about the (assumed unit) axis k by phi, spec §8.2 operation order.
    `sincos`: (sin φ, cos φ) computed elsewhere (glibc values for the φ steps, see Prepared)."""
    s, c = sincos if sincos is not None else (torch.sin(phi), torch.cos(phi))
    d = (k[0] * v[0] + k[1] * v[1] + k[2] * v[2]) * (1.0 - c)
    x = (k[0] * d + v[0] * c) + ((-k[2]) * v[1] + k[1] * v[2]) * s
    y = (k[1] * d + v[1] * c) + (k[2] * v[0] - k[0] * v[2]) * s
    z = (k[2] * d + v[2] * c) + ((-k[1]) * v[0] + k[0] * v[1]) * s
    return (x, y, z)


def rotate_umat(v, u):
    """a = U·v with U row-major (u0..u8): a_x = u0·v_x + u1·v_y + u2·v_z (spec §8.4)."""
    return (u[0] * v[0] + u[1] * v[1] + u[2] * v[2],
            u[3] * v[0] + u[4] * v[1] + u[5] * v[2],
            u[6] * v[0] + u[7] * v[1] + u[8] * v[2])


def as_vec(v, dtype, device):
    """A Setup 3-tuple (floats or 0-dim tensors) as three 0-dim tensors on dtype/device."""
    return tuple(as_scalar(c, dtype, device) for c in v)


def as_scalar(x, dtype, device):
    if isinstance(x, torch.Tensor):
        return x.to(dtype=dtype, device=device)
    return torch.tensor(float(x), dtype=dtype, device=device)
