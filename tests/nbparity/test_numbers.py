"""Issue 22: every number the C and users' logs print is read as a number (layouts, units, secondary values,
the C's free-text TRACE:/DETECTOR_* setup echo) and carries the precision it was printed with."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nbparity.commands.diff import diff_logs
from nbparity.trace import parse_trace
from nbparity.trace.layouts import read_body
from nbparity.trace.numbers import half_unit, precision, sig_digits


def rows(frames, key, section="pixel"):
    v = frames.values
    return v[(v["key"] == key) & (v["section"] == section)]


@pytest.mark.parametrize("body,expected", [
    ("= [-1.228675494868860e-02, 4.820185412568148e-04, 7.484723816302425e-03]",
     [(None, [-1.228675494868860e-02, 4.820185412568148e-04, 7.484723816302425e-03], "")]),
    ("= [1e-08, 6.1e-25, 6.1e-25] |a_m| = 1e-08", [(None, [1e-08, 6.1e-25, 6.1e-25], ""), ("|a_m|", [1e-08], "")]),
    ("= [0.1, 0.2, 0.3] m", [(None, [0.1, 0.2, 0.3], "m")]),
    ("= (1, 2, 3) mm", [(None, [1, 2, 3], "mm")]),
    ("0.1 0.2 0.3", [(None, [0.1, 0.2, 0.3], "")]),
    ("[1 0 0; 0 1 -0; 0 0 1]", [(None, [1, 0, 0, 0, 1, 0, 0, 0, 1], "")]),
    ("rotx:0 roty:0.139626340159546 rotz:0", [(None, [0, 0.139626340159546, 0], "")]),
    ("X:8.25e-06 Y:8.25e-06 pixel_mm:0.5", [(None, [8.25e-06, 8.25e-06, 0.5], "")]),
    ("= a_star . (b_star x c_star) = 4.7619e-06", [(None, [4.7619e-06], "")]),
    ("= 210000, V_star = 4.7619e-06", [(None, [210000], ""), ("V_star", [4.7619e-06], "")]),
    ("= 1e-10/lambda0 = 1.02375", [(None, [1.02375], "")]),
    ("= [-11.4987, 0.71732, -29.1132] |b| = 31.31 Angstroms",
     [(None, [-11.4987, 0.71732, -29.1132], "Angstroms"), ("|b|", [31.31], "Angstroms")]),
])
def test_layouts_are_numbers(body, expected):
    items = read_body(body)
    assert [(it.name, [v for _, v in it.parts], it.unit) for it in items] == expected
    assert not any(it.text for it in items)


@pytest.mark.parametrize("body", ["CUSTOM", "1 2 garbage", "Fbeam←Ybeam_mm(+0.5px),Sbeam←Xbeam_mm(+0.5px)"])
def test_words_stay_text(body):
    items = read_body(body)
    assert len(items) == 1 and items[0].text and items[0].parts[0][0] == body


def test_other_logs_layouts_compare_as_numbers(tmp_path):
    """The issue's lines: the same double in another notation is parity, 1e-15 is within tolerance, a 1e-3
    change of a vector component or of the secondary |a_m| is a divergence naming the key."""
    base = ("TRACE_PY: a_star = [-1.228675494868860e-02, 4.820185412568148e-04, 7.484723816302425e-03]\n"
            "TRACE_PY: pixel_pos = [0.1, 0.05, -0.02] m\n"
            "TRACE_PY: a_m = [1e-08, 6.1e-25, 6.1e-25] |a_m| = 1e-08\n")
    c = tmp_path / "c.log"
    c.write_text(base)

    def diff(text):
        p = tmp_path / "py.log"
        p.write_text(text)
        return diff_logs(str(c), str(p))

    same = diff(base.replace("-1.228675494868860e-02", "-0.0122867549486886").replace("[0.1,", "[1e-1,"))
    assert same.exit_code == 0 and same.counts["compared"] == 10
    tiny = diff(base.replace("4.820185412568148e-04", repr(4.820185412568148e-04 * (1 + 1e-15))))
    assert tiny.exit_code == 0
    for old, new, key in (("7.484723816302425e-03", "7.492208540118727e-03", "a_star"),
                          ("|a_m| = 1e-08", "|a_m| = 1.001e-08", "|a_m|"),
                          ("-0.02] m", "-0.02002] m", "pixel_pos")):
        res = diff(base.replace(old, new))
        assert res.exit_code == 1 and res.first_divergence["key"] == key, (key, res.verdict)


def test_units_convert_to_one_number(tmp_path):
    f = parse_trace("TRACE_PY: pixel_pos_meters = [100, 50, -20] mm\nTRACE_PY: |b| = 31.31 Angstroms\n")
    assert list(rows(f, "pixel_pos_meters")["value"]) == pytest.approx([0.1, 0.05, -0.02], rel=1e-15)
    assert rows(f, "|b|")["value"].iloc[0] == pytest.approx(31.31e-10, rel=1e-15)


R2_SETUP = """\
DETECTOR_FAST_AXIS 0.139173100960065 0 0.99026806874157
TRACE: Computing cross products of reciprocal vectors:
TRACE:   Input vectors for cross products:
TRACE:     a_star = [-0.0290511, -0.0293959, 0.0107499]
TRACE: Reciprocal cell volume calculation:
TRACE:   V_star = a_star . (b_star x c_star) = 4.7619e-06
TRACE: Direct-space cell volume: V_cell = 1/V_star = 210000
TRACE:   V_cell = 210000, V_star = 4.7619e-06
TRACE: Converting real-space vectors from Angstroms to meters:
TRACE:   Before conversion: b = [-11.4987, 0.71732, -29.1132] |b| = 31.31 Angstroms
TRACE:   After conversion: b = [-1.14987e-09, 7.1732e-11, -2.91132e-09] |b| = 3.131e-09 meters
TRACE_C: pix0_vector_meters 0.1 0.2 0.3
"""


def test_setup_echo_is_read_by_quantity_and_stage():
    f = parse_trace(R2_SETUP)
    s = f.values[f.values["section"] == "setup"]
    assert set(s["impl"]) == {"C"}
    assert list(f.other["line"]) == [2, 3, 5, 9]   # the headers: they name a stage, they hold no value
    got = {k: list(g["value"]) for k, g in s.groupby("key", sort=False)}
    assert got == {
        "DETECTOR_FAST_AXIS": [0.139173100960065, 0.0, 0.99026806874157],
        "input_vectors_for_cross_products/a_star": [-0.0290511, -0.0293959, 0.0107499],
        "reciprocal_cell_volume_calculation/V_star": [4.7619e-06],
        "direct_space_cell_volume/V_cell": [210000.0],
        "V_cell": [210000.0], "V_star": [4.7619e-06],   # a line outside any header: the quantity alone
        "before_conversion/b": pytest.approx([-11.4987e-10, 0.71732e-10, -29.1132e-10], rel=1e-15),
        "before_conversion/|b|": pytest.approx([31.31e-10], rel=1e-15),
        "after_conversion/b": [-1.14987e-09, 7.1732e-11, -2.91132e-09],
        "after_conversion/|b|": [3.131e-09],
    }
    # the %g echo carries 6 significant digits, the DETECTOR_ line the digits it shows
    assert set(s[s["key"].str.startswith("before")]["digits"]) == {6}
    assert s[s["key"] == "DETECTOR_FAST_AXIS"]["digits"].iloc[0] == 15


def test_setup_values_compare_when_both_print_them(tmp_path):
    c = tmp_path / "c.log"
    c.write_text(R2_SETUP)
    py = tmp_path / "py.log"
    py.write_text(R2_SETUP.replace("TRACE_C:", "TRACE_PY:").replace("|b| = 31.31", "|b| = 31.35"))
    res = diff_logs(str(c), str(py))
    assert res.exit_code == 1 and res.first_divergence["key"] == "before_conversion/|b|"
    assert res.counts["by_section"]["setup"] == 18


@pytest.mark.parametrize("tokens,expected", [
    (["0.000000", "0.011111", "0.022222"], ("fixed", 6)),
    (["0.999982", "-0.005998", "-0.000118"], ("general", 6)),   # repr of typed values looks the same
    (["0.999982", "-0.005998", "-0.000110"], ("fixed", 6)),     # a trailing zero: %.6f
    (["0.0166667", "0.02", "0"], ("general", 6)),
    (["0.01666667", "0.02", "0"], ("general", 7)),
    (["-3.069002e-01", "1.5"], ("general", 7)),
    (["0.5", "0.25"], ("general", 6)),
])
def test_precision_of_a_printf_format(tokens, expected):
    assert precision(tokens) == expected


def test_half_unit():
    assert half_unit(0.011111, "fixed", 6) == 5e-7
    assert half_unit(0.0166667, "general", 6) == pytest.approx(5e-8)
    assert half_unit(-3.069002e-01, "general", 7) == pytest.approx(5e-8)
    assert half_unit(0.0, "general", 6) == 0.0 and half_unit(math.nan, "general", 6) == 0.0
    assert sig_digits("-1.02054e-18") == 6 and sig_digits("0.011111") == 5 and sig_digits("0") == 0


def test_precision_is_read_from_the_whole_family():
    """`0.02` among %.17g values was printed exactly; among %g values, with 6 digits."""
    f = parse_trace("TRACE_C: rot_a_star_A_inv 0.02 0 0\nTRACE_C: rot_b_star_A_inv -1.0205389992894601e-18 "
                    "0.016666666666666666 0\nTRACE:   a_star = [0.02, 0, 0]\nTRACE:   b = [0.0166667, 1, 2]\n")
    assert rows(f, "rot_a_star_A_inv")["digits"].iloc[0] == 17
    assert rows(f, "a_star", "setup")["digits"].iloc[0] == 6
    assert rows(f, "a_star", "setup")["half_unit"].iloc[0] == pytest.approx(5e-8)


def test_floors_scale_with_the_keys_own_magnitude():
    from nbparity.trace.tolerance import floors

    keys = ["scattering_vec_A_inv"] * 3 + ["q_other"] * 2 + ["F_latt"] + ["scattering_vec_A_inv"]
    sections = ["pixel"] * 6 + ["tap5"]
    classes = ["scattering"] * 3 + ["default"] * 2 + ["lattice", "scattering"]
    c = [-5e-9, 9.999999975004450e-05, -9.99e-05, 2e-4, -1e-4, 1e-5, 1.5e9]
    r = [1e-12] * 7
    a = [1e-6, 1e-6, 1e-6, 0.0, 0.0, 1e-10, 1e-6]
    got = floors(keys, sections, classes, c, r, a)
    # a 0.1 % change of 9.99e-05 (1e-7) is no longer inside a fixed 1e-6 floor
    assert got[:3] == pytest.approx([1e-12 * 9.999999975004450e-05] * 3, rel=1e-12)
    assert got[3:5] == pytest.approx([2e-16, 2e-16], rel=1e-12)         # unknown: rtol x its largest |C value|
    assert got[5] == 1e-10 and got[6] == 1e-6                          # a sensitivity floor; the class's own unit
    assert list(floors(keys, sections, classes, c, r, a, atol_override=1e-3)) == a


def test_printed_precision_limit():
    from nbparity.trace.tolerance import printed_limit

    limit, printed = printed_limit(c=[0.011111, 0.5, 3.0], hu_c=[5e-7, 0.0, 5e-6], hu_py=[0.0, 0.0, 0.0],
                                   r=[1e-12] * 3, a=[1e-13, 1e-13, 0.0], exact=[False, False, True])
    assert list(printed) == [True, False, False]
    assert limit[0] == 5e-7 and limit[1] == pytest.approx(1e-13 + 0.5e-12)


SHIM = (Path(__file__).resolve().parents[3] / "shared" / "data" / "legacy-traces" / "files"
        / "2025-10-cli-flags__phase_l__parity_shim__20251008T032835Z")


@pytest.mark.skipif(not SHIM.parent.is_dir(), reason="../shared/data/legacy-traces absent")
def test_a_table_printed_with_6_decimals_against_the_json_of_the_same_run():
    """Print rounding is not physics: 0.011111 (%.6f) against 0.0111111 is compared at printed precision."""
    res = diff_logs(f"{SHIM}__per_phi_pytorch_20251007-202850.json", f"{SHIM}__trace_per_phi.log", keys="phi")
    assert res.exit_code == 0 and res.judgement.verdict.value == "within_tolerance", res.verdict
    assert res.counts["failed"] == 0 and res.counts["printed_precision"] == 60
    assert "phi.phi_deg" in res.tolerances["printed_precision"]["keys"]
    assert any("compared at printed precision" in w for w in res.warnings)
    # the same table with one value changed by 1e-3 relative still diverges, naming it
    text = Path(f"{SHIM}__trace_per_phi.log").read_text().replace("-9.899110", "-9.909009", 1)
    from nbparity.compare import compare_traces
    from nbparity.trace import load_trace

    got = compare_traces(load_trace(f"{SHIM}__per_phi_pytorch_20251007-202850.json"), parse_trace(text))
    assert got.exit_code == 1 and got.first_divergence["key"] == "k_frac"
