"""Probes on the shared shape: a port as the torch side, the C line followed, steps a side did not print
judged "not compared" (verdict incomplete, never a pass), request.json re-run to the same verdict."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nbparity.bundle import verify_bundle
from nbparity.cli import main
from nbparity.request import DEFAULT_QUIRKS, CaseSpec, CSpec, OutputSpec, ProbeRequest
from nbparity.sides import CSide, SimulatorSide
from tests.nbparity.fakes import HostileC, HostileTorch

REPO = Path(__file__).resolve().parents[2]
FAKE_R2 = Path(__file__).resolve().parent / "fixtures" / "fake_r2_nanobragg.sh"
RECORDED = REPO.parent / "shared" / "data" / "conformance" / "phi-carry"
PY = sys.executable
SIM = f"{PY} -m simulator {{argv}} -dtype float64 -quirks c"
PIXEL = ("685", "1039")
# the argv of test_clines: R1 reads -misset_seed 11 -mosaic 0.3 as misset angles (11, 0, 0.3), R2 does not
SENSITIVE = ("-cell 50 60 70 90 90 90 -lambda 1 -default_F 100 -N 4 -distance 100 -pixel 0.5 -detpixels 12 "
             "-oversample 1 -nonoise -nopgm -misset random -misset_seed 11 -mosaic 0.3 -mosaic_dom 2")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("NBPARITY_DATA", raising=False)
    monkeypatch.delenv("NBPARITY_TEST_PERTURB", raising=False)


@pytest.fixture(scope="module")
def c_bin():
    """c_reference/nanoBragg built in place: the fake R2 binary wraps it."""
    r = subprocess.run(["make", "-s", "-C", str(REPO / "c_reference")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return REPO / "c_reference" / "nanoBragg"


def _json(capsys, *args):
    rc = main([*args, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def _request(probe, out, pixel=(685, 1039), **kw):
    return ProbeRequest(probe=probe, pixel=pixel, case=kw.pop("case", CaseSpec()),
                        output=OutputSpec(out=str(out)), **kw)


def _finite_passes(rows):
    """No row that passes carries an inf/NaN delta."""
    return all(math.isfinite(r["abs_diff"]) and math.isfinite(r["rel_diff"]) for r in rows
               if r["status"] in ("identical", "within_tolerance"))


# ----------------------------------------------------------------------------- a port as the torch side


def test_single_phi_with_the_simulator_as_a_port(capsys, tmp_path):
    rc, doc = _json(capsys, "probe", "single-phi", "--pixel", *PIXEL, "--out", str(tmp_path), "--py-cmd", SIM)
    assert rc == 0 and doc["verdict"] == "identical" and doc["kind"] == "probe" and doc["probe"] == "single-phi"
    assert doc["identity"]["torch"]["kind"] == "port" and doc["port"]["command"].endswith("-quirks c")
    steps = doc["steps"]
    assert [s["phi_tic"] for s in steps] == list(range(10))
    # real numbers from the port's own runs: ten different single-φ intensities, equal to the C's
    assert all(s["I_pixel_final_c"] == s["I_pixel_final_py"] > 0 for s in steps)
    assert len({s["I_pixel_final_py"] for s in steps}) == 10
    b = Path(doc["bundle"])
    assert verify_bundle(b).ok
    names = {p.name for p in b.iterdir()}
    assert {"request.json", "metrics.json", "summary.md", "commands.txt", "env.json", "report.html",
            "single_phi.csv", "c_phi0.log", "py_phi9.log"} <= names
    assert "TRACE_PY_PHI phi_tic=0" in (b / "py_phi3.log").read_text()   # the port printed it
    req = json.loads((b / "request.json").read_text())
    assert req["kind"] == "probe" and req["probe"] == "single-phi" and req["torch"]["port"]["command"]


def test_py_cmd_refuses_torch_options(capsys, tmp_path):
    rc = main(["probe", "rotation", "--pixel", *PIXEL, "--out", str(tmp_path), "--py-cmd", SIM, "--quirks", "spec"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "cannot be combined with --py-cmd" in err[0]


# ----------------------------------------------------------------------------- the C line


@pytest.mark.parametrize("probe", ["rotation", "single-phi"])
@pytest.mark.parametrize("binary,line,mode", [("ours", "R1", "c"), (FAKE_R2, "R2", "c,-C-ARGV-001")])
def test_probe_follows_the_c_line(c_bin, capsys, tmp_path, probe, binary, line, mode):
    """The argv parses differently under the two lines: a torch side that did not follow the C's line
    would rotate a different crystal (misset angles versus a random orientation)."""
    binary = c_bin if binary == "ours" else binary
    rc, doc = _json(capsys, "probe", probe, "--pixel", "6", "4", "--args", SENSITIVE, "--c-bin", str(binary),
                    "--out", str(tmp_path))
    assert doc["c_line"]["line"] == line and doc["quirk_mode"] == mode
    assert doc["identity"]["c"]["line"] == line
    assert rc == 0 and doc["verdict"] == "identical", doc["reason"]
    if probe == "rotation":
        assert len(doc["rows"]) == 18 and all(r["abs_diff"] == 0.0 for r in doc["rows"])


def test_rotation_differs_between_the_lines(c_bin, tmp_path):
    """The check above has teeth: the two lines' crystals differ, so a torch side parsing with the other
    line would diverge."""
    from nbparity.probes.run import run_probe

    args = CaseSpec(args=SENSITIVE)
    vecs = {}
    for binary in (c_bin, FAKE_R2):
        r = run_probe(_request("rotation", tmp_path, (6, 4), case=args,
                               c=CSpec(binary=str(binary))))
        t = r.table
        vecs[str(binary)] = t[(t["vector"] == "a")]["c"].tolist()
    a, b = vecs.values()
    assert max(abs(x - y) for x, y in zip(a, b)) > 1.0


# ----------------------------------------------------------------------------- not compared is incomplete


def _no_rot_fields(text):
    """A C that prints the rotated vectors only in the pixel block (as the instrumented R2 C does)."""
    return re.sub(r" rot_[abc]_[xyz]=\S+", "", text)


def _no_phi_lines(text):
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("TRACE_PY_PHI")) + "\n"


def test_rotation_with_vectors_only_in_the_pixel_block_is_incomplete(c_reference_binary, tmp_path):
    from nbparity.probes.run import run_probe

    sides = (HostileC(CSide(c_reference_binary), trace=_no_rot_fields), SimulatorSide())
    r = run_probe(_request("rotation", tmp_path), sides=sides)
    m = r.to_metrics()
    assert r.verdict == "incomplete" and r.exit_code == 1
    assert m["steps_not_compared"] == list(range(1, 10)) and r.first_divergent is None
    assert r.judgement.reason == "φ steps 1–9 (9 of 10) not compared: the C printed no rotated vectors there"
    by_step = {t: set(g["status"]) for t, g in r.table.groupby("phi_tic")}
    assert by_step[0] == {"identical"} and all(by_step[t] == {"not compared"} for t in range(1, 10))
    assert _finite_passes(m["rows"]) and m["source"]["C"].startswith("pixel block")
    assert verify_bundle(r.bundle).ok
    assert "first diverging step: none among the compared steps" in (r.bundle / "summary.md").read_text()


@pytest.mark.skipif(not RECORDED.is_dir(), reason="../shared/data/conformance absent")
def test_rotation_against_a_recorded_r2_trace(c_reference_binary, tmp_path):
    """The instrumented C's recording (R2) prints a, b, c only in the pixel block: step 0 compares, the
    other steps cannot, and the verdict says so."""
    from nbparity.probes.run import run_probe

    recorded = (RECORDED / "trace_13_25.log").read_text()
    args = CaseSpec(args=(RECORDED / "argv.txt").read_text().strip())
    sides = (HostileC(CSide(c_reference_binary), trace=lambda _: recorded), SimulatorSide())
    r = run_probe(_request("rotation", tmp_path, (13, 25), case=args), sides=sides)
    assert r.verdict == "incomplete" and r.exit_code == 1
    assert r.to_metrics()["steps_not_compared"] == [1, 2, 3]
    step0 = r.table[r.table["phi_tic"] == 0]
    assert set(step0["status"]) <= {"identical", "within_tolerance"} and len(step0) == 18
    # step 0 ran on the carried-over vectors: the last step's, φ = 1.5° (50·sin 1.5° = 1.3088 Å)
    a_y = float(step0[(step0["vector"] == "a") & (step0["component"] == "y")]["c"].iloc[0])
    assert math.isclose(a_y, 50 * math.sin(math.radians(1.5)), rel_tol=1e-12)


def test_single_phi_with_a_side_missing_its_phi_lines_is_incomplete(c_reference_binary, tmp_path):
    from nbparity.probes.run import run_probe

    sides = (CSide(c_reference_binary), HostileTorch(SimulatorSide(), trace=_no_phi_lines))
    r = run_probe(_request("single-phi", tmp_path), sides=sides)
    assert r.verdict == "incomplete" and r.exit_code == 1 and r.first_divergent is None
    assert list(r.table["status"]) == ["incomplete"] * 10
    assert r.judgement.reason == "φ steps 0–9 (10 of 10) not compared: the torch side printed no per-φ line"
    assert verify_bundle(r.bundle).ok


def test_sincg_with_steps_missing_on_the_torch_side_is_incomplete(c_reference_binary, tmp_path):
    from nbparity.probes.run import run_probe

    def drop_late_steps(text):
        return "\n".join(ln for ln in text.splitlines()
                         if not re.match(r"TRACE_PY_PHI phi_tic=[5-9] ", ln)) + "\n"

    sides = (CSide(c_reference_binary), HostileTorch(SimulatorSide(), trace=drop_late_steps))
    r = run_probe(_request("sincg", tmp_path, params=(("window", 0.1), ("points", 11))), sides=sides)
    m = r.to_metrics()
    assert r.verdict == "incomplete" and r.exit_code == 1
    assert r.judgement.reason == ("φ steps 5–9 (5 of 10) not compared: the torch side traced no finite lattice "
                                  "factors there")
    traced = m["traced"]
    assert sum(t["status"] == "identical" for t in traced) == 15
    assert sum(t["status"] == "not compared" for t in traced) == 15 and _finite_passes(traced)


# ----------------------------------------------------------------------------- bundle, rerun, terminal


def test_rerun_gives_the_same_verdict(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NBPARITY_TEST_PERTURB", "spindle_axis:-1")
    rc, doc = _json(capsys, "probe", "rotation", "--pixel", *PIXEL, "--out", str(tmp_path / "a"), "--note", "try 3")
    assert (rc, doc["verdict"], doc["note"]) == (1, "divergent", "try 3")
    b = Path(doc["bundle"])
    req = json.loads((b / "request.json").read_text())
    assert req["torch"]["quirks"] == DEFAULT_QUIRKS and req["output"]["note"] == "try 3"
    assert "nbparity rerun" in (b / "commands.txt").read_text()
    rc2, again = _json(capsys, "rerun", str(b / "request.json"), "--out", str(tmp_path / "b"))
    assert (rc2, again["verdict"], again["first_divergent_step"]) == (rc, doc["verdict"], doc["first_divergent_step"])
    assert again["kind"] == "probe" and again["probe"] == "rotation"
    monkeypatch.delenv("NBPARITY_TEST_PERTURB")
    proc = subprocess.run(["bash", str(b / "commands.txt"), str(tmp_path / "c")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr   # the unperturbed sides agree: the same request, run again
    assert proc.stdout.startswith("probe rotation: IDENTICAL")


def test_terminal_report_is_one_screen(capsys, tmp_path):
    rc = main(["probe", "rotation", "--pixel", *PIXEL, "--out", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert rc == 0 and out[0].startswith("probe rotation: IDENTICAL — ")
    assert len(out) <= 40 and max(len(x) for x in out) <= 120
    assert sum(x.startswith("probe rotation:") for x in out) == 1
