"""Item 1 (`nbparity diff`): hostile trace logs never crash the harness and never look like parity.

Starting point: the golden pair traces/golden/basic_{c,py}.log (parity, exit 0). Each test damages one
or both logs and checks the documented outcome: exit 2 (bad input, one stderr line, no traceback) for
logs that cannot be compared (missing, a directory, empty, binary, nothing traced), exit 1 for a real
disagreement (NaN, inf, a duplicated key with another value), and never exit 0 when a value could not be
read. A log cut mid-record or stopping early is still compared (issue 13): exit 0 or 1, the cut reported.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from . import REPO, TRACEBACK, assert_one_line_error, cli, run_nbparity

GOLDEN = REPO / "traces" / "golden"


@pytest.fixture()
def logs(tmp_path):
    c = tmp_path / "c.log"
    py = tmp_path / "py.log"
    c.write_bytes((GOLDEN / "basic_c.log").read_bytes())
    py.write_bytes((GOLDEN / "basic_py.log").read_bytes())
    return c, py


def _diff(c, py, *extra):
    """In-process (fast): the same code path as the console script."""
    return cli(["diff", str(c), str(py), *extra])


def _set_value(path: Path, prefix: str, key: str, value: str, count: int = 1) -> None:
    """Replace the values of the per-pixel line `PREFIX: key ...` (first `count` occurrences)."""
    out, done = [], 0
    for line in path.read_text().splitlines(keepends=True):
        if done < count and line.startswith(f"{prefix}: {key} "):
            n = len(line.split()) - 2
            line = f"{prefix}: {key} {' '.join([value] * n)}\n"
            done += 1
        out.append(line)
    assert done, f"{key} not found in {path}"
    path.write_text("".join(out))


def test_golden_pair_is_parity(logs):
    proc = _diff(*logs)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr


# ----------------------------------------------------------------------------- unusable logs -> exit 2


@pytest.mark.parametrize("side", ["c", "py"])
@pytest.mark.parametrize("damage", ["missing", "directory", "empty", "blank", "nul_bytes", "random_bytes",
                                    "no_trace_lines", "config_only"])
def test_unusable_log_is_bad_input(logs, side, damage, tmp_path):
    c, py = logs
    target = c if side == "c" else py
    data = target.read_bytes()
    if damage == "missing":
        target.unlink()
    elif damage == "directory":
        target.unlink()
        target.mkdir()
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "blank":
        target.write_bytes(b"\n  \n\t\n")
    elif damage == "nul_bytes":
        target.write_bytes(data[:200] + b"\0\0\0" + data[200:])
    elif damage == "random_bytes":
        target.write_bytes(bytes((i * 131 + 7) % 256 for i in range(5000)))
    elif damage == "no_trace_lines":
        target.write_text("nanoBragg banner\n  10% done\nall done\n")
    elif damage == "config_only":
        keep = [ln for ln in data.splitlines(keepends=True) if b"_CONFIG" in ln or not ln.startswith(b"TRACE")]
        target.write_bytes(b"".join(keep))
    proc = _diff(c, py)
    assert_one_line_error(proc, 2)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files")
def test_unreadable_log_is_bad_input(logs):
    c, py = logs
    c.chmod(0)
    try:
        assert_one_line_error(_diff(c, py), 2, "cannot read")
    finally:
        c.chmod(0o644)


# ----------------------------------------------------------------------------- damaged values


@pytest.mark.parametrize("c_val,py_val", [("nan", None), (None, "nan"), ("inf", None), (None, "-inf"),
                                          ("inf", "-inf"), ("nan", "inf")])
def test_non_finite_mismatch_is_divergence(logs, c_val, py_val):
    c, py = logs
    if c_val:
        _set_value(c, "TRACE_C", "R_distance_meters", c_val)
    if py_val:
        _set_value(py, "TRACE_PY", "R_distance_meters", py_val)
    proc = _diff(c, py)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    assert "R_distance_meters" in proc.stdout
    assert not TRACEBACK.search(proc.stderr)


@pytest.mark.parametrize("val", ["nan", "inf", "-inf"])
def test_identical_non_finite_values_match(logs, val):
    c, py = logs
    _set_value(c, "TRACE_C", "I_before_scaling", val)
    _set_value(py, "TRACE_PY", "I_before_scaling", val)
    proc = _diff(c, py)
    # non-finite values match exactly (NaN with NaN); the downstream finite values still agree
    assert proc.returncode in (0, 1)
    assert not TRACEBACK.search(proc.stderr)


def test_json_output_stays_strict_json_with_nan_and_inf(logs):
    c, py = logs
    _set_value(c, "TRACE_C", "R_distance_meters", "nan")
    _set_value(py, "TRACE_PY", "omega_pixel_sr", "inf")
    proc = _diff(c, py, "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)  # one document, no NaN/Infinity literals
    assert "NaN" not in re.sub(r'"[^"]*"', "", proc.stdout) and doc


@pytest.mark.parametrize("token", ["abc", "1.0.0", "0x", "--", "1e", "nan!", "ＮａＮ"])
def test_non_numeric_token_on_one_side_is_not_parity(logs, token):
    c, py = logs
    _set_value(c, "TRACE_C", "R_distance_meters", token)
    proc = _diff(c, py)
    assert proc.returncode in (1, 2), proc.stdout[-2000:] + proc.stderr
    assert not TRACEBACK.search(proc.stderr)


def test_non_numeric_token_on_both_sides_is_not_parity(logs):
    """An unreadable value is unknown on both sides: agreeing 'NaN == NaN' would be a false pass."""
    c, py = logs
    _set_value(c, "TRACE_C", "R_distance_meters", "abc")
    _set_value(py, "TRACE_PY", "R_distance_meters", "abc")
    proc = _diff(c, py)
    assert proc.returncode in (1, 2), proc.stdout[-2000:] + proc.stderr
    assert not TRACEBACK.search(proc.stderr)


def test_wrong_arity_is_not_parity(logs):
    c, py = logs
    text = c.read_text()
    text = re.sub(r"^(TRACE_C: pixel_pos_meters \S+ \S+) \S+$", r"\1", text, flags=re.M)
    c.write_text(text)
    proc = _diff(c, py)
    assert proc.returncode in (1, 2), proc.stdout[-2000:] + proc.stderr
    assert not TRACEBACK.search(proc.stderr)


def test_duplicated_key_with_other_value_is_not_last_value_wins(logs):
    c, py = logs
    lines = c.read_text().splitlines(keepends=True)
    i = next(k for k, ln in enumerate(lines) if ln.startswith("TRACE_C: I_pixel_final "))
    # a second, different I_pixel_final printed *before* the real one: "last value wins" would hide it
    lines.insert(i, "TRACE_C: I_pixel_final 12345\n")
    c.write_text("".join(lines))
    proc = _diff(c, py)
    assert proc.returncode in (1, 2), proc.stdout[-2000:] + proc.stderr


def test_duplicated_identical_block_on_one_side_is_not_parity(logs):
    c, py = logs
    lines = c.read_text().splitlines(keepends=True)
    pixel = [ln for ln in lines if ln.startswith("TRACE_C: ")]
    start = next(k for k, ln in enumerate(lines) if ln.startswith("TRACE_C: "))
    c.write_text("".join(lines[:start] + pixel + lines[start:]))  # the whole pixel block twice
    proc = _diff(c, py)
    assert proc.returncode in (1, 2), proc.stdout[-2000:] + proc.stderr


def test_crlf_and_progress_noise_still_parity(logs):
    c, py = logs
    text = c.read_text()
    noisy = []
    for k, line in enumerate(text.splitlines()):
        noisy.append(line)
        if k % 7 == 0:
            noisy.append(f"  {k}% done\rWARNING: something unrelated")
    c.write_bytes(("\r\n".join(noisy) + "\r\n").encode())
    proc = _diff(c, py)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr


def test_invalid_utf8_between_lines_does_not_crash(logs):
    c, py = logs
    data = c.read_bytes()
    first_nl = data.index(b"\n") + 1
    c.write_bytes(data[:first_nl] + b"banner \xff\xfe\xc3\x28 latin-1: caf\xe9\n" + data[first_nl:])
    proc = _diff(c, py)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert not TRACEBACK.search(proc.stderr)


def test_very_long_garbage_line_is_fast_and_safe(logs):
    c, py = logs
    data = c.read_bytes()
    c.write_bytes(b"x" * 2_000_000 + b"\n" + b"TRACE_C: " + b"9" * 100_000 + b"\n" + data)
    proc = _diff(c, py)
    assert proc.returncode in (0, 1, 2)
    assert not TRACEBACK.search(proc.stderr)


# ----------------------------------------------------------------------------- partial and cut logs compare


@pytest.mark.parametrize("side", ["c", "py"])
def test_log_cut_mid_line_compares_what_came_before(logs, side):
    """A record cut mid-line is reported as truncation; the values before it are still compared."""
    c, py = logs
    target = c if side == "c" else py
    data = target.read_bytes()
    target.write_bytes(data[: len(data) * 2 // 3].rstrip(b"\n")[:-3])
    proc = _diff(c, py, "--json")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    label = "C" if side == "c" else "torch"
    assert "cut mid-record" in doc["inputs"][label]["truncation"] and "input truncated" in doc["verdict"]
    assert doc["counts"]["compared"] > 0 and doc["counts"]["passed"] > 0


@pytest.mark.parametrize("side", ["c", "py"])
def test_partial_log_is_incomplete_on_the_shared_keys(logs, side):
    """A trace that stops early (the last block-C keys missing) compares the rest; the missing keys are
    one-sided, never a refusal and never a failure, but they were not compared: incomplete (exit 1), never
    parity (both sides are our builds, which print the same keys: nothing is declared one-sided)."""
    c, py = logs
    target = c if side == "c" else py
    lines = target.read_bytes().splitlines(keepends=True)
    target.write_bytes(b"".join(lines[: len(lines) - 4]))
    proc = _diff(c, py, "--json")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["counts"]["one_sided"] > 0 and doc["inputs"]["C"]["truncation"] is None
    assert any(o["key"] == "floatimage_accumulated" for o in doc["one_sided"])
    assert doc["counts"]["failed"] == 0 and doc["judgement"]["verdict"] == "incomplete"
    assert "floatimage_accumulated" in doc["judgement"]["reason"]


def test_damaged_log_in_a_real_process_is_one_line_no_traceback(logs):
    """The same checks through a real `python -m nbparity` process (exit status, stderr as users see it)."""
    c, py = logs
    c.write_text("nanoBragg banner\n  10% done\n")
    proc = run_nbparity(["diff", str(c), str(py)], timeout=120)
    assert_one_line_error(proc, 2, "holds no trace value")
