"""Acceptance of `nbparity compare` on real runs of both sides (C reference + torch simulator)."""

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nbparity import cbuild
from nbparity.bundle import verify_bundle
from nbparity.cli import main

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "supervisor"   # ../shared beside the repo
PIXEL = (685, 1039)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One C build cache for the module; reports in a temporary directory."""
    root = tmp_path_factory.mktemp("cmp")
    old = {k: os.environ.get(k) for k in ("NBPARITY_CACHE", "NBPARITY_DATA", "NBPARITY_TEST_PERTURB")}
    os.environ["NBPARITY_CACHE"] = str(root / "cache")
    os.environ.pop("NBPARITY_DATA", None)
    os.environ.pop("NBPARITY_TEST_PERTURB", None)
    yield root
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _compare(env, *args, perturb=None, capsys=None):
    out = env / "reports"
    if perturb:
        os.environ["NBPARITY_TEST_PERTURB"] = perturb
    try:
        rc = main(["compare", "--pixel", *map(str, PIXEL), "--json", "--out", str(out), *args])
    finally:
        os.environ.pop("NBPARITY_TEST_PERTURB", None)
    doc = json.loads(capsys.readouterr().out)
    return rc, doc


def test_c_mode_float64_is_exact_parity_synthetic(env, capsys):
    rc, doc = _compare(env, "--case", "supervisor-synthetic", "--quirks", "c", "--dtype", "float64", capsys=capsys)
    assert (rc, doc["verdict"], doc["exit_code"]) == (0, "identical", 0)
    assert doc["comparison"]["counts"]["failed"] == 0 and doc["comparison"]["counts"]["compared"] > 50
    assert doc["pixel_values"]["c_float"] == doc["pixel_values"]["torch_float"]
    assert doc["region"]["roi"] == [PIXEL[1] - 1, PIXEL[1], PIXEL[0], PIXEL[0]]
    b = Path(doc["bundle"])
    assert verify_bundle(b).ok and "volatile" in json.loads((b / "metrics.json").read_text())


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/supervisor absent")
def test_c_mode_float64_is_exact_parity_supervisor(env, capsys):
    rc, doc = _compare(env, "--data-dir", str(SHARED), "--quirks", "c", capsys=capsys)
    assert doc["case"]["name"] == "supervisor"
    assert (rc, doc["verdict"]) == (0, "identical")


def test_spec_mode_explained_by_carry_over_and_strict(env, capsys):
    rc, doc = _compare(env, "--case", "supervisor-synthetic", "--quirks", "spec", capsys=capsys)
    att = doc["attribution"]
    assert (rc, doc["verdict"]) == (0, "explained")
    assert set(att["triggered"]) == {"C-PARITY-001", "C-PIX0-001"} and att["unexplained"] == 0
    carry = [m for m in att["messages"] if m.startswith("C-PARITY-001")]
    assert carry and "φ step 0" in carry[0]
    assert any(m.startswith("C-PIX0-001") for m in att["messages"])
    # the bundle's script re-runs its request.json: the same verdict, so exit 0, and a new bundle
    script = subprocess.run(["bash", str(Path(doc["bundle"]) / "commands.txt"), str(env / "replay")],
                            capture_output=True, text=True, timeout=300)
    assert script.returncode == 0, script.stderr[-2000:]
    assert script.stdout.startswith("EXPLAINED — 131 divergent values explained by known C quirks")
    (replay,) = (env / "replay").iterdir()
    assert json.loads((replay / "metrics.json").read_text())["verdict"] == "explained"
    again, first = (json.loads((d / "request.json").read_text()) for d in (replay, Path(doc["bundle"])))
    assert {k: v for k, v in again.items() if k != "output"} == {k: v for k, v in first.items() if k != "output"}
    rc, doc = _compare(env, "--case", "supervisor-synthetic", "--quirks", "spec", "--strict", capsys=capsys)
    assert (rc, doc["verdict"], doc["exit_code"]) == (1, "explained", 1)


@pytest.mark.parametrize("perturb, root", [("fluence:1.0001", "fluence"), ("spindle_axis:-1", "spindle")])
def test_one_sided_perturbation_is_named(env, capsys, perturb, root):
    rc, doc = _compare(env, "--case", "supervisor-synthetic", "--quirks", "c", perturb=perturb, capsys=capsys)
    assert (rc, doc["verdict"]) == (1, "divergent")
    roots = [r["key"] for r in doc["comparison"]["root_causes"]]
    assert root in roots, roots


def test_bundle_integrity_and_tamper(env, capsys):
    rc, doc = _compare(env, "--case", "supervisor-synthetic", "--quirks", "c", capsys=capsys)
    b = Path(doc["bundle"])
    if shutil.which("sha256sum"):
        assert subprocess.run(["sha256sum", "-c", "--quiet", "sha256.txt"], cwd=b).returncode == 0
    assert main(["bundle", "verify", str(b)]) == 0
    data = bytearray((b / "per_phi.csv").read_bytes())
    data[-2] ^= 1
    (b / "per_phi.csv").write_bytes(bytes(data))
    assert verify_bundle(b).changed == ["per_phi.csv"] and main(["bundle", "verify", str(b)]) == 1
    script = (b / "commands.txt").read_text()
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert subprocess.run(["bash", "-n", str(b / "commands.txt")]).returncode == 0


def test_narrowed_pixel_equals_full_frame(env, tmp_path):
    """A small detector: the narrowed run's pixel equals the full-frame value, on both sides."""
    from nbparity.cases import resolve_case
    from nbparity.pipeline import compare_pixel
    from nbparity.runners import run_c, run_torch

    argv = resolve_case("supervisor-synthetic").argv
    for flag, vals in (("-detpixels_x", ["64"]), ("-detpixels_y", ["64"]), ("-distance", ["60"]),
                       ("-Xbeam", ["5.5"]), ("-Ybeam", ["5.5"])):
        i = argv.index(flag)
        argv[i + 1:i + 1 + len(vals)] = vals
    binary = cbuild.build().binary
    full = run_c(binary, argv, tmp_path / "c").load_image((64, 64))
    slow, fast = np.unravel_index(int(np.argmax(full)), full.shape)
    assert full[slow, fast] > 10 * np.median(full) > 0  # a pixel on a reflection
    py_full = run_torch(argv, tmp_path / "py", quirks="c").result.image.numpy()
    r = compare_pixel(int(slow), int(fast), args=shlex.join(argv), quirks="c", out=str(tmp_path / "rep"))
    assert r.metrics["pixel_values"]["c_float"] == float(full[slow, fast])
    assert r.metrics["pixel_values"]["torch_float"] == float(py_full[slow, fast])
    assert r.exit_code == 0


def test_pixel_not_rendered_is_exit_2(env, capsys):
    assert main(["compare", "--pixel", "3000", "5", "--case", "supervisor-synthetic", "--out",
                 str(env / "reports")]) == 2
    assert "is not rendered" in capsys.readouterr().err
