"""OpenMP builds of the C reference (`nbparity build --openmp`, `make -C c_reference openmp`): the row loop
in one block of rows per thread, each thread starting from the pre-loop crystal state, as the original
runs under OpenMP. The harness recognises such a binary and sets and records its thread count."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from nbparity.cbuild import build
from nbparity.openmp import block_starts, is_openmp

ARGV = ("-default_F 100 -cell 50 60 70 90 90 90 -misset 10 20 30 -N 5 -lambda 1 -distance 100 -pixel 0.5 "
        "-detpixels 64 -phi 0 -osc 0.5 -phisteps 4 -nonoise -nopgm").split()


@pytest.fixture(scope="module")
def omp_binary():
    return build(None, ["-fopenmp"]).binary


def _image(binary, threads, tmp_path, name):
    p = subprocess.run([str(binary), *ARGV, "-floatfile", name], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    assert p.returncode == 0, p.stderr[-2000:]
    return np.fromfile(tmp_path / name, dtype="<f4").reshape(64, 64)


def test_openmp_binary_is_recognised(omp_binary, c_reference_binary):
    assert is_openmp(omp_binary) and not is_openmp(c_reference_binary)


def test_static_split_of_rows():
    assert block_starts(2527, 2) == [0, 1264]          # the supervisor frame on 2 threads
    assert block_starts(2527, 3) == [0, 843, 1685]
    assert block_starts(64, 4) == [0, 16, 32, 48]
    assert block_starts(3, 8) == [0, 1, 2]


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_the_carry_over_restarts_at_each_block(omp_binary, c_reference_binary, tmp_path, threads):
    """Only the first pixel of each thread's block after the first differs from the serial image: that
    thread ran its φ=0 step on the unrotated crystal instead of the previous pixel's last step."""
    serial = _image(c_reference_binary, 1, tmp_path, "serial.bin")
    omp = _image(omp_binary, threads, tmp_path, "omp.bin")
    differ = [tuple(x) for x in np.argwhere(omp != serial).tolist()]
    assert differ == [(row, 0) for row in block_starts(64, threads)[1:]]


def test_compare_sets_and_records_the_thread_count(omp_binary, tmp_path):
    from nbparity.cli import main

    rc = main(["compare", "--pixel", "40", "5", "--args", " ".join(ARGV), "--c-bin", str(omp_binary),
               "--c-threads", "3", "--out", str(tmp_path), "--json"])
    (bundle,) = tmp_path.iterdir()
    m = json.loads((bundle / "metrics.json").read_text())
    assert rc == 0 and m["identity"]["c"]["threads"] == 3 and m["identity"]["c"]["openmp"] is True
    assert json.loads((bundle / "env.json").read_text())["c_threads"] == 3
    assert any("OpenMP build run on 3 threads" in w for w in m["warnings"])
    assert json.loads((bundle / "request.json").read_text())["c"]["threads"] == 3
