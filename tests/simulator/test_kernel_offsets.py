"""The float32 offset path (simulator/kernel_offsets.py) against the general path and float64."""

import numpy as np
import pytest
import torch

from simulator import kernel_offsets
from simulator.kernel import Prepared, render
from simulator.kernel_offsets import OffsetLattice
from .kernel_fixtures import toy_setup

C_MODE = frozenset({"C-PARITY-001", "C-OVERSAMPLE-001", "C-CAPTURE-001", "C-WATER-001", "C-POLAR-001"})
DEG = np.pi / 180.0


def _umat(axis, angle):
    k = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    R = np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K
    return tuple(float(x) for x in R.reshape(-1))


def _setup(**kw):
    """A wide-angle toy (h up to ~15) with 4 φ steps from φ = 0 (C-PARITY-001's first run), 3 mosaic
    domains, an even N on one axis, and default_F outside the small HKL grid."""
    umats = [_umat((1, 0, 0), 0.0), _umat((0, 1, 1), 0.05 * DEG), _umat((1, 1, 0), -0.04 * DEG)]
    base = dict(n=32, pixel=1.5e-3, cell=50.0, N=5, Nb=6.0, phisteps=4, phistep=0.1 * DEG, osc=0.4 * DEG,
                spindle=(0.0, 1.0, 0.0), mosaic_spread=0.05 * DEG, mosaic_umats=umats, default_F=20.0)
    base.update(kw)
    return toy_setup(**base)


def _general_only(monkeypatch):
    monkeypatch.setattr(OffsetLattice, "build", staticmethod(lambda c: None))


def _rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).abs() / b.abs().clamp_min(1e-300))


def test_offset_path_applies_only_where_it_is_accurate():
    cpu = torch.device("cpu")
    assert Prepared(_setup(), torch.float32, cpu, C_MODE).offsets is not None
    assert Prepared(_setup(), torch.float64, cpu, C_MODE).offsets is None          # bit-exact renders
    assert Prepared(_setup(interpolate=1), torch.float32, cpu, C_MODE).offsets is None
    assert Prepared(_setup(xtal_shape="ROUND"), torch.float32, cpu, C_MODE).offsets is None
    # 4 steps of 2°: |q|·|Δa| reaches ~3 h units, beyond MAX_SHIFT
    assert Prepared(_setup(phistep=2 * DEG, osc=8 * DEG), torch.float32, cpu, C_MODE).offsets is None


def test_offset_render_matches_general_float32_and_float64(monkeypatch):
    s = _setup()
    calls = []
    real = kernel_offsets.offset_iterations
    monkeypatch.setattr("simulator.kernel_chunk.offset_iterations", lambda *a: calls.append(1) or real(*a))
    fast = render(s, dtype=torch.float32, quirks=C_MODE, chunk_pixels=200).image_double
    assert len(calls) == -(-32 * 32 // 200)              # every chunk took the offset path
    exact = render(s, dtype=torch.float64, quirks=C_MODE).image_double
    _general_only(monkeypatch)
    general = render(s, dtype=torch.float32, quirks=C_MODE, chunk_pixels=200).image_double
    assert float(exact.max()) > 0 and float(exact.min()) > 0
    # issue #4(b)'s criterion (pixels above 1e-3 of the maximum), and far into the dark: down to 1e-5 of
    # the maximum both float32 paths stay within 1e-5 (below that, near the zeros of sincg, float32
    # phases leave ~1e-4 on either path: measured 4e-5 offset, 7e-5 general)
    bright = exact > 1e-3 * exact.max()
    assert float(_rel(fast, exact)[bright].max()) < 1e-5
    lit = exact > 1e-5 * exact.max()
    assert float(_rel(fast, exact)[lit].max()) < 1e-5
    assert float(_rel(general, exact)[lit].max()) < 1e-5
    assert float(_rel(fast, general)[lit].max()) < 1e-5


def test_first_run_offsets_use_the_first_run_lattice(monkeypatch):
    """C-PARITY-001: pixel (0, 0) sees the unrotated lattice at φ step 0, every later pixel the carried
    vectors of the last step. The offset path patches that one pixel from float64 h, k, l."""
    s = _setup()
    exact = render(s, dtype=torch.float64, quirks=C_MODE).image_double
    fast = render(s, dtype=torch.float32, quirks=C_MODE).image_double
    assert float(_rel(fast[0, 0], exact[0, 0])) < 2e-5
    # the test can fail: without the patch pixel (0, 0) comes out clearly different
    monkeypatch.setattr(kernel_offsets, "first_run", lambda c, state, surv: None)
    unpatched = render(s, dtype=torch.float32, quirks=C_MODE).image_double
    assert float(_rel(unpatched[0, 0], exact[0, 0])) > 1e-3
    assert float(_rel(unpatched[5, 7], exact[5, 7])) < 2e-5


def test_traced_chunk_takes_the_offset_path(monkeypatch):
    """A traced chunk renders like any other (taps, simulator/taps.py): the image is bit-identical to the
    untraced one, and the trace shows the offset path's h = h0 + δ and its F_latt with the sign of an
    even N (Nb = 6) restored, close to the float64 trace."""
    s = _setup()
    calls = []
    real = kernel_offsets.offset_iterations
    monkeypatch.setattr("simulator.kernel_chunk.offset_iterations", lambda *a: calls.append(1) or real(*a))
    traced = render(s, dtype=torch.float32, quirks=C_MODE, trace_pixel=(9, 11), chunk_pixels=64)
    assert len(calls) == 32 * 32 // 64                   # the traced chunk too
    plain = render(s, dtype=torch.float32, quirks=C_MODE, chunk_pixels=64)
    assert torch.equal(traced.image_double, plain.image_double)
    exact = render(s, dtype=torch.float64, quirks=C_MODE, trace_pixel=(9, 11)).trace
    got = traced.trace
    for n in range(3):
        assert float((got["hkl"][n] - exact["hkl"][n]).abs().max()) < 1e-4
        assert torch.equal(got["hkl0"][n], exact["hkl0"][n])
        assert float(_rel(got["F_abc"][n], exact["F_abc"][n]).max()) < 1e-3
    lit = exact["F_latt"].abs() > 1e-2 * exact["F_latt"].abs().max()
    assert bool((exact["F_latt"][lit] < 0).any())        # the sign is tested where it matters
    assert float(_rel(got["F_latt"], exact["F_latt"])[lit].max()) < 1e-4
    assert float(_rel(got["I_term"], exact["I_term"])[lit].max()) < 1e-3


@pytest.mark.parametrize("x", [0.0, 0.5, 1.5, -0.5, -2.5, 2.4999998, 3.75, -1e-8])
def test_round_magic_is_round_half_even(x):
    t = torch.tensor([x], dtype=torch.float32)
    assert torch.equal(torch.add(t, kernel_offsets.ROUND_MAGIC).sub_(kernel_offsets.ROUND_MAGIC), torch.round(t))


def test_int_magic_reads_integers_from_float_bits():
    i = torch.tensor([0, 1, 2, 12345, 2**23 - 1], dtype=torch.float32)
    bits = torch.add(i, kernel_offsets.INT_MAGIC).view(torch.int32) - kernel_offsets.INT_MAGIC_BITS
    assert bits.tolist() == [0, 1, 2, 12345, 2**23 - 1]


def test_non_finite_h_falls_back_to_the_general_path(monkeypatch):
    """A NaN detector position gives NaN h: the chunk takes the general path (its NaN F lookups land on
    the default_F border) instead of turning NaN into a table index."""
    nan_corner = (float("nan"), 0.0, 0.0)
    s = _setup(pix0=nan_corner)
    fast = render(s, dtype=torch.float32, quirks=C_MODE).image_double
    _general_only(monkeypatch)
    general = render(s, dtype=torch.float32, quirks=C_MODE).image_double
    assert torch.isnan(general).all()
    assert torch.equal(torch.isnan(fast), torch.isnan(general))
