"""Tracing a pixel changes no pixel: the trace values are taps on the code path that renders the image
(simulator/taps.py), so the float image written with -trace_pixel is bit-identical to the one without,
in float32 (offset or general path) and float64."""

from pathlib import Path

import numpy as np
import pytest

from simulator.__main__ import main as simulator_main

# the float32 render of this case takes the offset path (kernel_offsets.py) in every chunk
OFFSET = ("-cell 50 60 70 90 90 90 -N 10 -phi 0 -osc 0.1 -phisteps 10 -default_F 100 -distance 100 "
          "-pixel 0.1 -detpixels 256 -lambda 1 -misset 10 20 30")
SMALL = "-lambda 1 -distance 50 -pixel 0.2 -detpixels 24 -N 5 -cell 50 60 70 90 90 100 -misset 10 20 30"
CASES = {
    "offset": (OFFSET, (200, 194)),
    # the general path in float32 too: tricubic interpolation (in range in spec mode), a non-SQUARE shape
    "interpolate": (f"-hkl small.hkl {SMALL} -interpolate -default_F 3", (12, 12)),
    "round": (f"-hkl small.hkl {SMALL} -round_xtal -phi 0 -osc 1 -phisteps 2", (12, 12)),
}


def _write_hkl(d: Path) -> None:
    rng = np.random.default_rng(11)
    rows = [f"{h} {k} {l} {rng.uniform(5, 200):.3f}"
            for h in range(-3, 4) for k in range(-3, 4) for l in range(-3, 4)]
    (d / "small.hkl").write_text("\n".join(rows) + "\n")


def _floatimage(argv, name, capsys):
    rc = simulator_main(argv + ["-floatfile", name, "-nonoise", "-nopgm"])
    out = capsys.readouterr().out
    assert rc == 0, out[-500:]
    return np.fromfile(name, dtype="<u4"), out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_trace_pixel_changes_no_pixel(tmp_path, monkeypatch, capsys, name, dtype):
    monkeypatch.chdir(tmp_path)
    _write_hkl(tmp_path)
    args, (slow, fast) = CASES[name]
    argv = args.split() + ["-dtype", dtype]
    plain, _ = _floatimage(argv, "plain.bin", capsys)
    traced, out = _floatimage(argv + ["-trace_pixel", str(slow), str(fast)], "traced.bin", capsys)
    assert "TRACE_PY: hkl_frac" in out and "TRACE_PY: I_pixel_final" in out
    assert plain.view(np.float32).max() > 0
    differ = int(np.count_nonzero(plain != traced))
    assert differ == 0, f"{differ} pixels changed by -trace_pixel"


def test_float32_interpolation_renders(tmp_path):
    """float32 tricubic interpolation (float64 h) stores into the float32 F_cell (it used to raise)."""
    from simulator.api import run
    _write_hkl(tmp_path)
    argv = f"-hkl small.hkl {SMALL} -interpolate -default_F 3".split()
    r32 = run(argv, dtype="float32", cwd=str(tmp_path)).image_double.double()
    r64 = run(argv, dtype="float64", cwd=str(tmp_path)).image_double
    bright = r64 > 1e-3 * r64.max()
    assert bool(bright.any())
    assert float(((r32 - r64).abs() / r64)[bright].max()) < 1e-5
