"""Matrix validation (bad YAML and schema → exit 2 with one located line), exit-code precedence, the
JUnit XML structure (verdicts: passing ones pass, divergent/incomplete fail, error is an error) and the
matrix as a flow (run_matrix(MatrixRequest) -> MatrixResult)."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nbparity.cli import main
from nbparity.write.junit import JunitCase, write_junit
from nbparity.matrix import load_matrix, matrix_exit_code

GOOD = """\
name: tiny
cases:
  - id: cubic
    description: a cubic cell
    base_args: "-cell 100 100 100 90 90 90 -default_F 100 -detpixels 32"
    thresholds: {corr_min: 0.999999, pixel_ulps: 2}
    trace_pixels: [[3, 4]]
    runs:
      - name: base
      - name: n5
        extra_args: "-N 5"
        dtype: float32
        thresholds: {max_abs_max: 0.5}
"""


def write(tmp_path, text, name="m.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def run_cli(args, capsys):
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_good_matrix_expands_runs_and_inherits(tmp_path):
    m = load_matrix(write(tmp_path, GOOD))
    assert [r.key for r in m.runs] == ["cubic/base", "cubic/n5"]
    base, n5 = m.runs
    assert base.argv[-2:] == ["-detpixels", "32"] and n5.argv[-2:] == ["-N", "5"]
    from nbparity.request import DEFAULT_QUIRKS

    assert base.quirks == "c" == DEFAULT_QUIRKS   # the one --quirks default of every command
    assert base.dtype == "float64" and n5.dtype == "float32"
    assert base.trace_pixels == [[3, 4]] == n5.trace_pixels
    assert base.thresholds["corr_min"] == 0.999999 and base.thresholds["sum_ratio_max"] == 1 + 1e-9
    assert base.options["pixel_ulps"] == 2
    assert base.thresholds["max_abs_max"] is None and n5.thresholds["max_abs_max"] == 0.5
    assert [r.key for r in load_matrix(write(tmp_path, GOOD), only=["cubic/n5"]).runs] == ["cubic/n5"]


def test_relative_input_files_resolve_against_the_matrix(tmp_path):
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "tiny.hkl").write_text("0 0 0 10\n")
    m = load_matrix(write(tmp_path, GOOD.replace("-default_F 100", "-hkl inputs/tiny.hkl")))
    i = m.runs[0].argv.index("-hkl")
    assert m.runs[0].argv[i + 1] == str((tmp_path / "inputs" / "tiny.hkl").resolve())


@pytest.mark.parametrize("text, needle", [
    ("cases: [\n  {id: a,\n", "malformed YAML"),
    ("- just a list\n", "top level must be a mapping"),
    ("cases: []\n", "'cases' must be a non-empty list"),
    ("cases:\n  - description: x\n    base_args: '-N 1'\n    runs: [{name: r}]\n", "cases[0]: missing 'id'"),
    ("cases:\n  - id: 7\n    base_args: '-N 1'\n    runs: [{name: r}]\n", "'id' must be a string"),
    ("cases:\n  - id: a\n    base_args: 5\n    runs: [{name: r}]\n", "'base_args' must be a string"),
    ("cases:\n  - id: a\n    base_args: '-N 1'\n    runs: {name: r}\n", "'runs' must be a non-empty list"),
    ("cases:\n  - id: a\n    base_args: '-N 1'\n    runs: [{name: r, extra_arg: '-N 2'}]\n",
     "unknown key(s) 'extra_arg'"),
    ("cases:\n  - id: a\n    base_args: '-N 1'\n    thresholds: {corr_min: high}\n    runs: [{name: r}]\n",
     "threshold 'corr_min' must be a number"),
    ("cases:\n  - id: a\n    base_args: '-N 1'\n    thresholds: {corr: 1}\n    runs: [{name: r}]\n",
     "unknown threshold 'corr'"),
    ("cases:\n  - id: a\n    base_args: '-N 1'\n    trace_pixels: [[1]]\n    runs: [{name: r}]\n",
     "'trace_pixels' must be a list of [slow, fast]"),
    ("cases:\n  - id: a\n    base_args: '-N 1'\n    dtype: float16\n    runs: [{name: r}]\n", "'dtype' must be one of"),
    ("cases:\n  - id: a\n    base_args: '-N 1'\n    runs: [{name: r}]\n  - id: a\n    base_args: '-N 1'\n"
     "    runs: [{name: r}]\n", "duplicate id 'a'"),
    ("cases:\n  - id: a\n    base_args: '-hkl nothere.hkl'\n    runs: [{name: r}]\n", "input file for -hkl not found"),
])
def test_bad_matrix_is_exit_2_with_one_located_line(tmp_path, capsys, text, needle):
    p = write(tmp_path, text)
    rc, out, err = run_cli(["cases", "run", str(p)], capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbparity: matrix ")
    assert needle in lines[0]
    assert str(p) in lines[0]
    assert "Traceback" not in err


def test_yaml_error_names_line_and_column(tmp_path, capsys):
    p = write(tmp_path, "cases:\n  - id: a\n    base_args: '-N 1\n")
    rc, _, err = run_cli(["cases", "run", str(p)], capsys)
    assert rc == 2 and f"{p}:" in err and "malformed YAML" in err


def test_schema_error_names_the_line(tmp_path, capsys):
    text = "cases:\n  - id: a\n    base_args: '-N 1'\n    runs:\n      - name: r\n        bogus: 1\n"
    rc, _, err = run_cli(["cases", "run", str(write(tmp_path, text))], capsys)
    assert rc == 2 and "m.yaml:5:" in err and "cases[0] (id a).runs[0]" in err


def test_missing_matrix_file_and_unknown_only(tmp_path, capsys):
    rc, _, err = run_cli(["cases", "run", str(tmp_path / "nope.yaml")], capsys)
    assert rc == 2 and "cannot read" in err
    rc, _, err = run_cli(["cases", "run", str(write(tmp_path, GOOD)), "--only", "sphere"], capsys)
    assert rc == 2 and "--only sphere" in err


def test_check_subcommand(tmp_path, capsys):
    rc, out, _ = run_cli(["cases", "check", str(write(tmp_path, GOOD))], capsys)
    assert rc == 0 and "2 run(s) in 1 case(s)" in out


def _o(*verdicts):
    return [{"id": "c", "run": f"r{i}", "verdict": v} for i, v in enumerate(verdicts)]


def test_exit_code_precedence():
    assert matrix_exit_code(_o("identical")) == 0
    assert matrix_exit_code(_o("identical", "within_tolerance", "explained")) == 0
    assert matrix_exit_code(_o("identical", "explained"), strict=True) == 1
    assert matrix_exit_code(_o("identical", "divergent")) == 1
    assert matrix_exit_code(_o("identical", "incomplete")) == 1
    assert matrix_exit_code(_o("divergent", "error", "identical")) == 3
    assert matrix_exit_code(_o("incomplete", "error")) == 3


def test_junit_structure(tmp_path):
    cases = [JunitCase("cubic", "base", 1.25, "identical"),
             JunitCase("cubic", "n5", 2.0, "divergent", "image: corr=0.5 (limit >= 1)", "argv: -N 5\ncorr 0.5"),
             JunitCase("tri", "mosaic", 0.5, "error", "C run failed (exit 9): usage", "C run failed <&>"),
             JunitCase("tri", "cut", 0.25, "incomplete", "trace (3, 4): 12 values on one side only"),
             JunitCase("tri", "quirk", 0.25, "explained", "explained by C-PARITY-001"),
             JunitCase("tri", "quirk-strict", 0.25, "explained", "explained by C-PARITY-001", strict=True)]
    path = write_junit(tmp_path / "j" / "junit.xml", "nbparity matrix tiny", cases)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite.get("tests") == "6" and suite.get("failures") == "3" and suite.get("errors") == "1"
    assert suite.get("time") == "4.500"
    tcs = suite.findall("testcase")
    assert [(t.get("classname"), t.get("name")) for t in tcs] == [
        ("cubic", "base"), ("cubic", "n5"), ("tri", "mosaic"), ("tri", "cut"), ("tri", "quirk"), ("tri", "quirk-strict")]
    assert list(tcs[0]) == [] and list(tcs[4]) == []
    fail = tcs[1].find("failure")
    assert fail.get("message") == "image: corr=0.5 (limit >= 1)" and fail.text == "argv: -N 5\ncorr 0.5"
    assert fail.get("type") == "divergent"
    err = tcs[2].find("error")
    assert err.text == "C run failed <&>" and tcs[2].find("failure") is None
    cut = tcs[3].find("failure")
    assert cut.get("type") == "incomplete" and cut.get("message") == "trace (3, 4): 12 values on one side only"
    assert tcs[5].find("failure").get("type") == "explained"


SMALL = """\
name: small
cases:
  - id: tiny
    description: two quick runs
    base_args: "-cell 50 60 70 90 90 90 -lambda 1 -default_F 100 -N 3 -distance 100 -pixel 1 -detpixels 16 -oversample 1 -nonoise -nopgm"
    runs:
      - {name: base}
      - {name: diverge, extra_args: "-mosaic 1 -mosaic_dom 3", quirks: "spec,-C-RANDROT-001", thresholds: {corr_min: 1.5}}
"""


def _stable(result):
    """Everything but the volatile blocks (times, paths, hosts) and the request (its output folder and
    scheduler differ by design)."""
    import copy

    d = copy.deepcopy(result.to_dict())
    d.pop("volatile")
    d.pop("request")
    for o in d["runs"]:
        o.pop("volatile")
    return d


def test_dask_cluster_gives_the_local_results(tmp_path):
    from distributed import LocalCluster

    from nbparity.matrix import run_matrix
    from nbparity.request import MatrixRequest, OutputSpec

    m = str(write(tmp_path, SMALL))
    local = run_matrix(MatrixRequest(m, output=OutputSpec(out=str(tmp_path / "local"))))
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = run_matrix(MatrixRequest(m, output=OutputSpec(out=str(tmp_path / "dask")),
                                          scheduler=cluster.scheduler_address))
    assert _stable(remote) == _stable(local)
    # bit-identical images; corr_min 1.5 can never pass
    assert [o["verdict"] for o in local.outcomes] == ["identical", "divergent"]
    assert local.exit_code == 1 == remote.exit_code
    assert remote.scheduler == cluster.scheduler_address
    assert all(Path(o["volatile"]["bundle"]).parent == (tmp_path / "dask").resolve() for o in remote.outcomes)
