"""One pixel rendered in boxes of its iteration space, when its K = T·J·S·F·M iterations exceed the
memory budget (kernel.py renders every other pixel whole, in chunks of pixels).

The boxes tile (T layers, J sub-pixels, S sources, F φ steps, M mosaic domains) in C order: split at
the outermost level whose inner levels fit, every box takes a run of that level with the inner levels
whole and the outer ones at one index, so each box is contiguous in the C's iteration order. The
scans the kernel runs along K continue from box to box through kernel_carry.Carry, so the pixel comes
out bit for bit as an unsliced render makes it (on the CPU; CUDA scans are parallel). C-OVERSAMPLE-001
needs suffix products of the whole K before the forward sum: that mode runs three passes (the carried
state at each box, the products backwards, the sum). A traced pixel's values are concatenated box by
box into the arrays an unsliced render records, so its trace is unchanged."""

from __future__ import annotations

import copy
import itertools
import math

import torch

from .kernel_accumulate import weighted_terms
from .kernel_carry import NONE, Carry, running_factors
from .kernel_chunk import _final_value, render_chunk
from .kernel_lattice import c_order
from .taps import Taps

# trace key → how many leading iteration levels (T, J, S, F, M) its per-pixel array has
TRACE_DEPTH = {"X": 2, "R": 2, "omega_all": 2, "d": 2, "omega_eff": 2, "q": 3, "surv": 3,
               "hkl": 5, "hkl0": 5, "F_abc": 5, "F_latt": 5, "F_cell": 5, "I_term": 5, "evaluated": 5,
               "pol": 3, "pol_calls": 3, "F_cell_sq": 5}
WHOLE_RENDER_KEYS = ("inc", "lam", "phi", "lat", "lat_first", "first_run")


def plan(sizes, max_iters):
    """(level, run): split at `level`, `run` indices of it per box, so a box has <= max_iters iterations."""
    for level in range(5):
        inner = math.prod(sizes[level + 1:])
        if inner <= max_iters:
            return level, max(1, min(sizes[level], max_iters // inner))
    return 4, 1


def boxes(sizes, level, run):
    """(lo, hi) per level of every box, in C order."""
    for outer in itertools.product(*(range(n) for n in sizes[:level])):
        for b0 in range(0, sizes[level], run):
            lo = outer + (b0,) + (0,) * (4 - level)
            hi = tuple(i + 1 for i in outer) + (min(b0 + run, sizes[level]),) + tuple(sizes[level + 1:])
            yield lo, hi


def box_view(c, lo, hi):
    """A shallow copy of the Prepared `c` that renders only the box [lo, hi)."""
    v = copy.copy(c)
    (t0, j0, s0, f0, m0), (t1, j1, s1, f1, m1) = lo, hi
    v.t0, v.T, v.j0, v.J = t0, t1 - t0, j0, j1 - j0
    v.inc, v.lam, v.S = tuple(x[s0:s1] for x in c.inc), c.lam[s0:s1], s1 - s0
    fm = (slice(f0, f1), slice(m0, m1))
    v.lattice = [tuple(x[fm] for x in vec) for vec in c.lattice]
    if c.lattice_first is not None:
        v.lattice_first = [tuple(x[fm] for x in vec) for vec in c.lattice_first]
    v.F, v.M, v.phi = f1 - f0, m1 - m0, c.phi[f0:f1]
    if c.offsets is not None:
        v.offsets = copy.copy(c.offsets)
        v.offsets.delta = [tuple(x[fm] for x in d) for d in c.offsets.delta]
    return v


def render_pixel(c, state, pix, max_iters, traced=False):
    """Value (P = 1,) of the one pixel `pix` in boxes of at most `max_iters` iterations, its Ω sum and
    its trace values when `traced`."""
    sizes = (c.T, c.J, c.S, c.F, c.M)
    all_boxes = list(boxes(sizes, *plan(sizes, max_iters)))
    carry = Carry.start(pix.numel(), c.gdt, c.device, sizes)
    run = _Run(c, state, pix, carry)
    if (c.os_thick or c.os_polar or c.os_omega) and c.quirks.oversample_running_products:
        entries = []
        for box in all_boxes:                     # pass 1: the state each box starts from
            entries.append(run.snapshot())
            run.box(box, "scan")
        g_after = [None] * len(all_boxes)
        for i in reversed(range(len(all_boxes))):   # pass 2: suffix products, backwards
            g = carry.G
            run.restore(entries[i])
            g_after[i] = carry.G = g
            run.box(all_boxes[i], "products")
        run.restore(entries[0])
        for box, g in zip(all_boxes, g_after):    # pass 3: the sum
            carry.G = g
            run.box(box, "sum", traced)
    else:
        for box in all_boxes:
            run.box(box, "sum", traced)
    return run.finish(traced)


class _Run:
    """The boxes of one pixel: render_chunk per box, the sums, the trace pieces."""

    def __init__(self, c, state, pix, carry):
        self.c, self.state, self.pix, self.carry = c, state, pix, carry
        self.omega_sum = None
        self.first = True
        self.last = None
        self.pieces, self.values = {}, {}

    def snapshot(self):
        s = self.state
        return self.carry.snapshot(), list(s.blocks), s.interp_on, len(s.messages)

    def restore(self, entry):
        carry, blocks, interp_on, n_messages = entry
        G = self.carry.G
        self.carry.__dict__.update(carry.snapshot().__dict__)
        self.carry.G = G
        self.state.blocks, self.state.interp_on = list(blocks), interp_on
        del self.state.messages[n_messages:]
        self.first, self.omega_sum = True, None

    def box(self, box, mode, traced=False):
        c, carry, state = self.c, self.carry, self.state
        lo, hi = box
        v = box_view(c, lo, hi)
        carry.box = box
        one_run = all(h - l_ == 1 for l_, h in zip(lo[:3], hi[:3]))   # a box inside one φ run
        state.first_pending = ((0, 0, 0, 0),) if one_run and carry.first_tjs == lo[:3] else ()
        n_blocks = len(state.blocks)
        taps = Taps(0) if traced and mode == "sum" else None
        out, osum = render_chunk(v, state, self.pix, taps, carry)
        state.first_pending = ()
        if one_run and len(state.blocks) < n_blocks:
            carry.first_tjs = lo[:3]   # later boxes of this φ run use the first-run lattice too
        w = weighted_terms(v, out.it, out.cap_eff, out.pol_eff, out.omega_eff, out.eshape, taps)
        if mode == "products":
            carry.G = carry.suffix_products(running_factors(v, w, out.eshape))[:, 0]
        elif mode == "sum":
            self._add(v, w, out)
            if all(x == 0 for x in lo[2:]):   # the first visit of these sub-pixels
                self.omega_sum = osum if self.omega_sum is None else self.omega_sum + osum
            if taps is not None:
                self._collect(taps, lo)
        self.last, self.running, self.I0 = (v, out, w.spec_capture), w.running, w.I0

    def _add(self, v, w, out):
        carry, dt, P = self.carry, v.dtype, out.eshape[2]
        if w.running:
            G = carry.suffix_products(running_factors(v, w, out.eshape)).to(dt)
            start = torch.full((P, 1), 1.0, dtype=dt, device=v.device) * w.I0 * G[:, :1]
            carry.add_terms(c_order(w.term).reshape(P, -1) * G, start if self.first else None)
        else:
            term = w.term
            for fct in w.factors:
                term = torch.where(w.evaluated(), term * fct, term)
            start = torch.full((P, 1), w.I0, dtype=dt, device=v.device) if w.I0 != 0.0 else None
            carry.add_terms(c_order(term).reshape(P, -1), start if self.first else None)
        self.first = False

    def _collect(self, taps, lo):
        """Keep the box's trace values: each per-pixel array once per element, in C order."""
        for key, val in taps.values.items():
            if key in WHOLE_RENDER_KEYS:
                if key == "first_run" and val is not None and "first_run" not in self.values:
                    self.values["first_run"] = tuple(int(a) + b for a, b in zip(val, lo[:3]))
                continue
            if val is None:   # a value the render does not have (pol_calls with -nopolar)
                self.values[key] = None
                continue
            depth = TRACE_DEPTH.get(key)
            if depth is None:
                raise ValueError(f"trace key {key!r} has no rule for a pixel rendered in slices")
            if any(x != 0 for x in lo[depth:]):
                continue   # an earlier box of these (t, j, …) recorded them
            parts = val if isinstance(val, tuple) else (val,)
            have = self.pieces.setdefault(key, (isinstance(val, tuple), [[] for _ in parts]))
            for lst, x in zip(have[1], parts):
                lst.append(x.reshape(-1))

    def finish(self, traced):
        c, carry = self.c, self.carry
        v, out, spec_capture = self.last
        I = carry.I.to(c.dtype)
        if not self.running and self.I0 == 0.0:
            I = I + 0.0   # as _sum_in_c_order leaves it
        val = _final_value(c, I, out.cap_eff, out.polar_final, out.omega_eff, spec_capture)
        trace = self._trace(v, out, I, val) if traced else None
        return val, self.omega_sum, trace

    def _trace(self, v, out, I, val):
        c, sizes = self.c, self.carry.sizes
        t = {}
        for key, (is_tuple, lists) in self.pieces.items():
            arrays = tuple(torch.cat(lst).reshape(sizes[:TRACE_DEPTH[key]]) for lst in lists)
            t[key] = arrays if is_tuple else arrays[0]
        t.update({k: None for k, x in self.values.items() if x is None and k != "first_run"})
        first = self.values.get("first_run")
        cpu = lambda x: x.detach().to("cpu", copy=True)  # noqa: E731
        t.update(inc=tuple(cpu(x) for x in c.inc), lam=cpu(c.lam), phi=cpu(c.phi),
                 lat=tuple(tuple(cpu(x) for x in vec) for vec in c.lattice),
                 lat_first=tuple(tuple(cpu(x) for x in vec) for vec in c.lattice_first) if first else None,
                 first_run=first, I=cpu(I[0]), capture=cpu(out.cap_eff[0, -1, -1]), polar=cpu(out.polar_final[0]),
                 omega=cpu(out.omega_eff[0, -1, -1]), loop_end=self._loop_end(v, out), val=cpu(val[0]))
        return t

    def _loop_end(self, v, out):
        """kernel_polar.loop_end_vectors for the last box: 'the last sub-pixel called polarization'
        counts the earlier boxes of that sub-pixel (the carry)."""
        S = v.inc[0].shape[0]
        inc = tuple(x[S - 1] for x in v.inc)
        dl = tuple(x[0, -1, -1] for x in out.d)
        if out.pol_calls is not None and v.quirks.polar_renormalizes:
            calls, i1, d1 = out.pol_calls
            if int(self.carry.called_s[0]) < NONE:
                dl = tuple(x[0, -1, -1, 0] for x in d1)
            if bool(calls[0, -1, -1, S - 1]):
                inc = tuple(x[0, 0, 0, S - 1] for x in i1)
        return tuple(x.detach().cpu() for x in inc), tuple(x.detach().cpu() for x in dl)
