"""Deterministic stand-ins for the supervisor inputs (A.mat, scaled.hkl) when the real ones are absent.

The cell resembles the supervisor crystal (triclinic, 26.75 31.31 33.67 88.69 71.53 68.14, λ 0.9768 Å).
Structure factors come from an integer hash of (h, k, l) so the bytes are identical on every platform
and numpy version. Files are written atomically into the cache and reused when present.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from nbparity import tempdirs

CELL = (26.75, 31.31, 33.67, 88.69, 71.53, 68.14)  # a b c (Å), α β γ (°)
LAMBDA_A = 0.9768
HKL_RANGE = 24
# a fixed, arbitrary orientation (degrees about x, y, z) so no axis is aligned with the beam
ORIENTATION_DEG = (31.0, -17.0, 53.0)
VERSION = "v1"  # bump when the generator changes, so stale caches are not reused


def _real_basis(cell):
    a, b, c, al, be, ga = cell
    al, be, ga = (math.radians(x) for x in (al, be, ga))
    va = (a, 0.0, 0.0)
    vb = (b * math.cos(ga), b * math.sin(ga), 0.0)
    cx = c * math.cos(be)
    cy = c * (math.cos(al) - math.cos(be) * math.cos(ga)) / math.sin(ga)
    cz = math.sqrt(c * c - cx * cx - cy * cy)
    return va, vb, (cx, cy, cz)


def _cross(u, v):
    return (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])


def _dot(u, v):
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def _rotate(v, angles_deg):
    x, y, z = v
    rx, ry, rz = (math.radians(t) for t in angles_deg)
    y, z = y * math.cos(rx) - z * math.sin(rx), y * math.sin(rx) + z * math.cos(rx)
    x, z = x * math.cos(ry) + z * math.sin(ry), -x * math.sin(ry) + z * math.cos(ry)
    x, y = x * math.cos(rz) - y * math.sin(rz), x * math.sin(rz) + y * math.cos(rz)
    return (x, y, z)


def mosflm_matrix_text(cell=CELL, wavelength=LAMBDA_A, orientation=ORIENTATION_DEG) -> str:
    """The 3×3 MOSFLM A matrix (columns a*, b*, c*, in λ-scaled units), three lines of three numbers."""
    va, vb, vc = (_rotate(v, orientation) for v in _real_basis(cell))
    vol = _dot(va, _cross(vb, vc))
    astar, bstar, cstar = (tuple(x / vol for x in _cross(p, q)) for p, q in ((vb, vc), (vc, va), (va, vb)))
    rows = []
    for r in range(3):  # row r holds component r of a*, b*, c* (spec §2.3)
        rows.append(" ".join(f"{v[r] * wavelength:.10f}" for v in (astar, bstar, cstar)))
    return "\n".join(rows) + "\n"


def structure_factor(h: int, k: int, l: int) -> float:
    """A positive F with two decimals from a 32-bit integer hash of (h, k, l)."""
    x = (h * 73856093) ^ (k * 19349663) ^ (l * 83492791)
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x45D9F3B) & 0xFFFFFFFF
    x ^= x >> 16
    return 1.0 + (x % 9900) / 100.0  # 1.00 … 99.99


def hkl_text(n: int = HKL_RANGE) -> str:
    lines = []
    for h in range(-n, n + 1):
        for k in range(-n, n + 1):
            for l in range(-n, n + 1):
                lines.append(f"{h:4d} {k:4d} {l:4d} {structure_factor(h, k, l):8.2f}")
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    tmp = tempdirs.temp_file(path)
    tmp.write_text(text)
    os.replace(tmp, path)


def ensure_inputs(cache_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Return (A.mat, synthetic.hkl) paths, generating them into the cache on first use."""
    if cache_dir is None:
        from nbparity.cbuild import cache_root

        cache_dir = cache_root() / "synthetic" / VERSION
    d = Path(cache_dir)
    d.mkdir(parents=True, exist_ok=True)
    mat, hkl = d / "A.mat", d / "synthetic.hkl"
    if not mat.is_file():
        _write_atomic(mat, mosflm_matrix_text())
    if not hkl.is_file():
        _write_atomic(hkl, hkl_text())
    return mat, hkl
