"""Case files and matrices go through one guarded YAML reader: an alias bomb, a deep nesting or a huge
document is exit 2 with one line, at once, never unbounded memory."""

from __future__ import annotations

import time

import pytest

from nbparity.read.guarded_yaml import YAMLRefused, check_yaml

from . import assert_one_line_error, cli

BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"] +
                 [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]) + "\nargs: '-N 1'\n"


def test_guard_refuses_aliases_depth_and_size():
    with pytest.raises(YAMLRefused, match="nodes once its aliases are expanded"):
        check_yaml(BOMB)
    check_yaml("a: &x {rtol: 1.0e-12}\nb: *x\nc: [*x, *x]\n")   # ordinary aliases are fine
    with pytest.raises(YAMLRefused, match="nested deeper than 64"):
        check_yaml("[" * 70 + "]" * 70)
    with pytest.raises(YAMLRefused, match="larger than"):
        check_yaml("a: " + "x" * 100, max_bytes=50)
    check_yaml("args: -default_F 100 -N 2\nname: fine\n")   # an ordinary case file passes


@pytest.mark.parametrize("command", [["compare", "--pixel", "1", "1", "--case"], ["image", "--case"]])
def test_alias_bomb_case_file_is_exit_2_at_once(tmp_path, command):
    case = tmp_path / "bomb.yaml"
    case.write_text(BOMB)
    t0 = time.monotonic()
    r = cli([*command, str(case), "--out", str(tmp_path / "out")])
    assert time.monotonic() - t0 < 30
    assert_one_line_error(r, 2, "aliases are expanded")


def test_alias_bomb_matrix_is_exit_2(tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text(BOMB.replace("args: '-N 1'", "name: m\ncases: []"))
    r = cli(["cases", "check", str(matrix)])
    assert_one_line_error(r, 2, "aliases are expanded")


def test_junit_xml_that_is_a_folder_is_exit_2_before_running(tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text("name: m\ncases:\n  - id: one\n    base_args: '-default_F 1 -N 1 -detpixels 4'\n"
                      "    runs:\n      - name: base\n")
    t0 = time.monotonic()
    r = cli(["cases", "run", str(matrix), "--junit-xml", str(tmp_path), "--out", str(tmp_path / "out")])
    assert_one_line_error(r, 2, "is a folder")
    assert time.monotonic() - t0 < 20 and not (tmp_path / "out").exists()


def test_phi_json_with_impossible_loop_indices_is_bad_input(tmp_path):
    """phi_tic inf, 1e300 or a 5000-digit integer is no loop index: the record is kept aside and a file
    of nothing else is exit 2 with one line, never an internal error (exit 3)."""
    for i, tic in enumerate(["1e999", "1e300", "9" * 5000]):
        f = tmp_path / f"phi{i}.json"
        f.write_text('{"traces": [{"phi_tic": %s, "k_frac": 1.5}]}' % tic)
        assert_one_line_error(cli(["diff", str(f), str(f)]), 2, "holds no trace value")


def test_probe_sincg_points_are_bounded(tmp_path):
    r = cli(["probe", "sincg", "--pixel", "1", "1", "--points", "1000000000", "--out", str(tmp_path)])
    assert r.returncode == 2 and "--points" in r.stderr and not any(tmp_path.iterdir())
