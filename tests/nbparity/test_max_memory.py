"""--max-memory on the commands that render: the simulator's budget, recorded in request.json; a render it
cannot hold is refused with one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbparity.errors import UsageError
from nbparity.request import CaseSpec, CompareRequest, TorchSpec, request_from_dict, request_to_dict

ROOT = Path(__file__).resolve().parents[2]
ARGS = ("-cell 50 60 70 90 90 90 -default_F 100 -distance 100 -pixel 0.5 -oversample 2 -nonoise -nopgm "
        "-lambda 1 -N 4 -detpixels 32")


def _compare(tmp_path, binary, *extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "nbparity", "compare", "--pixel", "16", "16", "--quirks", "c",
                           "--args", ARGS, "--c-bin", str(binary), "--out", str(tmp_path / "out"), *extra],
                          env=env, capture_output=True, text=True, timeout=300)


def test_compare_records_max_memory(tmp_path, c_reference_binary):
    p = _compare(tmp_path, c_reference_binary, "--max-memory", "64M")
    assert p.returncode == 0, p.stderr
    (req,) = (tmp_path / "out").glob("*/request.json")
    assert json.loads(req.read_text())["torch"]["max_memory"] == 64 * 2**20


def test_compare_refuses_a_render_over_the_budget(tmp_path, c_reference_binary):
    p = _compare(tmp_path, c_reference_binary, "--max-memory", "1M")
    assert p.returncode == 2, p.stderr
    refused = [ln for ln in p.stderr.splitlines() if "render refused" in ln]
    assert refused == ["nbparity: render refused: it needs at least 40.0 MiB (runtime 32.0 MiB, image 48.0 KiB, "
                       "tables 288 B, trace 640 B, work 8.0 MiB) and the memory budget (max memory) is 1.0 MiB"]
    assert not list((tmp_path / "out").glob("*/request.json"))   # no bundle


def test_bad_size_is_a_usage_error(tmp_path, c_reference_binary):
    p = _compare(tmp_path, c_reference_binary, "--max-memory", "lots")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1] == (
        "nbparity: --max-memory: bad size 'lots': give bytes, or a number with K, M, G or T")


def test_request_round_trip():
    req = CompareRequest(pixel=(1, 2), case=CaseSpec(args="-N 1"), torch=TorchSpec(quirks="c", max_memory=12345))
    d = request_to_dict(req)
    assert d["torch"]["max_memory"] == 12345
    assert request_from_dict(d).torch.max_memory == 12345
    d["torch"]["max_memory"] = "12G"
    with pytest.raises(UsageError, match="max_memory"):
        request_from_dict(d)
