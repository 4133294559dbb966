"""Component-wise 3-vector arithmetic in the exact C evaluation order (spec §0 notation).

A vector is a tuple (x, y, z) of tensors (any broadcastable shapes) or Python floats. Every dot
product is ((x·x') + (y·y')) + (z·z') left to right and every operation is a plain elementwise op:
no matmul/einsum/addcmul, which would reorder the sum or fuse a multiply-add (FMA) and break
bit-exactness with the C reference.
"""

from __future__ import annotations

import torch


def dot(u, v):
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def cross(x, y):
    # C cross_product: z1 = x2*y3 - x3*y2, z2 = x3*y1 - x1*y3, z3 = x1*y2 - x2*y1
    return (x[1] * y[2] - x[2] * y[1],
            x[2] * y[0] - x[0] * y[2],
            x[0] * y[1] - x[1] * y[0])


def magnitude(v):
    return torch.sqrt(dot(v, v))


def unit(v):
    """C unitize(): divide by |v| (a division, not a reciprocal multiply); a zero vector stays zero."""
    mag = magnitude(v)
    nz = mag != 0.0
    safe = torch.where(nz, mag, torch.ones_like(mag))
    return tuple(torch.where(nz, c / safe, c) for c in v), mag


def rotate_axis(v, k, phi):
    """Rodrigues rotation of v about the (assumed unit) axis k by phi, spec §8.2 operation order."""
    s = torch.sin(phi)
    c = torch.cos(phi)
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
