"""The matrix as a flow, with real sides and hostile ones: every run carries the five-state verdict
(image + each traced pixel, combined), a run that is not fully compared is incomplete and fails the
matrix (exit 1) with its reason in the JUnit XML, --strict fails explained runs, and the matrix bundle
has request.json whose commands.txt re-runs to the same verdict."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nbparity.request import CSpec, JudgeSpec, MatrixRequest, OutputSpec
from tests.nbparity.fakes import NAN, HostileC, HostileTorch, always

PY = sys.executable
REPO = Path(__file__).resolve().parents[2]
CUT_PORT = f"{shlex.quote(PY)} {shlex.quote(str(Path(__file__).with_name('ports') / 'cut_port.py'))}"
TINY = ("-cell 50 60 70 90 90 90 -lambda 1 -default_F 100 -N 3 -distance 100 -pixel 1 -detpixels 16 "
        "-oversample 1 -nonoise -nopgm")


def _matrix(tmp_path, body: str) -> str:
    f = tmp_path / "m.yaml"
    f.write_text(f"name: flow\ncases:\n{body}")
    return str(f)


def _junit(path) -> dict:
    suite = ET.parse(path).getroot().find("testsuite")
    return {tc.get("name"): tc for tc in suite.findall("testcase")}


@pytest.fixture
def env(monkeypatch, tmp_path):
    import os

    # stand-in ports import the in-repo simulator from their work folder
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def test_pixel_value_not_finite_on_both_sides_makes_the_run_incomplete(tmp_path, c_reference_binary):
    """Hostile sides: both float images hold NaN at the traced pixel. The image itself and every traced
    value agree, but the pixel's value was not compared: the run is incomplete, the matrix exits 1 and
    the JUnit failure carries the reason."""
    from nbparity.flows.matrix import run_matrix
    from nbparity.sides import CSide, SimulatorSide

    m = _matrix(tmp_path, f'  - id: tiny\n    base_args: "{TINY}"\n    runs:\n      - name: image-only\n'
                          "      - name: traced\n        trace_pixels: [[3, 4]]\n")
    junit = tmp_path / "junit.xml"
    sides = (HostileC(CSide(c_reference_binary), pixel=always(NAN)), HostileTorch(SimulatorSide(), pixel=always(NAN)))
    r = run_matrix(MatrixRequest(m, c=CSpec(binary=str(c_reference_binary)), output=OutputSpec(out=str(tmp_path)),
                                 junit_xml=str(junit)), sides=sides)
    plain, traced = r.outcomes
    assert plain["verdict"] == "identical" and plain["exit_code"] == 0
    assert traced["image"]["verdict"] == "identical"          # the image flow saw nothing wrong …
    assert traced["traces"][0]["verdict"] == "incomplete"     # … the traced pixel's value was not compared
    assert traced["verdict"] == "incomplete" and traced["exit_code"] == 1
    assert "trace (3, 4)" in traced["reason"] and "not finite on both sides" in traced["reason"]
    assert r.exit_code == 1 and r.verdict == "incomplete" and r.counts["incomplete"] == 1
    m_json = r.to_metrics()
    assert m_json["schema"] == "nbparity.metrics/2" and m_json["kind"] == "matrix"
    assert m_json["exit_code"] == 1 and "tiny/traced (incomplete)" in m_json["reason"]
    tcs = _junit(junit)
    assert list(tcs["image-only"]) == []
    fail = tcs["traced"].find("failure")
    assert fail is not None and fail.get("type") == "incomplete" and fail.get("message") == traced["reason"]


def test_port_trace_cut_half_way_fails_the_matrix(tmp_path, c_reference_binary, env):
    """A port whose trace stops after hkl_frac (its image is complete and exact): the values it never
    printed were not compared, so `cases run` exits 1 and JUnit names the run as incomplete.
    (Needs the trace comparator's incomplete judgement of one-sided values.)"""
    m = _matrix(tmp_path, f'  - id: cut\n    base_args: "{TINY}"\n    py_cmd: "{CUT_PORT} {{argv}}"\n'
                          "    trace_pixels: [[3, 4]]\n    runs:\n      - name: base\n")
    junit = tmp_path / "junit.xml"
    r = subprocess.run([PY, "-m", "nbparity", "cases", "run", m, "--c-bin", str(c_reference_binary), "--out",
                        str(tmp_path / "out"), "--json", "--junit-xml", str(junit)],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    (o,) = json.loads(r.stdout)["runs"]
    assert o["image"]["verdict"] == "identical"
    assert o["verdict"] == "incomplete" and o["traces"][0]["verdict"] == "incomplete"
    fail = _junit(junit)["base"].find("failure")
    assert fail is not None and fail.get("type") == "incomplete"
    assert fail.get("message") == o["reason"] and "trace (3, 4)" in o["reason"]


SPEC_RUN = (f'  - id: rot\n    base_args: "{TINY} -mosaic 1 -mosaic_dom 3"\n    quirks: "spec,-C-RANDROT-001"\n'
            "    trace_pixels: [[3, 4]]\n    runs:\n      - name: spec\n")


def test_explained_passes_and_fails_under_strict(tmp_path, c_reference_binary):
    """A spec-mode run whose divergences C-RANDROT-001 explains (traces and image) passes as explained;
    --strict fails it (exit 1, a JUnit failure of type explained) without changing its verdict."""
    from nbparity.flows.matrix import run_matrix

    m = _matrix(tmp_path, SPEC_RUN)
    c = CSpec(binary=str(c_reference_binary))
    lax = run_matrix(MatrixRequest(m, c=c, output=OutputSpec(out=str(tmp_path / "lax"))))
    (o,) = lax.outcomes
    assert o["image"]["verdict"] == "divergent" and o["attribution"]["quirks"] == ["C-RANDROT-001"]
    assert o["attribution"]["image_ok"] and o["traces_verdict"] == "explained"
    assert o["verdict"] == "explained" and lax.exit_code == 0
    junit = tmp_path / "strict.xml"
    strict = run_matrix(MatrixRequest(m, c=c, judge=JudgeSpec(strict=True), junit_xml=str(junit),
                                      output=OutputSpec(out=str(tmp_path / "strict"))))
    (s,) = strict.outcomes
    assert s["verdict"] == "explained" and s["exit_code"] == 1 and strict.exit_code == 1
    assert _junit(junit)["spec"].find("failure").get("type") == "explained"


def test_matrix_bundle_reruns_to_the_same_verdict(tmp_path, c_reference_binary):
    """The matrix bundle: request.json, metrics.json (schema 2, kind matrix), summary.md, env.json,
    junit.xml and a commands.txt that re-runs the request to the same verdict and exit code."""
    from nbparity.bundle import verify_bundle

    m = _matrix(tmp_path, f'  - id: tiny\n    base_args: "{TINY}"\n    runs:\n      - name: base\n'
                          '      - name: flux\n        thresholds: {corr_min: 1.5}\n')
    r = subprocess.run([PY, "-m", "nbparity", "cases", "run", m, "--only", "tiny", "--c-bin", str(c_reference_binary),
                        "--out", str(tmp_path / "out"), "--json", "--note", "gate check"],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    first = json.loads(r.stdout)
    assert [o["verdict"] for o in first["runs"]] == ["identical", "divergent"]
    bundle = Path(first["volatile"]["bundle"])
    for name in ("request.json", "metrics.json", "summary.md", "commands.txt", "env.json", "junit.xml"):
        assert (bundle / name).is_file(), name
    verify_bundle(bundle)
    req = json.loads((bundle / "request.json").read_text())
    assert req["kind"] == "matrix" and req["matrix"] == m and req["only"] == ["tiny"]
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert (metrics["schema"], metrics["kind"], metrics["verdict"]) == ("nbparity.metrics/2", "matrix", "divergent")
    assert metrics["note"] == "gate check" and "| tiny | flux | divergent |" in (bundle / "summary.md").read_text()
    again = subprocess.run(["bash", str(bundle / "commands.txt"), str(tmp_path / "again")], capture_output=True,
                           text=True, cwd=tmp_path, timeout=300)
    assert again.returncode == 1, again.stderr[-2000:]
    (second,) = [b for b in (tmp_path / "again").iterdir() if b.name.endswith("_matrix")]
    m2 = json.loads((second / "metrics.json").read_text())
    assert m2["verdict"] == "divergent" and m2["exit_code"] == 1
    assert [(o["run"], o["verdict"]) for o in m2["runs"]] == [("base", "identical"), ("flux", "divergent")]


def test_empty_images_are_incomplete_unless_allowed(tmp_path, c_reference_binary):
    """-dmin 1000 leaves every pixel out: both images are all zero, every gate 'passes' on them, yet nothing
    was compared: incomplete (exit 1); --allow-empty accepts it as what it is (identical)."""
    from nbparity.flows.matrix import run_matrix

    m = _matrix(tmp_path, f'  - id: dark\n    base_args: "{TINY + " -dmin 1000"}"\n'
                          "    runs:\n      - name: zero\n")
    c = CSpec(binary=str(c_reference_binary))
    dark = run_matrix(MatrixRequest(m, c=c, output=OutputSpec(out=str(tmp_path / "a"))))
    (o,) = dark.outcomes
    assert o["image"]["metrics"]["max_c"] == 0.0 and o["image"]["metrics"]["outside_tolerance"] == 0
    assert o["verdict"] == "incomplete" and "no finite non-zero pixel" in o["reason"] and dark.exit_code == 1
    allowed = run_matrix(MatrixRequest(m, c=c, judge=JudgeSpec(allow_empty=True),
                                       output=OutputSpec(out=str(tmp_path / "b"))))
    assert allowed.outcomes[0]["verdict"] == "identical" and allowed.exit_code == 0
