"""nanoBragg's random numbers, bit for bit: ran1 with its shared shuffle table (§8.5), the random
rotation of mosaic domains and random misset (§8.4), umat2misset (§3.3), and the float32 noise
generator poidev/gaussdev/gammln (§9.4) with its cached statics.
"""

from __future__ import annotations

import math

import numpy as np

IA = 16807
IM = 2147483647
AM = 1.0 / IM
IQ = 127773
IR = 2836
NTAB = 32
NDIV = 1 + (IM - 1) // NTAB
EPS = 1.2e-7
RNMX = 1.0 - EPS
F32 = np.float32


def _advance(x: int) -> int:
    k = int(x / IQ) if x < 0 else x // IQ  # C integer division truncates toward zero
    x = IA * (x - k * IQ) - IR * k
    if x < 0:
        x += IM
    return x


class Ran1:
    """Numerical Recipes ran1. The table (iv, iy) is shared by every stream, as C `static`;
    each stream has its own seed variable (C `idum`) in `seeds`."""

    def __init__(self, seeds: dict | None = None, iv=None, iy: int = 0):
        self.iv = list(iv) if iv is not None else [0] * NTAB
        self.iy = iy
        self.seeds = dict(seeds or {})

    def state(self) -> tuple:
        return (tuple(self.iv), self.iy)

    def copy(self) -> "Ran1":
        return Ran1(self.seeds, self.iv, self.iy)

    def next(self, stream: str) -> np.float32:
        idum = self.seeds[stream]
        if idum <= 0 or self.iy == 0:
            idum = 1 if -idum < 1 else -idum
            for j in range(NTAB + 7, -1, -1):
                idum = _advance(idum)
                if j < NTAB:
                    self.iv[j] = idum
            self.iy = self.iv[0]
        idum = _advance(idum)
        j = self.iy // NDIV
        self.iy = self.iv[j]
        self.iv[j] = idum
        self.seeds[stream] = idum
        temp = F32(AM * self.iy)
        return F32(RNMX) if float(temp) > RNMX else temp


def random_rotation(spread, rng: Ran1, stream: str, float32_angle: bool = True) -> tuple:
    """mosaic_rotation_umat: a row-major 9-tuple rotating by θ ≤ spread about a random axis (§8.4)."""
    r1 = 2.0 * float(rng.next(stream)) - 1.0
    r2 = 2.0 * float(rng.next(stream)) - 1.0
    r3 = 2.0 * float(rng.next(stream)) - 1.0
    rho = math.sqrt(1.0 - r2 * r2)
    if float32_angle:  # C-RANDROT-001: γ is a float parameter, powf and the product in float
        base = F32(1.0 - r3 * r3)
        p = F32(math.pow(float(base), float(F32(1.0 / 3.0))))
        theta = float(F32(F32(spread) * p))
    else:
        theta = float(spread) * math.pow(1.0 - r3 * r3, 1.0 / 3.0)
    w1 = rho * math.sin(math.pi * r1)
    w2 = rho * math.cos(math.pi * r1)
    w3 = r2
    c = math.cos(theta)
    s = math.sin(theta)
    t = 1.0 - c
    return (
        c + t * (w1 * w1), (t * w1) * w2 - s * w3, (t * w1) * w3 + s * w2,
        (t * w1) * w2 + s * w3, c + t * (w2 * w2), (t * w2) * w3 - s * w1,
        (t * w1) * w3 - s * w2, (t * w2) * w3 + s * w1, c + t * (w3 * w3),
    )


def _unit(v):
    m = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if m == 0.0:
        return v
    return (v[0] / m, v[1] / m, v[2] / m)


def umat2misset(u) -> tuple:
    """XYZ misset angles (rad) of a row-major rotation matrix (§3.3)."""
    rows = [_unit(tuple(u[3 * r:3 * r + 3])) for r in range(3)]
    rows = [_unit(r) for r in rows]  # the C normalizes a second time after its cross checks
    (uxx, uxy, _uxz), (uyx, uyy, _uyz), (uzx, uzy, uzz) = rows
    if uzx * uzx < 1.0:
        rx = math.atan2(uzy, uzz)
        ry = math.atan2(-uzx, math.sqrt(uzy * uzy + uzz * uzz))
        rz = math.atan2(uyx, uxx)
    else:
        rx = math.pi
        ry = math.pi / 2.0
        rz = math.atan2(uxy, -uyy)
    return (rx, ry, rz)


# ------------------------------------------------------------------ float32 noise generator (§9.4)
_COF = (76.18009172947146, -86.50532032941677, 24.01409824083091,
        -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5)


def gammln(xx) -> np.float32:
    x = y = float(F32(xx))
    tmp = x + 5.5
    tmp -= (x + 0.5) * math.log(tmp)
    ser = 1.000000000190015
    for c in _COF:
        y += 1.0
        ser += c / y
    return F32(-tmp + math.log(2.5066282746310005 * ser / x))


class NoiseGenerator:
    """poidev/gaussdev with their C statics (oldm, g, sq, alxm; iset, gset) on one ran1 stream."""

    def __init__(self, rng: Ran1, stream: str = "noise"):
        self.rng = rng
        self.stream = stream
        self.oldm = F32(-1.0)
        self.g = F32(0.0)
        self.sq = F32(0.0)
        self.alxm = F32(0.0)
        self.iset = 0
        self.gset = F32(0.0)

    def gaussdev(self) -> np.float32:
        if self.iset:
            self.iset = 0
            return self.gset
        while True:
            v1 = F32(2.0 * float(self.rng.next(self.stream)) - 1.0)
            v2 = F32(2.0 * float(self.rng.next(self.stream)) - 1.0)
            rsq = F32(F32(v1 * v1) + F32(v2 * v2))
            if not (rsq >= 1.0 or rsq == 0.0):
                break
        fac = F32(math.sqrt(-2.0 * math.log(float(rsq)) / float(rsq)))
        self.gset = F32(v1 * fac)
        self.iset = 1
        return F32(v2 * fac)

    def poidev(self, xm) -> np.float32:
        xm = F32(xm)
        if xm > 1.0e6:
            return F32(float(xm) + math.sqrt(float(xm)) * float(self.gaussdev()))
        if xm < 12.0:
            if xm != self.oldm:
                self.oldm = xm
                self.g = F32(math.exp(-float(xm)))
            em = F32(-1.0)
            t = F32(1.0)
            while True:
                em = F32(em + F32(1.0))
                t = F32(t * self.rng.next(self.stream))
                if not (t > self.g):
                    return em
        if xm != self.oldm:
            self.oldm = xm
            self.sq = F32(math.sqrt(2.0 * float(xm)))
            self.alxm = F32(math.log(float(xm)))
            self.g = F32(F32(xm * self.alxm) - gammln(float(xm) + 1.0))
        while True:
            while True:
                y = F32(math.tan(math.pi * float(self.rng.next(self.stream))))
                em = F32(F32(self.sq * y) + xm)
                if not (em < 0.0):
                    break
            em = F32(math.floor(float(em)))
            arg = F32(F32(F32(em * self.alxm) - gammln(float(em) + 1.0)) - self.g)
            t = F32(0.9 * (1.0 + float(F32(y * y))) * math.exp(float(arg)))
            if not (self.rng.next(self.stream) > t):
                return em


def noise_image(float_image, seed_state, adc: float, roi) -> tuple:
    """The C noise image (§9.4): returns (uint16 array like float_image, total photons, overloads).

    seed_state: (seed, (iv, iy)) — the noise seed variable and the shared ran1 table left by setup.
    roi: (xmin, xmax, ymin, ymax) inclusive. Pixels are visited in row-major order, mask ignored.
    """
    img = np.asarray(float_image, dtype=np.float32)
    spixels, fpixels = img.shape
    seed, (iv, iy) = seed_state
    gen = NoiseGenerator(Ran1({"noise": seed}, iv, iy))
    out = np.zeros(img.shape, dtype=np.uint16)
    xmin, xmax, ymin, ymax = roi
    total = 0.0
    overloads = 0
    poidev = gen.poidev
    for sp in range(max(0, ymin), min(spixels - 1, ymax) + 1):
        row = img[sp]
        orow = out[sp]
        for fp in range(max(0, xmin), min(fpixels - 1, xmax) + 1):
            n = float(poidev(row[fp]))
            total += n
            v = n + adc
            if v > 65535.0:
                v = 65535.0
                overloads += 1
            orow[fp] = int(v) & 0xFFFF  # (unsigned short) truncation
    return out, total, overloads
