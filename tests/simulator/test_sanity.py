"""Physically meaningless values are bad input naming the option (exit 2), not NaN or an internal error."""

import subprocess
import sys
from pathlib import Path

import pytest

from nbparity.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
BASE = "-cell 50 60 70 90 90 90 -default_F 100 -N 2 -detpixels 8 -nonoise -nopgm -noprogress".split()
BAD = [(["-lambda", "0"], "-lambda 0: the wavelength"), (["-energy", "0"], "-energy 0: the wavelength"),
       (["-wavelength", "-1"], "-wavelength -1: the wavelength"), (["-lambda", "nan"], "-lambda nan"),
       (["-cell", "50", "60", "70", "180", "90", "90"], "-cell: the angles 180, 90, 90° describe no unit cell")]


@pytest.mark.parametrize("extra,message", BAD)
def test_simulator_cli_refuses(extra, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "simulator", *BASE, *extra], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simulator: ") and message in lines[0]
    assert "Traceback" not in proc.stderr and not list(tmp_path.iterdir())   # nothing written


def test_c_prints_nan_for_lambda_0(tmp_path, c_reference_binary):
    """Why refusing is right: the C runs and prints NaN statistics."""
    out = subprocess.run([str(c_reference_binary), *BASE, "-lambda", "0"], cwd=tmp_path,
                         capture_output=True, text=True).stdout
    assert "mean= -nan" in out or "mean= nan" in out


@pytest.mark.parametrize("extra,message", BAD[:2])
def test_harness_refuses_before_running(extra, message, tmp_path):
    from nbparity.flows.image import run_image
    from nbparity.pipeline import compare_pixel
    from nbparity.request import CaseSpec, ImageRequest, OutputSpec

    with pytest.raises(UsageError, match=message) as exc:
        compare_pixel(3, 3, args=" ".join(BASE + extra), quirks="c", out=str(tmp_path))
    assert exc.value.exit_code == 2
    with pytest.raises(UsageError, match=message):
        run_image(ImageRequest(case=CaseSpec(args=" ".join(BASE + extra)), output=OutputSpec(out=str(tmp_path))))
    assert not list(tmp_path.iterdir())   # no bundle


@pytest.mark.parametrize("extra", [["-N", "0"], ["-N", "-3"], ["-oversample", "0"], ["-detpixels", "0"]])
def test_values_the_spec_defines_still_run(extra):
    import simulator

    r = simulator.run(BASE + extra, quirks="c")
    assert float(r.image.sum()) > 0
