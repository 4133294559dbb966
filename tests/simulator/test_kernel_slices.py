"""A pixel rendered in boxes of its iteration space (kernel_slices.py) equals the unsliced render bit for
bit, trace included, in every quirk mode; the memory budget refuses what cannot fit (exit 2)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import simulator.kernel as kernel
from simulator.argv import parse_argv
from simulator.kernel import render
from simulator.memory_budget import MemoryBudgetError, fixed_bytes, parse_size
from simulator.quirks import as_quirks
from simulator.setup import derive

ROOT = Path(__file__).resolve().parents[2]
BASE = ("-cell 50 60 70 90 90 90 -distance 100 -pixel 0.5 -nonoise -nopgm -lambda 1 -N 4 -detpixels 2 "
        "-default_F 100").split()
CASES = {   # each with K = T·J·S·F·M iterations per pixel spread over several levels
    "os_flags": "-oversample 3 -oversample_thick -oversample_polar -oversample_omega -detector_thick 0.5 "
                "-detector_thicksteps 2",
    "thick_water": "-oversample 2 -detector_thick 0.5 -detector_thicksteps 3 -water 50",
    "phi_mosaic": "-oversample 2 -mosaic 1 -mosaic_dom 3 -phi 0 -osc 2 -phisteps 3",
    "sources": "-divergence 1 -divsteps 2 -oversample 2 -polar 0.5",
}
MODES = ("spec", "c", "c,-C-OVERSAMPLE-001")


def _setup(extra, mode):
    q = as_quirks(mode)
    return derive(parse_argv(BASE + extra.split(), r1=q.r1_option_matching), quirks=q, cwd=".", write_fdump=False)


def _same(a, b):
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    return a == b


@pytest.fixture
def sliced_pixels(monkeypatch):
    """Counts the pixels kernel.render hands to the sliced path."""
    seen = []
    real = kernel.render_pixel

    def counting(c, state, pix, max_iters, traced=False):
        seen.append(max_iters)
        return real(c, state, pix, max_iters, traced)
    monkeypatch.setattr(kernel, "render_pixel", counting)
    return seen


def _assert_sliced_equal(s, mode, boxes, sliced_pixels, dtype=torch.float64, **kw):
    whole = render(s, quirks=mode, dtype=dtype, trace_pixel=(1, 1), **kw)
    assert float(whole.image_double.max()) > 0 and not sliced_pixels
    for box in boxes:
        sliced = render(s, quirks=mode, dtype=dtype, trace_pixel=(1, 1), box_iterations=box, **kw)
        assert sliced_pixels == [box] * 4   # every pixel of the 2×2 detector went through the boxes
        sliced_pixels.clear()
        assert torch.equal(sliced.image_double, whole.image_double), (mode, box)
        assert torch.equal(sliced.image, whole.image)
        assert sliced.trace.keys() == whole.trace.keys()
        bad = [k for k in whole.trace if not _same(whole.trace[k], sliced.trace[k])]
        assert not bad, (mode, box, bad)
        assert sliced.messages == whole.messages
        assert sliced.omega_sum == pytest.approx(whole.omega_sum, rel=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", MODES)
def test_sliced_equals_unsliced_float64(case, mode, sliced_pixels):
    s = _setup(CASES[case], mode)
    K = s.thicksteps * s.oversample ** 2 * len(s.source_dirs) * s.phisteps * len(s.mosaic_umats)
    # 1: one iteration per box (split at the mosaic level); 5: runs inside a level; K // 3: whole runs
    _assert_sliced_equal(s, mode, (1, 5, K // 3), sliced_pixels)


def test_sliced_equals_unsliced_openmp_blocks(sliced_pixels):
    """C-OMP-001: each thread block's first φ run, split over boxes, still uses the first-run lattice."""
    s = _setup(CASES["phi_mosaic"], "c")
    _assert_sliced_equal(s, "c", (2,), sliced_pixels, omp_threads=2)


def test_sliced_equals_unsliced_float32(sliced_pixels):
    """Float32 pixels large enough to slice sum sequentially; a box continues that scan exactly."""
    s = _setup("-oversample 8 -mosaic 1 -mosaic_dom 3 -phi 0 -osc 2 -phisteps 3 -divergence 1 -divsteps 2 "
               "-oversample_omega -detector_thick 0.5 -detector_thicksteps 2", "c")
    for mode in ("c", "spec"):
        _assert_sliced_equal(s, mode, (1000, 4000), sliced_pixels, dtype=torch.float32)


def test_budget_slices_a_pixel_that_does_not_fit(sliced_pixels):
    """-max_memory small enough that one pixel's K·384 bytes (float64) exceed the work budget."""
    s = _setup("-oversample 16 -phi 0 -osc 2 -phisteps 5 -mosaic 1 -mosaic_dom 20", "c")   # K = 25600 per pixel
    whole = render(s, quirks="c")
    assert not sliced_pixels
    limit = 40 * 2**20 + 2**16
    small = render(s, quirks="c", max_memory=limit)
    work = limit - sum(fixed_bytes(s, torch.float64, False).values())   # ~8 MiB beside the image and tables
    assert sliced_pixels == [work // (2 * 384)] * 4 and work // 384 < 25600   # boxes of half a chunk's elements
    assert torch.equal(small.image_double, whole.image_double)
    with pytest.raises(MemoryBudgetError, match="render refused"):
        render(s, quirks="c", max_memory=38 * 2**20)


def test_parse_size():
    assert parse_size("1536") == 1536 and parse_size("512M") == 512 * 2**20 and parse_size("1.5G") == 3 * 2**29
    for bad in ("", "12Q", "-1", "0", "1e400"):
        with pytest.raises(ValueError):
            parse_size(bad)


def _simulator(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "simulator", *BASE, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_refuses_a_render_over_the_budget(tmp_path):
    p = _simulator("-detpixels", "4000", "-max_memory", "64M", cwd=tmp_path)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "render refused" in lines[0] and "image 732.4 MiB" in lines[0], p.stderr
    assert not list(tmp_path.iterdir())   # refused before anything was written
    p = _simulator("-max_memory", "lots", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.strip().splitlines() == [
        "simulator: bad -max_memory 'lots': give bytes, or a number with K, M, G or T"]


@pytest.mark.parametrize("reach", [3, 1])
def test_sliced_equals_unsliced_interpolated(tmp_path, monkeypatch, reach, sliced_pixels):
    """Tricubic F_cell; with a grid of ±1 the C-INTERP-001 kill switch fires in the first box and holds
    for every later box and pixel (its warning printed once)."""
    lines = [f"{h} {k} {l} {10 + (7 * h + 3 * k + l) % 11}" for h in range(-reach, reach + 1)
             for k in range(-reach, reach + 1) for l in range(-reach, reach + 1)]
    (tmp_path / "tiny.hkl").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    for mode in ("c", "spec"):
        s = _setup("-hkl tiny.hkl -interpolate -oversample 2 -phi 0 -osc 2 -phisteps 3", mode)
        _assert_sliced_equal(s, mode, (1, 5), sliced_pixels)
        if reach == 1 and mode == "c":
            assert render(s, quirks=mode).messages[0].startswith("WARNING: out of range")
