"""Bad options: one stderr line and exit 2 from click's own checks too, a JSON document with --json, and
tolerances that are numbers in range (NaN would fail every value, inf pass every one)."""

from __future__ import annotations

import json

import pytest

from nbparity.cli import main


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e9", "abc"])
def test_a_tolerance_must_be_a_finite_number_in_range(value, capsys, tmp_path):
    log = tmp_path / "c.log"
    log.write_text("TRACE_C: I_before_scaling 1.5\n")
    assert main(["diff", str(log), str(log), "--tolerance", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--tolerance" in err[0] and value in err[0], err


def test_an_atol_in_range_is_taken(capsys, tmp_path):
    log = tmp_path / "c.log"
    log.write_text("TRACE_C: I_before_scaling 1.5\n")
    assert main(["diff", str(log), str(log), "--atol", "1e-3"]) == 0


def test_a_usage_error_is_one_line_and_json_with_json(capsys):
    assert main(["compare", "--pixel", "1", "x", "--json"]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "--pixel" in err
    doc = json.loads(out)
    assert doc["verdict"] == "error" and doc["exit_code"] == 2 and "--pixel" in doc["error"]


def test_an_unknown_command_is_one_line(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["nbparity: No such command 'frobnicate'. (see 'nbparity --help')"]
