"""Named taps: the traced pixel's values, recorded where the kernel computes them.

A traced render runs exactly the code an untraced one runs (same path, same chunks, same operations):
the kernel hands the tensors it has just computed to `Taps`, which copies out the traced pixel's slice
under a trace name (tracing.py turns them into TRACE_PY lines). Nothing is recomputed for the trace,
so tracing a pixel changes no pixel. Copies, not views: the kernel overwrites some tensors in place
after tapping them (kernel_offsets.py)."""

from __future__ import annotations

import torch

from .kernel_lattice import c_order


def _copy(x):
    if isinstance(x, (tuple, list)):
        return tuple(_copy(v) for v in x)
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", copy=True)
    return x


class Taps:
    """Recorder for pixel `p` (its index within the chunk being rendered)."""

    def __init__(self, p: int):
        self.p = p
        self.values: dict = {}

    def pixel(self, x):
        """The traced pixel's slice of a per-pixel tensor (pixels first), or of a tuple of them."""
        if isinstance(x, (tuple, list)):
            return tuple(self.pixel(v) for v in x)
        return _copy(x[self.p])

    def iteration(self, x):
        """The traced pixel's (T, J, S, F, M) slice of an iteration tensor (F, M, P, T, J, S)."""
        if isinstance(x, (tuple, list)):
            return tuple(self.iteration(v) for v in x)
        return _copy(c_order(x)[self.p])

    def put(self, **named):
        """Record values under their trace names (tensors are copied to the CPU)."""
        self.values.update({k: _copy(v) for k, v in named.items()})


def _where(e, os_):
    """(φ step, layer, sub-pixel index) of an injection entry."""
    return int(e["phi_tic"]), int(e.get("layer", 0)), int(e.get("subS", 0)) * os_ + int(e.get("subF", 0))


class InjectingTaps(Taps):
    """Taps that also replace the traced pixel's intermediates by injected values (simulator/inject.py):
    at φ step k, mosaic domain 0, every source of the entry's sub-pixel."""

    def __init__(self, p: int, injection):
        super().__init__(p)
        self.injection = injection

    def hkl(self, c, hkl, q):
        """h, k, l with the injected rotated vectors (Å) dotted with q, or injected h k l, where given."""
        from .constants import A_PER_M

        hkl = [x.clone() for x in hkl]
        for e in self.injection.of("rot"):
            tic, t, j = _where(e, c.os)
            qs = [x[self.p, t, j] for x in q]
            for n, vec in enumerate(e["value"]):
                v = [float(x) / A_PER_M for x in vec]
                hkl[n][tic, 0, self.p, t, j] = (v[0] * qs[0] + v[1] * qs[1]) + v[2] * qs[2]
        for e in self.injection.of("hkl_frac"):
            tic, t, j = _where(e, c.os)
            for n in range(3):
                hkl[n][tic, 0, self.p, t, j] = float(e["value"][n])
        return hkl

    def F_latt(self, c, F_latt):
        if not self.injection.of("F_latt"):
            return F_latt
        F_latt = F_latt.clone()
        for e in self.injection.of("F_latt"):
            tic, t, j = _where(e, c.os)
            F_latt[tic, 0, self.p, t, j] = float(e["value"])
        return F_latt

    def pixel_factors(self, c, omega_eff, polar_final):
        """Ω (every sub-pixel) and the final polarization factor of the pixel, where injected: what the
        loop leaves and the final value uses without -oversample_omega / -oversample_polar."""
        for e in self.injection.of("omega"):
            if not c.os_omega:
                omega_eff = omega_eff.clone()
                omega_eff[self.p] = float(e["value"])
        for e in self.injection.of("polar"):
            if not c.os_polar:
                polar_final = polar_final.clone()
                polar_final[self.p] = float(e["value"])
        return omega_eff, polar_final

    def put(self, **named):
        """As Taps.put; the recorded rotated vectors show the injected ones at their φ step."""
        for name in ("lat", "lat_first"):
            if named.get(name) is not None and self.injection.of("rot"):
                named[name] = self._injected_lattice(named[name])
        super().put(**named)

    def _injected_lattice(self, lat):
        from .constants import A_PER_M

        lat = tuple(tuple(x.detach().clone() for x in vec) for vec in lat)
        for e in self.injection.of("rot"):
            for n, vec in enumerate(e["value"]):
                for ci in range(3):
                    lat[n][ci][int(e["phi_tic"]), 0] = float(vec[ci]) / A_PER_M
        return lat


def make_taps(p: int):
    """The recorder of traced pixel p: injecting where an injection is active (simulator/inject.py)."""
    from .inject import active

    inj = active()
    return Taps(p) if inj is None else InjectingTaps(p, inj)
