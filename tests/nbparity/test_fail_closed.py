"""Fail closed: a PASS only when everything that decides it was compared (`nbparity diff` end to end on
traces generated from the golden pair; identical / within tolerance / divergent / incomplete)."""

import json
from pathlib import Path

import pytest

from nbparity.cli import main

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "golden"
C_LOG = GOLDEN / "basic_c.log"
C_TEXT = C_LOG.read_text()
PY_TEXT = (GOLDEN / "basic_py.log").read_text()
FINAL = "9.8150734593038729e-05"   # I_pixel_final of the golden pair (both sides)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def diff(capsys, c, py, *extra):
    """(exit code, JSON document, last line of the rendered report: the judgement headline)."""
    rc = main(["diff", str(c), str(py), "--json", *extra])
    doc = json.loads(capsys.readouterr().out)
    rc_text = main(["diff", str(c), str(py), *extra])
    out = capsys.readouterr().out
    assert rc_text == rc == doc["exit_code"] == doc["judgement"]["exit_code"]
    return rc, doc, out.strip().splitlines()[-1]


def swap(text, prefix, value):
    lines = text.split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith(prefix + " "))
    lines[i] = f"{prefix} {value}"
    return "\n".join(lines)


def test_identical_traces_are_identical(capsys):
    rc, doc, last = diff(capsys, C_LOG, GOLDEN / "basic_py.log")
    assert rc == 0 and doc["judgement"]["verdict"] == "identical"
    assert last == "IDENTICAL — all 187 deciding values bit-identical (exit 0)"
    assert doc["counts"]["deciding"] == 187 and doc["counts"]["identical"] == 187


def test_a_1e14_relative_change_is_within_tolerance(tmp_path, capsys):
    moved = repr(float(FINAL) * (1 + 1e-14))
    assert moved != FINAL
    py = write(tmp_path, "py.log", swap(PY_TEXT, "TRACE_PY: I_pixel_final", moved))
    rc, doc, last = diff(capsys, C_LOG, py)
    assert rc == 0 and doc["judgement"]["verdict"] == "within_tolerance"
    assert last == "WITHIN TOLERANCE — 187 deciding values agree within tolerance (186 bit-identical) (exit 0)"
    row = next(r for r in doc["factors"] if r["key"] == "I_pixel_final")
    assert row["status"] == "pass" and row["rel"] == pytest.approx(1e-14, rel=0.05)


def test_torch_trace_cut_after_hkl_frac_is_incomplete(tmp_path, capsys):
    cut = PY_TEXT[: PY_TEXT.index("\n", PY_TEXT.index("TRACE_PY: hkl_frac")) + 1]
    rc, doc, last = diff(capsys, C_LOG, write(tmp_path, "cut.log", cut))
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"
    # compared: the 48 values of the A block and block B up to hkl_frac (13 vectors of 3, 9 scalars)
    assert doc["counts"]["failed"] == 0 and doc["counts"]["compared"] == 13 * 3 + 9
    assert last == ("INCOMPLETE — 51 values only the C side printed, declared nowhere (the torch side lacks "
                    "hkl_rounded, F_latt_a, F_latt_b, F_latt_c, F_latt, phi.F_cell and 23 more); the final pixel "
                    "value I_pixel_final is printed by the C side only (exit 1)")
    assert doc["not_compared"]["phi"] == "per-φ not compared (only the C side printed per-φ lines)"


def test_torch_trace_holding_one_value_is_incomplete(tmp_path, capsys):
    one = write(tmp_path, "one.log", f"TRACE_PY: I_pixel_final {FINAL}\n")
    rc, doc, last = diff(capsys, C_LOG, one)
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete" and doc["counts"]["compared"] == 1
    # the C side's config echo and extended φ fields are declared (ours, against another build): 87 + 18
    assert doc["counts"]["one_sided_declared"] == 87 + 18 and doc["counts"]["one_sided_undeclared"] == 99 - 18
    assert last.startswith("INCOMPLETE — 81 values only the C side printed, declared nowhere")
    assert doc["not_compared"]["config"] == "configuration not compared (only the C side printed a config echo)"


@pytest.mark.parametrize("token", ["nan", "inf"])
def test_final_pixel_not_finite_on_both_sides_is_incomplete(tmp_path, capsys, token):
    c = write(tmp_path, "c.log", swap(C_TEXT, "TRACE_C: I_pixel_final", token))
    py = write(tmp_path, "py.log", swap(PY_TEXT, "TRACE_PY: I_pixel_final", token))
    rc, doc, last = diff(capsys, c, py)
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"
    assert last == ("INCOMPLETE — 1 value not finite on both sides (I_pixel_final): nothing to compare "
                    "(exit 1)")
    row = next(r for r in doc["factors"] if r["key"] == "I_pixel_final")
    assert row["status"] == "non-finite" and row["c"] == row["py"] == token
    # NaN against inf is a divergence, not a non-finite match
    other = write(tmp_path, "o.log", swap(PY_TEXT, "TRACE_PY: I_pixel_final", "-inf" if token == "inf" else "inf"))
    rc, doc, _ = diff(capsys, c, other)
    assert rc == 1 and doc["judgement"]["verdict"] == "divergent" and doc["first_divergence"]["key"] == "I_pixel_final"


def test_per_phi_less_torch_log_leaves_the_phi_rows_one_sided(tmp_path, capsys):
    no_phi = "\n".join(line for line in PY_TEXT.split("\n") if not line.startswith("TRACE_PY_PHI"))
    rc, doc, last = diff(capsys, C_LOG, write(tmp_path, "nophi.log", no_phi))
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"
    assert {r["status"] for r in doc["per_phi"]} == {"one-sided"} and len(doc["per_phi"]) == 3
    s = doc["per_phi_summary"]
    assert (s["steps"], s["compared_steps"], s["one_sided_steps"], s["failing_steps"]) == (3, 0, 3, 0)
    assert doc["not_compared"]["phi"] == "per-φ not compared (only the C side printed per-φ lines)"
    assert last == ("INCOMPLETE — 30 values only the C side printed, declared nowhere (the torch side lacks "
                    "phi.F_cell, phi.F_latt, phi.F_latt_a, phi.F_latt_b, phi.F_latt_c, phi.I_term and 4 more) (exit 1)")


def test_no_pass_row_carries_a_non_finite_delta(tmp_path, capsys):
    c = C_TEXT.replace("F_latt=35.159846607923186", "F_latt=nan")
    py = PY_TEXT.replace("F_latt=35.159846607923186", "F_latt=nan")
    rc, doc, _ = diff(capsys, write(tmp_path, "c.log", c), write(tmp_path, "py.log", py))
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"
    step2 = next(r for r in doc["per_phi"] if r["phi_tic"] == 2)
    assert step2["status"] == "non-finite" and step2["non_finite"] == "F_latt" and step2["F_latt_delta"] == "nan"
    assert doc["per_phi_summary"]["non_finite_steps"] == 1
    for row in doc["per_phi"]:
        if row["status"] == "pass":
            assert all(isinstance(row[f"{f}_delta"], float) for f in ("phi_deg", "k_frac", "F_latt_b", "F_latt"))


def test_keys_scaling_present_passes_and_missing_is_incomplete(tmp_path, capsys):
    keep = ("r_e_sqr", "fluence_photons_per_m2", "steps", "capture_fraction", "polar", "omega_pixel",
            "I_before_scaling", "I_pixel_final")
    sub = "".join(line + "\n" for line in PY_TEXT.splitlines()
                  if line.startswith("TRACE_PY: ") and line.split(" ")[1] in keep)
    rc, doc, last = diff(capsys, C_LOG, write(tmp_path, "sub.log", sub), "--keys", "scaling")
    assert rc == 0 and doc["judgement"]["verdict"] == "identical" and doc["counts"]["deciding"] == 8
    assert last == "IDENTICAL — all 8 deciding values bit-identical (exit 0)"
    assert doc["not_compared"]["other keys"].startswith("not deciding: --keys pixel.r_e_sqr,")
    # without --keys the same subset is incomplete
    assert diff(capsys, C_LOG, write(tmp_path, "sub.log", sub))[0] == 1
    less = "".join(line + "\n" for line in sub.splitlines() if "polar" not in line)
    rc, doc, last = diff(capsys, C_LOG, write(tmp_path, "less.log", less), "--keys", "scaling")
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"
    assert last == ("INCOMPLETE — --keys named keys not printed by both sides: pixel.polar (absent on the "
                    "torch side) (exit 1)")
    # named keys still diverge when they differ
    bad = sub.replace("TRACE_PY: polar 0.99996375262793435", "TRACE_PY: polar 0.5")
    rc, doc, _ = diff(capsys, C_LOG, write(tmp_path, "bad.log", bad), "--keys", "scaling")
    assert rc == 1 and doc["judgement"]["verdict"] == "divergent" and doc["first_divergence"]["key"] == "polar"


def test_keys_usage_error_is_one_line_exit_2(capsys):
    rc = main(["diff", str(C_LOG), str(C_LOG), "--keys", " , "])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--keys needs at least one key" in err


def test_nothing_in_common_and_no_config_echo_on_either_side(tmp_path, capsys):
    c = write(tmp_path, "c.log", "TRACE_C: R_distance_meters 0.1\n")
    py = write(tmp_path, "py.log", "TRACE_PY: omega_pixel_sr 1e-5\n")
    rc, doc, last = diff(capsys, c, py)
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"
    assert last.startswith("INCOMPLETE — nothing in common: no deciding value is printed by both sides")
    assert doc["not_compared"] == {
        "config": "configuration not compared (neither side printed a config echo)",
        "pixel": "per-pixel not compared (only the C side printed per-pixel lines)",
        "phi": "per-φ not compared (neither side printed per-φ lines)"}


GEOMETRY = ("TRACE_C:detector_convention=MOSFLM\nTRACE_C:angles_rad=rotx:0 roty:0 rotz:0 twotheta:0\n"
            "TRACE_C:distance_m=0.1\n")


def r2_style(text: str) -> str:
    """The golden C trace as the instrumented nanoBragg prints it: its setup echo, no config echo, the five
    required per-φ fields only."""
    lines = []
    for line in text.split("\n"):
        if line.startswith("TRACE_C_CONFIG"):
            continue
        if line.startswith("TRACE_C_PHI"):
            line = line.split(" h_frac=")[0]
        lines.append(line)
    return GEOMETRY + "\n".join(lines)


def test_declared_one_sided_keys_of_two_registered_builds_are_listed_not_deciding(tmp_path, capsys):
    r2 = write(tmp_path, "r2.log", r2_style(C_TEXT))
    # against the simulator, R2's setup echo is never declared: on the R2 line the simulator prints it
    # (simulator/trace_r2.py), and this golden trace was not made on that line
    rc, doc, last = diff(capsys, r2, GOLDEN / "basic_py.log")
    assert rc == 1 and last == ("INCOMPLETE — 6 values only the C side printed, declared nowhere (the torch "
                                "side lacks detector_convention, angles_rad, distance_m) (exit 1)")
    # the same R2 trace without its geometry lines: only declared keys are one-sided
    rc, doc, last = diff(capsys, write(tmp_path, "r2_nogeo.log", r2_style(C_TEXT)[len(GEOMETRY):]),
                         GOLDEN / "basic_py.log")
    assert rc == 0 and doc["judgement"]["verdict"] == "identical", last
    assert doc["builds"] == {"C": "nanoBragg-R2", "torch": "ours"}
    by_node = {o["node"]: o for o in doc["one_sided"]}
    assert "pixel.detector_convention" not in by_node
    assert by_node["config.fluence"]["declared"].startswith("the effective-configuration echo")
    assert by_node["phi.I_term"]["side"] == "PY" and by_node["phi.I_term"]["declared"].startswith("extended per-φ")
    assert doc["counts"]["one_sided_undeclared"] == 0
    assert doc["not_compared"]["config"] == "configuration not compared (only the torch side printed a config echo)"
    # a key no declaration covers stays deciding: incomplete
    odd = write(tmp_path, "odd.log", r2_style(C_TEXT)[len(GEOMETRY):] + "TRACE_C:mystery_value=3\n")
    rc, doc, last = diff(capsys, odd, GOLDEN / "basic_py.log")
    assert rc == 1 and last == ("INCOMPLETE — 1 value only the C side printed, declared nowhere (the torch "
                                "side lacks mystery_value) (exit 1)")
    # against c_reference (ours:C), whose C prints no setup echo, R2's echo is declared
    rc, doc, last = diff(capsys, r2, C_LOG)
    assert rc == 0, last
    by_node = {o["node"]: o for o in doc["one_sided"]}
    assert by_node["pixel.detector_convention"]["declared"].startswith("its setup echo")


def test_declarations_file_is_checked(tmp_path):
    from nbparity.declarations import load_declarations

    real = load_declarations()
    assert [b.id for b in real.builds] == ["ours", "nanoBragg-R2"]
    (tmp_path / "one_sided.toml").write_text(
        '[build.x]\ndoc = "x"\n[[one_sided]]\nbuild = "x"\nkeys = ["pixel.I_pixel_final"]\nreason = "r"\n')
    with pytest.raises(ValueError, match="the final pixel value cannot be declared one-sided"):
        load_declarations(str(tmp_path))
    (tmp_path / "one_sided.toml").write_text('[[one_sided]]\nbuild = "y"\nkeys = ["pixel.a"]\nreason = "r"\n')
    with pytest.raises(ValueError, match="names unknown build 'y'"):
        load_declarations(str(tmp_path))
