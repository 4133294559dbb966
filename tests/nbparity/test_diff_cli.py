"""`nbparity diff` end to end through nbparity.cli.main: verdict, root cause and exit code every time."""

import json
from pathlib import Path

import pytest

from nbparity.cli import main

from .test_compare import replace_component

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "golden"
C_LOG = GOLDEN / "basic_c.log"
PY_TEXT = (GOLDEN / "basic_py.log").read_text()


def run(capsys, *args):
    rc = main(["diff", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def test_identical(capsys):
    rc, out, err = run(capsys, C_LOG, GOLDEN / "basic_py.log")
    assert rc == 0 and out.startswith("IDENTICAL") and err == ""
    assert out.splitlines()[-1] == "IDENTICAL — all 187 deciding values bit-identical (exit 0)"


def test_third_component(tmp_path, capsys):
    py = write(tmp_path, "py.log", replace_component(PY_TEXT, "TRACE_PY: scattering_vec_A_inv", 2, "84996918.9"))
    rc, out, _ = run(capsys, C_LOG, py)
    assert rc == 1 and out.startswith("DIVERGENT")
    assert "first divergence scattering_vec_A_inv[2]" in out.splitlines()[0]
    assert "pixel.scattering_vec_A_inv components [2]" in out


def test_second_subpixel_block(tmp_path, capsys):
    text = (GOLDEN / "subpixels_py.log").read_text()
    py = write(tmp_path, "py.log", replace_component(text, "TRACE_PY: R_distance_meters", 0, "0.2", nth=1))
    rc, out, _ = run(capsys, GOLDEN / "subpixels_c.log", py)
    assert rc == 1 and "first divergence R_distance_meters[0] at occurrence (0,0,1)" in out
    assert "pixel.R_distance_meters components [0] at (0,0,1)" in out


def test_phi_lines_at_other_positions(capsys):
    # basic_py prints φ step 0 after F_cell, C before it
    rc, out, _ = run(capsys, C_LOG, GOLDEN / "basic_py.log")
    assert rc == 0 and "phi.F_latt" in out and "φ2" in out


def test_power_of_ten_hint(tmp_path, capsys):
    py = write(tmp_path, "py.log", replace_component(PY_TEXT, "TRACE_PY: R_distance_meters", 0, "1000362493.429926"))
    rc, out, _ = run(capsys, C_LOG, py)
    assert rc == 1 and "Hint: pixel.R_distance_meters[0] torch/C" in out and "m vs Å" in out


def test_nan_one_side(tmp_path, capsys):
    py = write(tmp_path, "py.log", replace_component(PY_TEXT, "TRACE_PY: omega_pixel", 0, "nan"))
    rc, out, _ = run(capsys, C_LOG, py)
    assert rc == 1 and "1 root cause: omega_pixel" in out.splitlines()[0]


def test_keys_missing_one_side(tmp_path, capsys):
    py = write(tmp_path, "py.log", "\n".join(
        l for l in PY_TEXT.split("\n") if not l.startswith(("TRACE_PY: cos_2theta", "TRACE_PY_CONFIG Na="))))
    rc, out, _ = run(capsys, C_LOG, py)
    # the C side printed cos_2theta and Na, the torch side did not, and nothing declares that: the two
    # values were not compared, so the verdict is incomplete (exit 1), never parity
    assert rc == 1 and out.startswith("INCOMPLETE")
    assert "One-sided keys" in out and "pixel.cos_2theta (C only)" in out and "config.Na (C only)" in out
    # cos_2theta, and the whole config echo line 3 that starts with Na (14 values)
    assert out.splitlines()[-1] == ("INCOMPLETE — 15 values only the C side printed, declared nowhere (the torch "
                                    "side lacks config.Na, config.Nb, config.Nc, config.default_F, config.fudge, "
                                    "config.h_max and 9 more) (exit 1)")


def test_fluence_configuration_mismatch_first(tmp_path, capsys):
    text = PY_TEXT.replace("fluence=9.9999999999999998e+23", "fluence=1.26e19")
    py = write(tmp_path, "py.log", replace_component(text, "TRACE_PY: fluence_photons_per_m2", 0, "1.26e19"))
    rc, out, _ = run(capsys, C_LOG, py, "--json")
    doc = json.loads(out)  # exactly one JSON document on stdout
    assert rc == 1 and doc["exit_code"] == 1
    assert doc["verdict"].startswith("DIVERGENT") and "configuration differs in fluence" in doc["verdict"]
    assert doc["judgement"]["verdict"] == "divergent" and doc["judgement"]["exit_code"] == 1
    assert doc["config_diffs"][0]["key"] == "fluence"
    assert doc["first_divergence"]["key"] == "fluence"
    assert doc["root_causes"][0]["node"] == "config.fluence"
    assert doc["root_causes"][0]["downstream"] == ["fluence_photons_per_m2"]
    rc, out, _ = run(capsys, C_LOG, py)
    lines = out.splitlines()
    assert "configuration differs in fluence" in lines[0]
    assert out.index("Configuration differences") < out.index("First divergence") < out.index("Root causes")


def test_tolerance_options(tmp_path, capsys):
    py = write(tmp_path, "py.log", replace_component(PY_TEXT, "TRACE_PY: R_distance_meters", 0, "0.10000362493529926"))
    assert run(capsys, C_LOG, py)[0] == 1
    assert run(capsys, C_LOG, py, "--tolerance", "1e-10")[0] == 0
    assert run(capsys, C_LOG, py, "--dtype", "float32")[0] == 0
    rc, _, err = run(capsys, C_LOG, py, "--dtype", "float16")
    assert rc == 2


@pytest.mark.parametrize("content,needle", [
    (None, "no such file"), ("", "empty file"), (b"\x00\x01\x02ELF", "binary"),
    ("nanoBragg banner\n  10% done\nWARNING: no pixel traced\n", "holds no trace value"),
    ("TRACE_PY_CONFIG fluence=1e24\nsome banner\n", "pixel not rendered"),
])
def test_bad_input_exit_2(tmp_path, capsys, content, needle):
    py = tmp_path / "py.log"
    if content is not None:
        write(tmp_path, "py.log", content)
    rc, out, err = run(capsys, C_LOG, py)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_markdown_rendering(tmp_path):
    from nbparity.commands.diff import diff_logs
    from nbparity.write.report import to_markdown

    py = write(tmp_path, "py.log", replace_component(PY_TEXT, "TRACE_PY: polar", 0, "0.5"))
    md = to_markdown(diff_logs(C_LOG, py))
    lines = md.splitlines()
    assert lines[0] == "# nbparity diff" and lines[2].startswith("**DIVERGENT")
    assert "| **pixel.polar** | **0** | **(0,0,0)** | **0.99996375262793435** | **0.5** |" in md
    assert md.index("Root causes") < md.index("## Factors")
