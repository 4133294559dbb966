"""compare_traces: one tolerance rule, configuration first, root causes, one-sided keys, hints."""

import math
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nbparity.compare import compare_traces, unit_hint
from nbparity.errors import UsageError
from nbparity.traces import parse_trace

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "golden"
C_TEXT = (GOLDEN / "basic_c.log").read_text()
PY_TEXT = (GOLDEN / "basic_py.log").read_text()
SUB_C = (GOLDEN / "subpixels_c.log").read_text()
SUB_PY = (GOLDEN / "subpixels_py.log").read_text()


def cmp(c_text, py_text, **kw):
    return compare_traces(parse_trace(c_text, "c"), parse_trace(py_text, "py"), **kw)


def replace_component(text, startswith, component, new_token, nth=0):
    lines = text.split("\n")
    i = [i for i, l in enumerate(lines) if l.startswith(startswith + " ")][nth]
    toks = lines[i][len(startswith) + 1:].split(" ")
    toks[component] = new_token
    lines[i] = startswith + " " + " ".join(toks)
    return "\n".join(lines)


def replace_line(text, startswith, new_values, nth=0):
    lines = text.split("\n")
    hits = [i for i, l in enumerate(lines) if l.startswith(startswith)]
    i = hits[nth]
    lines[i] = startswith + " " + new_values
    return "\n".join(lines)


def test_identical_traces_are_parity():
    r = cmp(C_TEXT, PY_TEXT)
    assert r.exit_code == 0 and r.verdict.startswith("IDENTICAL")
    assert r.judgement.verdict.value == "identical"   # the golden pair prints the same doubles
    assert r.counts == {"compared": 100, "passed": 100, "failed": 0, "one_sided": 0,
                        "config_compared": 87, "config_failed": 0, "config_one_sided": 0,
                        "printed_precision": 0,   # %.17g on both sides: nothing compared at printed precision
                        "by_section": {"pixel": 70, "phi": 30}, "deciding": 187, "deciding_failed": 0, "identical": 187,
                        "non_finite": 0, "one_sided_declared": 0, "one_sided_undeclared": 0}
    assert r.not_compared == {} and r.builds == {"C": "ours", "torch": "ours"}
    assert "100 values compared (70 per-pixel, 30 per-φ), 0 one-sided" in r.verdict
    assert r.first_divergence is None and r.root_causes == [] and r.config_diffs == []
    assert r.tolerances["classes"]["lattice"] == {"rtol": 1e-12, "atol": 1e-10}


def test_third_component_alone_diverges():
    py = replace_line(PY_TEXT, "TRACE_PY: pixel_pos_meters", "0.10000000000000001 -5.0000000000001432e-05 0.00086")
    py = replace_line(py, "TRACE_PY: diffracted_vec", "0.99996375197097453 -0.00049998187598550162 0.0084997")
    r = cmp(C_TEXT, py)
    assert r.exit_code == 1 and r.verdict.startswith("DIVERGENT")
    assert [(x["key"], x["components"]) for x in r.root_causes] == [("pixel_pos_meters", [2])]
    root = r.root_causes[0]
    assert root["component"] == 2 and root["c"] == 0.00084999999999999659 and root["py"] == 0.00086
    assert root["downstream"] == ["diffracted_vec"]
    assert r.first_divergence["key"] == "pixel_pos_meters" and r.first_divergence["component"] == 2
    fails = r.table[r.table["status"] == "FAIL"]
    assert list(zip(fails["key"], fails["component"])) == [("pixel_pos_meters", 2), ("diffracted_vec", 2)]


def test_divergence_in_second_subpixel_block_only():
    # the 2nd block's pixel position (occurrence (0,0,1)) moves; block 1 is identical
    py = replace_component(SUB_PY, "TRACE_PY: pixel_pos_meters", 2, "0.0008", nth=1)
    r = cmp(SUB_C, py)
    assert r.exit_code == 1
    fd = r.first_divergence
    assert (fd["key"], fd["component"], fd["layer"], fd["subS"], fd["subF"]) == ("pixel_pos_meters", 2, 0, 0, 1)
    assert r.root_causes[0]["occurrences"] == [[0, 0, 1]]
    assert "(0,0,1)" in r.verdict


def test_phi_lines_paired_by_tic_not_position():
    lines = PY_TEXT.split("\n")
    phi = [l for l in lines if l.startswith("TRACE_PY_PHI")]
    rest = [l for l in lines if not l.startswith("TRACE_PY_PHI")]
    at = rest.index("TRACE_PY: I_before_scaling 37086358.34558896")
    shuffled = rest[:at] + phi[::-1] + rest[at:]  # reversed, all after F_cell
    assert cmp(C_TEXT, "\n".join(shuffled)).exit_code == 0
    # a change at φ step 2 only is reported at phi_tic 2
    bad = "\n".join(shuffled).replace("F_latt=35.159846607923186", "F_latt=35.1598")
    r = cmp(C_TEXT, bad)
    fails = r.table[r.table["status"] == "FAIL"]
    assert list(zip(fails["section"], fails["key"], fails["phi_tic"])) == [("phi", "F_latt", 2)]
    assert r.root_causes[0]["node"] == "phi.F_latt"


def test_power_of_ten_is_a_unit_hint():
    py = replace_line(PY_TEXT, "TRACE_PY: lambda_angstroms", "10000000000")
    r = cmp(C_TEXT, py)
    assert r.exit_code == 1
    assert [(h["key"], h["factor"]) for h in r.hints] == [("lambda_angstroms", "1e10")]
    assert "m vs Å" in r.hints[0]["meaning"]
    assert r.root_causes[0]["key"] == "lambda_angstroms"


def test_nan_on_one_side_fails_and_nan_both_sides_is_incomplete():
    r = cmp(C_TEXT, replace_line(PY_TEXT, "TRACE_PY: polar", "nan"))
    assert r.exit_code == 1 and r.root_causes[0]["key"] == "polar"
    assert r.root_causes[0]["downstream"] == []  # only polar was changed
    assert r.first_divergence["py"] == "nan"  # dicts are JSON-safe: non-finite values as words
    both = cmp(replace_line(C_TEXT, "TRACE_C: polar", "-nan"), replace_line(PY_TEXT, "TRACE_PY: polar", "nan"))
    # the same NaN on both sides matches, but proves nothing: not compared, so incomplete (never parity)
    assert both.exit_code == 1 and both.judgement.verdict.value == "incomplete"
    assert both.counts["failed"] == 0 and both.counts["non_finite"] == 1
    assert both.judgement.reason == "1 value not finite on both sides (polar): nothing to compare"
    inf = cmp(replace_line(C_TEXT, "TRACE_C: polar", "inf"), replace_line(PY_TEXT, "TRACE_PY: polar", "-inf"))
    assert inf.exit_code == 1


def test_keys_missing_on_one_side_are_one_sided():
    c = "\n".join(l.split(" h_frac=")[0] if l.startswith("TRACE_C_PHI") else l for l in C_TEXT.split("\n"))
    c = "\n".join(l for l in c.split("\n") if not l.startswith(("TRACE_C: obliquity_factor", "TRACE_C_CONFIG polar")))
    r = cmp(c, PY_TEXT)
    # both sides are our builds (config echo): nothing is declared one-sided between them, so the
    # values only the torch side printed were not compared: incomplete, not parity
    assert r.exit_code == 1 and r.verdict.startswith("INCOMPLETE")
    # 1 per-pixel + 6 φ fields × 3 steps + the config echo's line 4 (5 keys, roi has 4 values)
    assert r.judgement.reason == ("27 values only the torch side printed, declared nowhere (the C side lacks "
                                  "config.curved_det, config.nopolar, config.point_pixel, config.polarization_K, "
                                  "config.roi, obliquity_factor and 6 more)")
    sided = {(o["node"], o["side"]) for o in r.one_sided}
    assert ("pixel.obliquity_factor", "PY") in sided and ("phi.I_term", "PY") in sided
    assert ("config.polarization_K", "PY") in sided
    assert r.counts["one_sided"] == 1 + 3 * 6


def test_configuration_mismatch_is_the_cause():
    py = PY_TEXT.replace("fluence=9.9999999999999998e+23", "fluence=1e20")
    py = replace_line(py, "TRACE_PY: fluence_photons_per_m2", "1e20")
    py = replace_line(py, "TRACE_PY: I_pixel_final", "9.8150734593038729e-09")
    py = replace_line(py, "TRACE_PY: floatimage_accumulated", "9.8150732810609043e-09")
    r = cmp(C_TEXT, py)
    assert r.exit_code == 1 and "configuration differs in fluence" in r.verdict
    assert [d["key"] for d in r.config_diffs] == ["fluence"]
    assert r.first_divergence["section"] == "config" and r.first_divergence["key"] == "fluence"
    assert [x["node"] for x in r.root_causes] == ["config.fluence"]
    assert r.root_causes[0]["downstream"] == ["fluence_photons_per_m2", "I_pixel_final", "floatimage_accumulated"]


def test_string_config_mismatch():
    r = cmp(C_TEXT, PY_TEXT.replace("pivot=SAMPLE", "pivot=BEAM"))
    assert r.exit_code == 1 and r.config_diffs[0]["raw_c"] == "SAMPLE" and r.config_diffs[0]["raw_py"] == "BEAM"


def test_missing_config_echo_on_one_side_is_noted_not_failed():
    c = "\n".join(l for l in SUB_C.split("\n"))
    py = "TRACE_PY_CONFIG oversample=2 detector_thicksteps=1\n" + "\n".join(
        l.split(" layer=")[0] for l in SUB_PY.split("\n"))
    r = cmp(c, py)  # torch has the echo, C numbers its blocks from its φ fields: same occurrences
    assert r.exit_code == 0
    bare_c = "\n".join(l.split(" layer=")[0] for l in SUB_C.split("\n"))
    r2 = cmp(bare_c, py)  # C has neither: blocks renumbered with the torch echo
    assert r2.exit_code == 0 and any("numbered with the other side's" in w for w in r2.warnings)


def test_tolerance_overrides_and_dtype():
    py = replace_line(PY_TEXT, "TRACE_PY: R_distance_meters", "0.10000362493529926")  # rel 1e-11
    assert cmp(C_TEXT, py).exit_code == 1
    assert cmp(C_TEXT, py, rtol=1e-10).exit_code == 0
    assert cmp(C_TEXT, py, dtype="float32").exit_code == 0
    hkl = replace_line(PY_TEXT, "TRACE_PY: hkl_rounded", "0 0 2")
    assert cmp(C_TEXT, hkl, rtol=1.0, atol=10.0).exit_code == 1  # exact keys stay exact
    with pytest.raises(UsageError):
        cmp(C_TEXT, PY_TEXT, dtype="float16")
    with pytest.raises(UsageError):
        cmp(C_TEXT, PY_TEXT, rtol=-1.0)


def test_empty_trace_is_not_parity():
    with pytest.raises(UsageError, match="pixel not rendered"):
        cmp(C_TEXT, "TRACE_PY_CONFIG fluence=1e24\n")
    with pytest.raises(UsageError):
        cmp("", PY_TEXT)


def test_to_dict_is_json_safe():
    import json

    r = cmp(C_TEXT, replace_line(PY_TEXT, "TRACE_PY: polar", "nan"))
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["exit_code"] == 1 and len(d["factors"]) == 100


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-250, 1e250), st.integers(-24, 24).filter(lambda k: k != 0), st.booleans())
def test_unit_hint_names_powers_of_ten(c, k, neg):
    c = -c if neg else c
    py = c * 10.0 ** k
    h = unit_hint(c, py)
    assert h is not None and h["factor"] == f"1e{k}"
    assert unit_hint(c, c * (1 + 2e-3)) is None
    assert unit_hint(c, -c)["factor"] == "-1"
    assert unit_hint(c, c * 180 / math.pi)["factor"] == "180/π"
    assert unit_hint(c, c * 2 * math.pi)["factor"] == "2π"


@settings(max_examples=60, deadline=None)
@given(st.floats(-1e3, 1e3, allow_nan=False), st.floats(-1e-9, 1e-9, allow_nan=False),
       st.floats(0, 1e-9), st.floats(0, 1e-10))
@example(1.03125, 2.9e-10, 0.0, 0.0)   # exact in six digits: read as %g's six when printed by repr
def test_one_tolerance_rule(c, delta, rtol, atol):
    """|py − c| <= atol + rtol·|c| decides, for values printed with all 17 digits (%.16e keeps trailing
    zeros: `repr` prints 1.03125, six digits, which the printed-precision rule reads as %g's six)."""
    py = c + delta
    c_text = f"TRACE_C: R_distance_meters {c:.16e}\nTRACE_C: floatimage_accumulated 1\n"
    py_text = f"TRACE_PY: R_distance_meters {py:.16e}\nTRACE_PY: floatimage_accumulated 1\n"
    r = cmp(c_text, py_text, rtol=rtol, atol=atol)
    expected = abs(py - c) <= atol + rtol * abs(c)
    assert (r.exit_code == 0) == expected
