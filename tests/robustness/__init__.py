"""Hostile input and faults (issue 8): shared helpers for the robustness tests.

Everything here is plain functions (no pytest plugins): the test modules import what they need with
`from . import ...`. Subprocesses always get argv lists, run in temporary directories and are bounded by
timeouts, so a regression fails a test instead of hanging the suite.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = HERE / "corpus" / "argv.txt"
FIXTURES = HERE / "fixtures"
PY = sys.executable

# the smallest case both sides accept: used as a prefix so that the hostile tokens that follow win
BASE_ARGS = ["-default_F", "100", "-cell", "30", "30", "30", "90", "90", "90", "-detpixels", "8",
             "-oversample", "1", "-N", "1", "-nonoise", "-nopgm", "-noprogress"]

# every nanoBragg option name of spec §1 (plus the trace options of our builds)
OPTION_NAMES = """
-cell -mat -misset -misset_seed -N -Na -Nb -Nc -xtalsize -xtal_size -samplesize -sample_size
-xtal_thick -xtal_x -sample_thick -sample_x -xtal_width -xtal_y -sample_width -sample_y -width
-xtal_height -xtal_z -sample_height -sample_z -height -density -sample_den -MW -molecules -square_xtal
-round_xtal -gauss_xtal -binary_spots -tophat_spots -fudge -hkl -default_F -dump -interpolate
-nointerpolate -lambda -wave -wavelength -energy -dispersion -dispsteps -divergence -hdivrange -vdivrange
-hdivstep -vdivstep -hdivsteps -vdivsteps -divsteps -round_div -square_div -sourcefile -polar -nopolar
-polar_vector -beam_vector -fluence -flux -exposure -beamsize -water -coherent -pixel -detpixels
-detpixels_f -detpixels_x -detpixels_s -detpixels_y -detsize -detsize_f -detsize_s -distance
-close_distance -Xbeam -Ybeam -Xclose -Yclose -ORGX -ORGY -detector_rotx -detector_roty -detector_rotz
-twotheta -twotheta_axis -fdet_vector -sdet_vector -odet_vector -pix0_vector -pix0_vector_mm -curved_det
-point_pixel -detector_abs -detector_thick -detector_thicksteps -thicksteps -mosflm -xds -adxv -denzo
-dials -pivot -phi -osc -phistep -phisteps -spindle_axis -mosaic -mosaic_spread -mosaic_dom
-mosaic_domains -mosaic_seed -oversample -oversample_thick -oversample_polar -oversample_omega -roi -dmin
-floatfile -floatimage -intfile -intimage -pgmfile -pgmimage -noisefile -noiseimage -nonoise -nopgm
-scale -pgmscale -adc -stolout -seed -img -mask -printout -printout_pixel -noprogress -progress -stol
-4stol -Q -trace_pixel -dump_pixel
""".split()

# small input files the corpus names (relative to the run directory)
HOSTILE_FILES = {
    "empty.txt": b"",
    "garbage.txt": b"not a number\n1 2\n\xff\xfe\x00garbage\n-1e999 nan inf\n",
    "garbage.hkl": b"1 2 3 100\nabc def ghi\n-1 -1 -1 nan\n2 0 0 inf\n0 0 0\n  \n3 3 3 1e308 extra tokens\n",
    "garbage.bin": bytes((i * 97 + 13) % 256 for i in range(4096)),
}


def corpus_lines() -> list[list[str]]:
    """The saved hostile argv lines (one argv per line, shell-quoted)."""
    out = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(shlex.split(line))
    return out


def make_hostile_files(directory: Path) -> None:
    for name, data in HOSTILE_FILES.items():
        (directory / name).write_bytes(data)


def install_fixture(name: str, directory: Path, **subst: str) -> Path:
    """Copy a fixture script into `directory`, substitute @KEY@ placeholders, make it executable."""
    text = (FIXTURES / name).read_text()
    for key, value in subst.items():
        text = text.replace(f"@{key}@", value)
    dst = directory / name
    dst.write_text(text)
    dst.chmod(dst.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return dst


def nbparity_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBPARITY_TEST")}
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_nbparity(args: list[str], cwd: Path | str | None = None, timeout: float = 180, env=None):
    """`python -m nbparity ARGS` as a subprocess (argv list); returns CompletedProcess (text)."""
    return subprocess.run([PY, "-m", "nbparity", *map(str, args)], cwd=cwd or REPO, capture_output=True,
                          text=True, timeout=timeout, env=env or nbparity_env())


class CliResult:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(args: list[str]) -> CliResult:
    """`nbparity ARGS` in-process through nbparity.cli.main (the console entry point's code path),
    capturing stdout/stderr; an exception escaping main() fails the calling test."""
    import contextlib
    import io

    from nbparity.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    return CliResult(rc, out.getvalue(), err.getvalue())


TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


def assert_one_line_error(proc, code: int, contains: str | None = None) -> str:
    """The documented failure shape: exit `code`, no traceback, exactly one `nbparity: ...` stderr line."""
    err = proc.stderr
    assert proc.returncode == code, (
        f"exit {proc.returncode}, expected {code}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{err[-3000:]}")
    assert not TRACEBACK.search(err), f"traceback without --debug:\n{err[-3000:]}"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.startswith("nbparity:")]
    assert len(errs) == 1, f"expected one 'nbparity:' line on stderr, got:\n{err[-3000:]}"
    if contains is not None:
        assert contains in errs[0], f"{contains!r} not in {errs[0]!r}"
    return errs[0]


def c_binary() -> Path:
    """The C reference through nbparity's build cache (the same build the tests' c_reference_binary
    session fixture returns: built once, keyed by sources + flags + compiler)."""
    from nbparity.cbuild import build

    return build().binary


def asan_binary() -> Path:
    binary = REPO / "c_reference" / "build" / "nanoBragg-asan"
    subprocess.run(["make", "-C", str(REPO / "c_reference"), "asan"], check=True, capture_output=True,
                   timeout=600)
    return binary


def bundles_in(directory: Path) -> list[Path]:
    """Complete-looking bundles: directories holding a sha256.txt."""
    return sorted(p.parent for p in Path(directory).rglob("sha256.txt"))


def copytree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
