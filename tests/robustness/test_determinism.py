"""Item 5: the same case run twice gives identical images and identical metrics.json apart from its
volatile block (timings, host, paths).

The case is the synthetic supervisor inputs (A.mat + generated HKL) on a small detector with φ steps and
mosaic domains, so the RNG-driven parts (mosaic matrices) are exercised too.
"""

from __future__ import annotations

import json

import pytest

from . import bundles_in, c_binary, cli

VOLATILE = "volatile"


@pytest.fixture(scope="module")
def synthetic_args():
    from nbparity.synthetic import ensure_inputs

    mat, hkl = ensure_inputs()
    c_binary()
    return (f"-mat {mat} -hkl {hkl} -lambda 0.9768 -N 5 -distance 100 -pixel 0.172 -detpixels 24 "
            "-oversample 1 -phisteps 3 -osc 0.3 -mosaic 0.5 -mosaic_dom 3 -nonoise -nopgm -nointerpolate")


def _stable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != VOLATILE}


def _one(out):
    (b,) = bundles_in(out)
    return b


def test_compare_twice_is_identical(tmp_path, synthetic_args):
    bundles = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        r = cli(["compare", "--pixel", "11", "13", "--args", synthetic_args, "--out", str(out), "--quirks", "c"])
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        bundles.append(_one(out))
    a, b = bundles
    ma, mb = (json.loads((x / "metrics.json").read_text()) for x in (a, b))
    assert VOLATILE in ma, "metrics.json has no volatile block"
    assert _stable(ma) == _stable(mb)
    for name in ("c_trace.log", "py_trace.log", "factors.csv", "per_phi.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs between identical runs"
    assert ma["pixel_values"]["c_float"] == mb["pixel_values"]["c_float"]
    assert ma["pixel_values"]["torch_float"] == mb["pixel_values"]["torch_float"]


def test_image_twice_is_identical(tmp_path, synthetic_args):
    bundles = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        r = cli(["image", "--args", synthetic_args, "--out", str(out), "--quirks", "c", "--roi", "2", "17", "4", "15"])
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        bundles.append(_one(out))
    a, b = bundles
    for name in ("c_float.bin", "torch_float.bin"):
        assert (a / name).is_file(), f"{name} not in the image bundle"
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs between identical runs"
    ma, mb = (json.loads((x / "metrics.json").read_text()) for x in (a, b))
    assert _stable(ma) == _stable(mb), {k: (ma.get(k), mb.get(k)) for k in set(ma) | set(mb)
                                         if k != VOLATILE and ma.get(k) != mb.get(k)}
