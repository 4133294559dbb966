"""The C loop's sequential state carried from one slice of a pixel's iteration space to the next.

kernel_slices.py renders a pixel whose K = T·J·S·F·M iterations exceed the memory budget as boxes of
that space taken in C order. Everything the unsliced kernel derives along the whole K with a scan (a
cumsum, a cummin, a cumprod, a "first non-zero") continues here from the value the previous box left:

- the running sum I (a sequential scan, double accumulator: torch's own for float32 on CPU);
- Ω held from the first non-zero sub-pixel of the pixel, the capture fraction from the first non-zero
  sub-pixel of its layer (`if (v == 0.0) v = compute();`);
- the polarization calls: made until the first non-zero factor of the pixel (or every time with
  -oversample_polar), the last call's factor, and whether the current sub-pixel has called already
  (C-POLAR-001 unitizes d in place);
- C-OVERSAMPLE-001's suffix products, carried backwards (kernel_slices.py runs that mode in passes).

Indices are global flat indices of (T, J, S) so that a box repeated over φ/domain slices sees its own
(t, j, s) again and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from . import kernel_geometry as geo
from .kernel_lattice import c_order
from .kernel_physics import polarization
from .kernel_vec import unit

NONE = 2**62   # "no index yet" for a running minimum of flat indices


@dataclass
class Hold:
    """The first non-zero value of a run (NaN counts as non-zero, as `v == 0.0` is false for it)."""
    has: torch.Tensor
    value: torch.Tensor
    key: int = -1      # which run (layer) the value belongs to

    def apply(self, x, key=-1):
        """x (P, N) continues the run `key`: positions hold the carried value, else hold locally."""
        if key != self.key:
            self.has, self.value, self.key = torch.zeros_like(self.has), torch.zeros_like(self.value), key
        local = geo.hold_first_nonzero(x, 1)
        out = torch.where(self.has[:, None], self.value[:, None], local)
        nz = x != 0.0
        first = torch.argmax(nz.to(torch.int8), 1)   # the first True (0 where none: has stays false)
        self.value = torch.where(self.has, self.value, x.gather(1, first[:, None])[:, 0])
        self.has = self.has | nz.any(1)
        return out


@dataclass
class Carry:
    """Per pixel of the chunk (P,) tensors; see the module doc."""
    omega: Hold
    capture: Hold
    first_stop: torch.Tensor           # flat (T, J, S) index of the first non-zero polarization call
    polar: torch.Tensor                # the last call's factor (0 before any call)
    called_s: torch.Tensor             # the first source of the last sub-pixel seen that called polarization
    tj: int = -1                       # that sub-pixel's flat (T, J) index
    I: torch.Tensor | None = None      # running sum so far, float64
    G: torch.Tensor | None = None      # C-OVERSAMPLE-001: suffix product after this box, float64
    first_tjs: tuple | None = None     # (t, j, s) of a first φ run (C-PARITY-001) split over boxes
    box: tuple = field(default=((0,) * 5, (1,) * 5))   # (lo, hi) per level of the box being rendered
    sizes: tuple = (1,) * 5            # the whole (T, J, S, F, M)

    @staticmethod
    def start(P, gdt, device, sizes):
        z = lambda dt: torch.zeros(P, dtype=dt, device=device)  # noqa: E731
        return Carry(omega=Hold(z(torch.bool), z(gdt)), capture=Hold(z(torch.bool), z(gdt)),
                     first_stop=torch.full((P,), NONE, dtype=torch.int64, device=device),
                     polar=z(gdt), called_s=torch.full((P,), NONE, dtype=torch.int64, device=device),
                     sizes=tuple(sizes))

    def snapshot(self):
        return replace(self, omega=replace(self.omega), capture=replace(self.capture))

    # ------------------------------------------------------------------ detector
    def hold_omega(self, omega_all):
        """Ω as the loop holds it over the pixel's (T, J) sub-pixels: (P, T', J')."""
        P, T, J = omega_all.shape
        return self.omega.apply(omega_all.reshape(P, T * J)).reshape(P, T, J)

    def hold_capture(self, cap):
        """Capture fraction held per layer along its sub-pixels: (P, T', J'). A box of several layers
        holds whole layers; a box inside one layer continues that layer's run."""
        P, T, J = cap.shape
        lo = self.box[0]
        if T == 1:
            return self.capture.apply(cap.reshape(P, J), key=lo[0]).reshape(P, T, J)
        self.capture.key = -1   # whole layers: nothing to continue
        return geo.hold_first_nonzero(cap.contiguous(), 2)

    # ------------------------------------------------------------------ polarization
    def tjs_index(self, T, J, S, device):
        """Global flat (T, J, S) index of each position of the box: (T', J', S') int64."""
        lo = self.box[0]
        _, J_all, S_all, _, _ = self.sizes
        t = torch.arange(lo[0], lo[0] + T, device=device)
        j = torch.arange(lo[1], lo[1] + J, device=device)
        s = torch.arange(lo[2], lo[2] + S, device=device)
        return (t[:, None, None] * J_all + j[None, :, None]) * S_all + s[None, None, :]

    def polarization(self, c, surv, inc, dP):
        """kernel_polar.polarization_in_effect for a box, continuing the pixel's calls."""
        P, T, J, S = surv.shape
        gdt = c.gdt
        if c.nopolar:
            return (torch.ones((P, T, J, S), dtype=gdt, device=c.device), torch.ones(P, dtype=gdt, device=c.device),
                    dP, None)
        i1, _ = unit(tuple(torch.broadcast_to(x, (1, 1, 1, S)) for x in inc))
        d1 = unit(dP)[0] if c.exact else dP
        pol = torch.broadcast_to(polarization(c.polar_K, i1, d1, c.polar_axis), (P, T, J, S))
        gidx = self.tjs_index(T, J, S, c.device)
        flat_idx = gidx.reshape(-1)
        if c.os_polar:
            calls = surv
        else:
            stop = (surv & (pol != 0.0)).reshape(P, -1)
            local = torch.where(stop, flat_idx[None, :], NONE).min(1).values
            self.first_stop = torch.minimum(self.first_stop, local)
            calls = surv & (gidx[None] <= self.first_stop[:, None, None, None])
        d_used = dP
        if c.quirks.polar_renormalizes:
            ci = calls.to(torch.int64)
            prior = (torch.cumsum(ci, 3) - ci) > 0
            first_tj = int(gidx[0, 0, 0]) // self.sizes[2]
            if first_tj == self.tj:   # the box continues the previous box's sub-pixel: its earlier sources
                s_all = gidx[0, 0, :] % self.sizes[2]
                prior[:, 0, 0, :] |= self.called_s[:, None] < s_all[None, :]
            if bool(prior.any()):
                d2, _ = unit(d1, c.exact)
                d_used = tuple(torch.where(prior, d1[k], dP[k]) for k in range(3))
                pol = torch.where(prior, polarization(c.polar_K, i1, d2, c.polar_axis), pol)
        self._remember_calls(calls, gidx)
        called = calls.reshape(P, -1)
        pos = torch.where(called, torch.arange(called.shape[1], device=c.device), -1).max(1).values
        last = torch.gather(pol.reshape(P, -1), 1, pos.clamp(min=0)[:, None])[:, 0]
        self.polar = torch.where(pos >= 0, last, self.polar)
        return pol, self.polar, d_used, (calls, i1, d1)

    def _remember_calls(self, calls, gidx):
        """The first source of the box's last sub-pixel that called polarization, counting earlier
        boxes of that sub-pixel."""
        first_tj = int(gidx[0, 0, 0]) // self.sizes[2]
        last_tj = int(gidx[-1, -1, -1]) // self.sizes[2]
        s_all = gidx[-1, -1, :] % self.sizes[2]
        first_s = torch.where(calls[:, -1, -1, :], s_all[None, :], NONE).min(1).values
        if first_tj == last_tj == self.tj:
            first_s = torch.minimum(first_s, self.called_s)
        self.called_s, self.tj = first_s, last_tj

    # ------------------------------------------------------------------ sums
    def add_terms(self, flat, start=None):
        """Continue the running sum over `flat` (P, K') in C order; `start` (P, 1) opens the pixel."""
        parts = [flat.to(torch.float64)]
        if self.I is not None:
            parts.insert(0, self.I[:, None])
        elif start is not None:
            parts.insert(0, start.to(torch.float64))
        x = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
        self.I = torch.cumsum(x, 1)[:, -1]

    def suffix_products(self, g):
        """The suffix products G_k = Π_{i>=k} g_i (C-OVERSAMPLE-001) of a box (P, K'), continuing those
        of the boxes after it (self.G, float64), as the unsliced flip/cumprod/flip scan forms it."""
        P = g.shape[0]
        G0 = self.G if self.G is not None else torch.ones(P, dtype=torch.float64, device=g.device)
        x = torch.cat([G0[:, None], torch.flip(g, [1]).to(torch.float64)], 1)
        return torch.flip(torch.cumprod(x, 1)[:, 1:], [1])


def running_factors(c, w, eshape):
    """The per-iteration factor g of C-OVERSAMPLE-001 (1 where the C does not evaluate), (P, K') in C order."""
    P = eshape[2]
    g = torch.ones(eshape, dtype=c.dtype, device=c.device)
    for fct in w.factors:
        g = g * fct
    return c_order(torch.where(w.evaluated(), g, torch.ones_like(g))).reshape(P, -1)
