"""The pre-store image is differentiable in continuous inputs passed through `overrides`
(torch.autograd.gradcheck, float64, 3×3 pixels, SQUARE lattice with default_F).

-oversample is given explicitly: the automatic choice is a ceil() of the distance, which is a step
function (finite differences straddling a step would be meaningless)."""

import math

import pytest
import torch

ARGV = ("-cell 50 50 50 -default_F 100 -N 5 -detpixels 3 -pixel 0.2 -distance 50 -lambda 1 "
        "-misset 1 2 3 -Xbeam 5 -Ybeam 5 -nonoise -nopgm -oversample 2").split()


@pytest.mark.parametrize("field,value", [
    ("distance", 0.05),                 # m
    ("misset_x", 1.0 / (180.0 * (1.0 / math.pi))),   # rad
    ("cell_a", 50.0),                   # Å
])
def test_gradcheck(field, value, tmp_path):
    from simulator.api import run

    x = torch.tensor(value, dtype=torch.float64, requires_grad=True)

    def image(v):
        return run(ARGV, overrides={field: v}, cwd=str(tmp_path)).image_double

    out = image(x)
    assert out.requires_grad and out.dtype == torch.float64
    assert float(out.detach().abs().max()) > 0.0
    assert torch.autograd.gradcheck(image, (x,), eps=1e-6 * abs(value), atol=1e-8, rtol=1e-4)
