import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.tracing import f17
from simulator.writers import smv_header
from nbparity.cases import SUPERVISOR_ARGS as SUPERVISOR_COMMAND

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("NBPARITY_SHARED", ROOT.parent / "shared"))
SUPERVISOR = SUPERVISOR_COMMAND.split()   # spec §11, one definition in nbparity.cases


def test_f17_matches_glibc_spelling():
    assert [f17(x) for x in (0.1, -0.0, float("inf"), -float("inf"), float("nan"), 1e24)] == \
        ["0.10000000000000001", "-0", "inf", "-inf", "nan", "9.9999999999999998e+23"]
    assert f17(-float("nan")) == "-nan"


def test_smv_header_layout():
    from .kernel_fixtures import toy_setup
    h = smv_header(toy_setup())
    assert len(h) == 512 and h.startswith(b"{\nHEADER_BYTES=512;\nDIM=2;\n")
    text = h.decode()
    assert "BEAMLINE=fake;\n}\f" in text and text.rstrip(" ").endswith("}\f")
    dials = [ln for ln in text.splitlines() if ln.startswith("DIALS_ORIGIN=")][0]
    assert not dials.endswith(";")


@pytest.mark.skipif(not (SHARED / "data/supervisor/A.mat").exists(), reason="../shared/data absent")
def test_supervisor_roi_values(tmp_path):
    """Spec §11.3 per-pixel doubles of the serial C build (first pixel of ROI renders unrotated)."""
    from simulator.api import run
    for f in ("A.mat", "scaled.hkl"):
        (tmp_path / f).symlink_to(SHARED / "data/supervisor" / f)
    r = run(SUPERVISOR, roi=(1006, 1010, 1000, 1001), quirks="c", cwd=str(tmp_path), trace_pixel=(1000, 1010))
    im = r.image_double
    assert im[1000, 1009].item() == 1.3821171727729723e-07
    assert im[1000, 1010].item() == 2.0311125396453425e-07
    for (f, s), want in {(1006, 1000): 2.1429571139077188e-08, (1008, 1001): 4.8720180899983961e-08}.items():
        assert abs(im[s, f].item() - want) <= 1e-15 * want
    assert sum(ln.startswith("TRACE_PY_CONFIG ") for ln in r.trace_lines) == 5
    assert "TRACE_PY: I_pixel_final 2.0311125396453425e-07" in r.trace_lines
    assert r.image.dtype.is_floating_point and r.image.element_size() == 4


def _cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_help_is_cheap_and_exit_codes(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import sys, simulator.__main__ as m; m.main(['--help']);"
                        "print('TORCH', 'torch' in sys.modules)"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage:" in r.stdout and "TORCH False" in r.stdout
    bad = _cli(["-cell", "50", "50", "50", "-default_F", "1", "-dtype", "float16"], tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert _cli(["-quirks", "nope"], tmp_path).returncode == 2
    assert _cli(["-N", "5"], tmp_path).returncode == 9


def test_cli_writes_outputs_like_c(tmp_path):
    args = "-cell 50 50 50 -default_F 10 -N 3 -detpixels 8 -pixel 0.2 -distance 50 -nonoise -oversample 1".split()
    r = _cli(args + ["-trace_pixel", "4", "4", "-quirks", "c"], tmp_path)
    assert r.returncode == 0, r.stderr
    img = np.fromfile(tmp_path / "floatimage.bin", dtype="<f4")
    assert img.size == 64 and img.max() > 0
    assert (tmp_path / "intimage.img").stat().st_size == 512 + 2 * 64
    assert (tmp_path / "image.pgm").exists()
    out = r.stdout.splitlines()
    assert "writing floatimage.bin as 64 4-byte floats" in out
    assert any(ln.startswith("TRACE_PY: floatimage_accumulated ") for ln in out)
    assert any(ln.startswith("mean= ") for ln in out) and any(ln.startswith("intfile_scale = ") for ln in out)
