"""The port's float64 arithmetic must be the C's IEEE arithmetic. torch's CPU sqrt is not correctly
rounded on some inputs and `float / tensor` is evaluated as reciprocal·float: both once showed up as
1e-14 divergences in h (through the cancellation in q = (d − i)/λ) and as last-bit differences in the
spec's §11.3 pixel doubles."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import torch

from simulator.kernel_vec import csqrt, rdiv

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "supervisor"


def _hard_sqrt_inputs():
    rng = random.Random(7)
    vals = [1 - 2**-53, 1 - 2**-52, 4 * (1 - 2**-53), 0.5 * (1 - 2**-53), float.fromhex("0x1.489e8483eb841p-9")]
    vals += [rng.uniform(1e-6, 1.0) ** 2 * 10.0 ** rng.randint(-20, 20) for _ in range(50000)]
    vals += [1 + rng.randint(-2000, 2000) * 2**-53 for _ in range(20000)]   # |d|² of unit vectors
    return vals + [0.0, 4.0, 5e-324, float("inf")]


def test_csqrt_is_correctly_rounded_where_torch_sqrt_is_not():
    vals = _hard_sqrt_inputs()
    x = torch.tensor(vals, dtype=torch.float64)
    want = torch.tensor([math.sqrt(v) for v in vals], dtype=torch.float64)
    assert torch.equal(csqrt(x), want)
    # the reason csqrt exists: on this torch build plain sqrt misses some of these
    assert csqrt(torch.tensor(1 - 2**-53, dtype=torch.float64)).item() == 0.9999999999999999


def test_csqrt_keeps_nan_and_gradients():
    assert math.isnan(csqrt(torch.tensor(-1.0, dtype=torch.float64)).item())
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    csqrt(x).backward()
    assert x.grad.item() == pytest.approx(0.5 / math.sqrt(2.0), rel=1e-15)


def test_rdiv_is_one_ieee_division():
    rng = random.Random(3)
    vals = [rng.uniform(0.01, 10.0) for _ in range(50000)]
    t = torch.tensor(vals, dtype=torch.float64)
    assert torch.equal(rdiv(0.37, t), torch.tensor([0.37 / v for v in vals], dtype=torch.float64))


@pytest.mark.skipif(not (SHARED / "A.mat").is_file(), reason="../shared/data/supervisor not present")
def test_supervisor_pixel_doubles_of_spec_11_3_are_bit_exact(tmp_path):
    """Spec §11.3: the serial original's doubles for the ROI 1006–1010 × 1000–1001 (its first pixel has
    no φ carry-over history), reproduced with == by the torch port in c mode."""
    from nbparity.cases import SUPERVISOR_ARGS
    from simulator.api import run

    argv = SUPERVISOR_ARGS.replace("A.mat", str(SHARED / "A.mat")).replace("scaled.hkl", str(SHARED / "scaled.hkl"))
    r = run(argv.split(), roi=(1006, 1010, 1000, 1001), quirks="c", cwd=str(tmp_path))
    want = {(1006, 1000): 2.1429571139077188e-08, (1009, 1000): 1.3821171727729723e-07,
            (1010, 1000): 2.0311125396453425e-07, (1008, 1001): 4.8720180899983961e-08}
    got = {fs: float(r.image_double[fs[1], fs[0]]) for fs in want}
    assert got == want
