"""`compare --prove` (issue 24): re-runs with the C's values injected prove root causes, and rank them by
their effect on the traced pixel. Stand-in ports: flux_port.py (scales -flux), flatt_port.py (implements
the injection protocol, F_latt with the wrong sign at φ step 3)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from nbparity.bundle import verify_bundle
from nbparity.prove.table import injection_for, scaled_text
from nbparity.prove.verdicts import CauseVerdict, moved_fraction, rank
from tests.nbparity.fakes import stand_in_port_env
from tests.robustness import c_binary, cli

PY = sys.executable
PORTS = Path(__file__).resolve().parent / "ports"
REPO = Path(__file__).resolve().parents[2]
TINY = ("-default_F 100 -cell 30 30 30 90 90 90 -detpixels 16 -N 2 -oversample 1 -nonoise -nopgm -noprogress "
        "-flux 1e18 -phisteps 5 -osc 0.5")


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    stand_in_port_env(monkeypatch, tmp_path, "NBPARITY_INJECT")


def _prove(tmp_path, *args):
    r = cli(["compare", "--pixel", "3", "4", "--c-bin", str(c_binary()), "--out", str(tmp_path / "out"),
             "--json", "--prove", "--no-attribution", *args])
    assert r.returncode == 1, r.stderr[-2000:]
    return json.loads(r.stdout)


def _port(name):
    return f"{shlex.quote(PY)} {shlex.quote(str(PORTS / name))} {{argv}}"


def test_scaled_flux_is_proven_by_fluence_injection_and_ranked_first(tmp_path):
    doc = _prove(tmp_path, "--args", TINY, "--py-cmd", _port("flux_port.py"))
    proof = doc["proof"]
    first = proof["causes"][0]
    assert first["message"] == "fluence: proven by -fluence injection: every downstream value agrees"
    assert first["injected"] == "-flux 0 -fluence 9.9999999999999988e+25"
    assert first["moved"] == 1.0 and first["pixel_after"] == doc["pixel_values"]["c_float"]
    assert proof["error_split"]["injected"] == 1 and proof["error_split"]["with_own_part"] == 0
    assert proof["error_split"]["wholly_inherited"] == proof["error_split"]["values"] - 1
    assert proof["headline"].startswith("first cause: fluence: proven by -fluence injection; fixed alone")
    b = Path(doc["bundle"])
    log = (b / "py_trace_prove1.log").read_text()
    assert "# injected options: -flux 0 -fluence 9.9999999999999988e+25" in log and "TRACE_PY" in log
    assert verify_bundle(b).ok


def test_wrong_F_latt_sign_at_one_step_is_localised_and_proven_through_the_protocol(tmp_path):
    doc = _prove(tmp_path, "--args", TINY, "--py-cmd", _port("flatt_port.py"))
    [cause] = doc["proof"]["causes"]
    assert cause["label"] == "F_latt at φ step 3" and cause["status"] == "proven"
    assert cause["message"] == "F_latt at φ step 3: proven by protocol injection: every downstream value agrees"
    [run] = doc["proof"]["runs"]
    assert [(v["key"], v["phi_tic"]) for v in run["inject"][0]["values"]] == [("F_latt", 3)]
    assert run["inject"][0]["values"][0]["value"] > 0     # the C's sign, given to the port


def test_a_port_that_ignores_the_protocol_cannot_inject(tmp_path):
    """The same wrong sign in a port that never reads NBPARITY_INJECT: never 'proven'."""
    port = tmp_path / "deaf_port.py"
    port.write_text((PORTS / "flatt_port.py").read_text().replace(
        "inject.active() or inject.Injection((-1, -1), [])", "inject.Injection((-1, -1), [])"))
    doc = _prove(tmp_path, "--args", TINY, "--py-cmd", f"{shlex.quote(PY)} {shlex.quote(str(port))} {{argv}}")
    [cause] = doc["proof"]["causes"]
    assert cause["status"] == "cannot inject" and "ignored the protocol" in cause["message"]


def test_spec_mode_proves_pix0_and_the_phi0_rotated_vectors(tmp_path):
    """C-PIX0-001 (pix0 from -pix0_vector_mm) and C-PARITY-001 (the φ=0 carry-over): both proven, the pixel
    agrees once both are injected."""
    doc = _prove(tmp_path, "--args", TINY + " -pix0_vector_mm 0.8 0.8 -100", "--quirks", "spec")
    by = {c["label"]: c for c in doc["proof"]["causes"]}
    assert by["pix0"]["status"] == "proven" and by["pix0"]["message"].startswith(
        "pix0: proven by -pix0_vector injection")
    assert by["rotated vectors (a, b, c) at φ step 0"]["status"] == "proven"
    assert by["distance_m"]["status"] == "not sufficient"      # pix0 given overrides -distance
    assert doc["proof"]["causes"][0]["label"] == "pix0"          # it closes the pixel's gap
    together = doc["proof"]["together"]
    assert together["status"] == "proven" and together["pixel_after"] == doc["pixel_values"]["c_float"]


def test_injection_tokens_keep_every_printed_digit():
    assert scaled_text("0.23127466000000005", 1000) == "231.27466000000005"
    assert scaled_text("9.7680000000000001e-11", 1e10) == "0.97680000000000001"
    assert injection_for("config.distance_m").tokens(["0.1"], "SAMPLE") == ["-distance", "100", "-pivot", "sample"]
    assert injection_for("config.Fbeam_m", "MOSFLM") is None    # -Xbeam is not Fbeam there


def test_rank_by_effect_then_size():
    v = lambda label, moved, rel: CauseVerdict(label, [], "proven", "option", label, moved=moved, rel=rel)  # noqa: E731
    ranked = rank([v("small", 0.1, 1e-3), v("none", None, 10.0), v("big", 0.99, 1e-9), v("tie", 0.1, 1e-2)])
    assert [x.label for x in ranked] == ["big", "tie", "small", "none"]
    assert moved_fraction(3.0, 2.0, 1.0) == 0.5 and moved_fraction(1.0, 2.0, 1.0) is None


def test_error_split_separates_inherited_from_own():
    from nbparity.compare import compare_traces
    from nbparity.prove.split import error_split, split_summary
    from nbparity.traces import parse_trace

    golden = REPO / "traces" / "golden"
    c_text, py_text = (golden / "basic_c.log").read_text(), (golden / "basic_py.log").read_text()
    pos = "TRACE_PY: pixel_pos_meters 0.10000000000000001 -5.0000000000001432e-05 0.00084999999999999659"
    r = "TRACE_PY: R_distance_meters 0.10000362493429926"
    bad = py_text.replace(pos, pos.replace("0.10000000000000001", "0.10000000001"), 1) \
        .replace(r, "TRACE_PY: R_distance_meters 0.10000362494429926", 1)
    fixed = py_text.replace(r, "TRACE_PY: R_distance_meters 0.10000362493439926", 1)   # 1e-13 its own
    c = parse_trace(c_text, "c")
    split = error_split(compare_traces(c, parse_trace(bad, "py")), compare_traces(c, parse_trace(fixed, "py")),
                        {"pixel.pixel_pos_meters"})
    row = split[split["key"] == "R_distance_meters"].iloc[0]
    assert row["error"] == pytest.approx(1e-11, rel=1e-4) and row["own"] == pytest.approx(1e-13, rel=1e-3)
    assert row["inherited"] == pytest.approx(row["error"] - row["own"], rel=1e-12)
    s = split_summary(split)
    assert s["injected"] == 1 and s["with_own_part"] == 1 and s["largest_own"]["key"] == "R_distance_meters"


def test_a_rerun_whose_trace_lacks_values_proves_nothing():
    """Fail closed: fixing the cause while the re-run stops printing a value is never 'proven'."""
    import re

    from nbparity.compare import compare_traces
    from nbparity.prove.run import ProveRun
    from nbparity.prove.verdicts import judge_cause
    from nbparity.schema import load_schema
    from nbparity.traces import parse_trace

    golden = REPO / "traces" / "golden"
    c_text, py_text = (golden / "basic_c.log").read_text(), (golden / "basic_py.log").read_text()
    c = parse_trace(c_text, "c")
    wrong = re.sub(r"(TRACE_PY_CONFIG .*\bfluence=)(\S+)", r"\g<1>2e+24", py_text, count=1)
    base = compare_traces(c, parse_trace(wrong, "py"))
    run = ProveRun("fluence", ["-fluence", "1e24"], [])
    run.comparison = compare_traces(c, parse_trace(py_text, "py"))
    status, _, _ = judge_cause("fluence", ["config.fluence"], "option", "-fluence 1e24", run, load_schema(), base)
    assert status == "proven"
    lacking = "\n".join(ln for ln in py_text.splitlines() if not ln.startswith("TRACE_PY: polar "))
    run.comparison = compare_traces(c, parse_trace(lacking, "py"))
    status, message, _ = judge_cause("fluence", ["config.fluence"], "option", "-fluence 1e24", run, load_schema(),
                                     base)
    assert status == "not sufficient" and "the re-run's trace is incomplete (1 more values only one side" in message


def test_protocol_values_come_from_per_phi_fields_or_block_B_at_step_0():
    from nbparity.compare import compare_traces
    from nbparity.prove.protocol import payload_for
    from nbparity.traces import parse_trace

    golden = REPO / "traces" / "golden"
    c_text, py_text = (golden / "basic_c.log").read_text(), (golden / "basic_py.log").read_text()
    r = compare_traces(parse_trace(c_text, "c"), parse_trace(py_text, "py"))
    phi = payload_for(r, "F_latt", 2)["values"]
    t = r.table
    want = t[(t["section"] == "phi") & (t["key"] == "F_latt") & (t["phi_tic"] == 2)]["c"].tolist()
    assert [v["value"] for v in phi] == want and phi[0]["phi_tic"] == 2
    # without per-φ rotated vectors (other builds), step 0 comes from the rot_*_angstroms lines
    bare = "\n".join(ln for ln in c_text.splitlines() if not ln.startswith("TRACE_C_PHI"))
    r = compare_traces(parse_trace(bare, "c"), parse_trace(py_text, "py"))
    [rot] = payload_for(r, "rot", 0)["values"]
    line = next(ln for ln in c_text.splitlines() if ln.startswith("TRACE_C: rot_b_angstroms "))
    assert rot["value"][1] == [float(x) for x in line.split()[2:]]
    assert payload_for(r, "rot", 1)["values"] == []
    polar = next(ln for ln in c_text.splitlines() if ln.startswith("TRACE_C: polar "))
    [p] = payload_for(r, "polar", -1)["values"]
    assert p["value"] == float(polar.split()[2]) and p["phi_tic"] == -1


def test_a_port_holding_distance_in_float32_is_named(tmp_path):
    r = cli(["compare", "--pixel", "3", "4", "--c-bin", str(c_binary()), "--out", str(tmp_path / "out"), "--json",
             "--no-attribution", "--args", TINY + " -distance 100.1", "--py-cmd", _port("f32_port.py")])
    assert r.returncode == 1, r.stderr[-2000:]
    hints = json.loads(r.stdout)["comparison"]["hints"]
    f32 = [h for h in hints if h["factor"] == "float32"]
    assert [h["node"] for h in f32] == ["config.distance_m"]
    assert f32[0]["meaning"] == ("the port appears to hold -distance in float32 (torch's distance_m is float32 "
                                 "rounding of 100.1)")
