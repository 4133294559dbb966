"""Case resolution: built-ins, data search, YAML/--args cases, absolute inputs, synthetic inputs."""

import math

import shlex
from pathlib import Path

import numpy as np
import pytest

from nbparity import cases, synthetic
from nbparity.errors import UsageError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "supervisor"   # ../shared beside the repo


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("NBPARITY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NBPARITY_DATA", raising=False)
    monkeypatch.chdir(tmp_path)


def test_synthetic_default_when_inputs_missing(tmp_path):
    c = cases.resolve_case()
    assert c.name == "supervisor-synthetic"
    assert "not found" in c.why and "supervisor-synthetic" in c.why
    mat, hkl = Path(c.files["-mat"]), Path(c.files["-hkl"])
    assert mat.is_absolute() and hkl.is_file()
    # the same command as spec §11 apart from the two input paths
    ref = shlex.split(cases.SUPERVISOR_ARGS)
    assert len(c.argv) == len(ref) and [a for a in c.argv if a not in (str(mat), str(hkl))] == \
        [a for a in ref if a not in ("A.mat", "scaled.hkl")]


def test_synthetic_inputs_are_the_requested_cell():
    mat, hkl = synthetic.ensure_inputs()
    A = np.loadtxt(mat) / synthetic.LAMBDA_A  # columns a*, b*, c* in 1/Å
    a, b, c = np.linalg.inv(A)  # rows: real-space a, b, c
    ang = lambda u, v: math.degrees(math.acos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))
    got = (np.linalg.norm(a), np.linalg.norm(b), np.linalg.norm(c), ang(b, c), ang(a, c), ang(a, b))
    assert np.allclose(got, synthetic.CELL, atol=1e-5)
    lines = hkl.read_text().splitlines()
    assert len(lines) == 49 ** 3
    h, k, l, F = lines[0].split()
    assert (h, k, l) == ("-24", "-24", "-24") and float(F) > 0  # plain integer indices
    assert min(float(x.split()[3]) for x in lines[:2000]) >= 1.0
    before = hkl.stat().st_mtime_ns
    assert synthetic.ensure_inputs() == (mat, hkl) and hkl.stat().st_mtime_ns == before  # reused


def test_supervisor_case_from_data_dir(tmp_path):
    if not SHARED.is_dir():
        pytest.skip("../shared/data/supervisor absent")
    c = cases.resolve_case(data_dir=str(SHARED))
    assert c.name == "supervisor" and Path(c.files["-mat"]) == (SHARED / "A.mat").resolve()
    assert cases.resolve_case(data_dir=str(SHARED.parent)).name == "supervisor"  # .../supervisor subdir


def test_supervisor_required_but_missing():
    with pytest.raises(UsageError, match="supervisor-synthetic"):
        cases.resolve_case("supervisor")


def test_yaml_case_and_args(tmp_path):
    d = tmp_path / "my case"
    d.mkdir()
    (d / "cell.hkl").write_text("0 0 1 10.0\n")
    (d / "c.yaml").write_text("name: tiny\nargs: -cell 10 10 10 90 90 90 -hkl cell.hkl -detpixels 8\n")
    c = cases.resolve_case(str(d / "c.yaml"))
    assert c.name == "tiny" and c.argv[c.argv.index("-hkl") + 1] == str(d / "cell.hkl")
    c2 = cases.resolve_case(args=f"-hkl {shlex.quote(str(d / 'cell.hkl'))} -default_F 1")
    assert c2.name == "custom" and c2.files["-hkl"] == str(d / "cell.hkl")
    with pytest.raises(UsageError, match="not found"):
        cases.resolve_case(args="-hkl missing.hkl")
    with pytest.raises(UsageError):
        cases.resolve_case("no-such-case")
    with pytest.raises(UsageError):
        cases.resolve_case("supervisor", args="-default_F 1")


def test_float_image_name():
    assert cases.float_image_name(["-floatfile", "a.bin", "-floatimage", "b.bin"]) == "b.bin"
    assert cases.float_image_name(["-nonoise"]) == "floatimage.bin"


# --- inputs named are inputs used -------------------------------------------------------------------------


def test_synthetic_default_says_synthetic_inputs():
    c = cases.resolve_case()
    assert c.why.startswith("synthetic inputs: A.mat/scaled.hkl not found in the current directory")
    assert "synthetic inputs" in cases.resolve_case("supervisor-synthetic").why


def test_named_data_dir_lacking_the_inputs_is_bad_input_naming_the_file(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"^--data-dir /does/not/exist: input file /does/not/exist/A.mat not found"):
        cases.resolve_case(data_dir="/does/not/exist")
    half = tmp_path / "half"
    (half / "supervisor").mkdir(parents=True)
    (half / "supervisor" / "A.mat").write_text("1 0 0\n0 1 0\n0 0 1\n")
    with pytest.raises(UsageError, match=f"input file {half}/supervisor/scaled.hkl not found"):
        cases.resolve_case("supervisor", data_dir=str(half))
    # $NBPARITY_DATA named is used too: no silent fall-back to the synthetic stand-in
    monkeypatch.setenv("NBPARITY_DATA", str(tmp_path / "nope"))
    with pytest.raises(UsageError, match=f"^NBPARITY_DATA {tmp_path}/nope: input file"):
        cases.resolve_case()


def test_compare_with_a_missing_data_dir_exits_2_with_one_line(capsys):
    from nbparity.cli import main

    rc = main(["compare", "--pixel", "1", "1", "--data-dir", "/does/not/exist"])
    out, err = capsys.readouterr()
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "/does/not/exist/A.mat not found" in err and "Traceback" not in err
