"""Item 1 (`nbparity compare` / `cases run`): input that is refused. A bad input file, argument string,
case or matrix YAML, option, a pixel that is not rendered, or a run too large to start comes out as exit
2 with exactly one `nbparity: ...` line on stderr, no Python traceback, and never a bundle that looks like
a pass. A pixel that is not rendered is exit 2 "pixel (S, F) is not rendered" and never a verdict on an
empty trace.

Most runs go through nbparity.cli.main in-process (torch is imported once); the exit status as a shell
sees it uses `python -m nbparity`. test_compare_run_faults.py has the failures once a run has started.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from . import TRACEBACK, assert_one_line_error, cli, run_nbparity
from .compare_helpers import TINY, assert_no_pass_bundle, compare, only_bundle


# ----------------------------------------------------------------------------- baseline


def test_tiny_case_is_parity(tmp_path, cbin):
    r = compare(tmp_path / "out")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    m = json.loads((only_bundle(tmp_path / "out") / "metrics.json").read_text())
    assert m["verdict"] == "identical"


# ----------------------------------------------------------------------------- pixel not rendered


def _mask_file(path: Path, n: int, masked: list[tuple[int, int]]) -> Path:
    import numpy as np

    header = (b"{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
              + f"SIZE1={n};\nSIZE2={n};\n}}\f".encode())
    data = np.ones((n, n), dtype="<u2")
    for s, f in masked:
        data[s, f] = 0
    path.write_bytes(header + b" " * (512 - len(header)) + data.tobytes())
    return path


@pytest.mark.parametrize("pixel,extra_args", [
    ((16, 3), ""), ((3, 16), ""), ((3, -1), ""), ((-1, 0), ""), ((100000, 100000), ""),
    ((5, 5), "-roi 0 3 0 3"),          # outside -roi (fast 0..3, slow 0..3)
    ((2, 9), "-roi 0 3 0 15"),         # fast outside the roi, slow inside
    ((1, 1), "-roi 5 1 7 2"),          # an inverted roi renders nothing
])
def test_pixel_not_rendered(tmp_path, pixel, extra_args, cbin):
    out = tmp_path / "out"
    r = compare(out, pixel=pixel, args=f"{TINY} {extra_args}")
    assert_one_line_error(r, 2, f"pixel ({pixel[0]}, {pixel[1]}) is not rendered")
    assert_no_pass_bundle(out)


def test_masked_pixel_not_rendered(tmp_path, cbin):
    mask = _mask_file(tmp_path / "mask.img", 16, [(5, 6), (0, 0)])
    out = tmp_path / "out"
    r = compare(out, pixel=(5, 6), args=f"{TINY} -mask {mask}")
    assert_one_line_error(r, 2, "pixel (5, 6) is not rendered")
    assert_no_pass_bundle(out)
    # a neighbour that is not masked is rendered and compared
    r = compare(out, pixel=(5, 7), args=f"{TINY} -mask {mask}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_pixel_not_rendered_in_a_real_process(tmp_path, cbin):
    proc = run_nbparity(["compare", "--pixel", "16", "0", "--args", TINY, "--out", tmp_path / "out"],
                        cwd=tmp_path)
    assert_one_line_error(proc, 2, "pixel (16, 0) is not rendered")


# ----------------------------------------------------------------------------- bad input files


def test_missing_input_file(tmp_path, cbin):
    out = tmp_path / "out"
    r = compare(out, args=f"-hkl /nonexistent/x.hkl {TINY}")
    assert_one_line_error(r, 2, "/nonexistent/x.hkl")
    r = compare(out, args=f"-mat /nonexistent/A.mat {TINY}")
    assert_one_line_error(r, 2, "/nonexistent/A.mat")
    assert_no_pass_bundle(out)


def test_directory_as_input_file(tmp_path, cbin):
    d = tmp_path / "dir.hkl"
    d.mkdir()
    r = compare(tmp_path / "out", args=f"-hkl {d} {TINY}")
    assert_one_line_error(r, 2)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files")
def test_unreadable_input_file(tmp_path, cbin):
    f = tmp_path / "F.hkl"
    f.write_text("1 2 3 100\n")
    f.chmod(0)
    try:
        r = compare(tmp_path / "out", args=f"-hkl {f} {TINY}")
        assert_one_line_error(r, 2)
    finally:
        f.chmod(0o644)


@pytest.mark.parametrize("content", [b"", b"garbage\n\xff\xfe\n", b"1 2\n3\n"])
def test_malformed_hkl_is_not_a_pass(tmp_path, content, cbin):
    f = tmp_path / "bad.hkl"
    f.write_bytes(content)
    out = tmp_path / "out"
    r = compare(out, args=f"-hkl {f} -cell 30 30 30 90 90 90 -detpixels 16 -N 1 -oversample 1 -nonoise -nopgm")
    assert r.returncode in (1, 2, 3), r.stdout[-3000:] + r.stderr[-3000:]
    if r.returncode != 1:
        assert_one_line_error(r, r.returncode)
    assert_no_pass_bundle(out)


def test_c_warning_without_newline_does_not_hide_trace_lines(tmp_path, cbin):
    """nanoBragg prints "WARNING: further warnings will not be printed! " with no newline (spec §6.9), so
    the next trace line is glued to it. Every per-pixel key must still be compared on both sides: a key
    lost on one side must not silently become "one-sided, not compared"."""
    f = tmp_path / "small.hkl"
    f.write_text("0 0 0 100\n1 0 0 50\n")
    out = tmp_path / "out"
    r = compare(out, args=f"-hkl {f} -interpolate -cell 30 30 30 90 90 90 -detpixels 16 -N 1 -oversample 1 "
                          "-nonoise -nopgm")
    m = json.loads((only_bundle(out) / "metrics.json").read_text())
    assert "further warnings" in (only_bundle(out) / "c_trace.log").read_text()
    pixel_one_sided = [o for o in (m.get("one_sided") or []) if o.get("section") == "pixel"]
    assert not pixel_one_sided, f"per-pixel keys not compared: {pixel_one_sided}"
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_bad_args_string(tmp_path, cbin):
    r = compare(tmp_path / "out", args='-cell 30 "unterminated')
    assert_one_line_error(r, 2)
    r = compare(tmp_path / "out", args="   ")
    assert_one_line_error(r, 2)


@pytest.mark.parametrize("text", ["args: [unclosed\n", "- just\n- a list\n", "args: 12\n", "name: x\n",
                                  "args: -hkl missing.hkl -cell 1 1 1\n", "\x00\x01binary",
                                  "args: -default_F 1 -cell 1 1 1\nfiles: [missing.bin]\n"])
def test_malformed_case_yaml(tmp_path, text, cbin):
    f = tmp_path / "case.yaml"
    f.write_text(text)
    r = cli(["compare", "--pixel", "1", "1", "--case", str(f), "--out", str(tmp_path / "out")])
    assert_one_line_error(r, 2)


def test_unknown_case_and_bad_options(tmp_path, cbin):
    assert_one_line_error(cli(["compare", "--pixel", "1", "1", "--case", "no-such-case",
                               "--out", str(tmp_path)]), 2)
    assert_one_line_error(compare(tmp_path / "out", "--quirks", "spec,+NO-SUCH-QUIRK"), 2)
    assert_one_line_error(compare(tmp_path / "out", "--quirks", ",,,"), 2)
    assert_one_line_error(compare(tmp_path / "out", "--c-bin", tmp_path / "nope"), 2)
    r = cli(["compare", "--pixel", "1", "--out", str(tmp_path)])
    assert r.returncode == 2 and not TRACEBACK.search(r.stderr)


# ----------------------------------------------------------------------------- malformed matrix YAML

_OK = "-default_F 1 -cell 30 30 30 -detpixels 4 -nonoise -nopgm"


@pytest.mark.parametrize("text", [
    "", "cases: [unclosed\n", "\x00\x01\x02", "just a string\n", "- 1\n- 2\n", "cases: 5\n",
    "cases:\n  - id: a\n",
    "cases:\n  - id: a\n    base_args: 7\n",
    "cases:\n  - id: a\n    base_args: -hkl /nonexistent.hkl -cell 1 1 1\n",
    f"cases:\n  - id: a\n    base_args: {_OK}\n    trace_pixels: [[1]]\n",
    f"cases:\n  - id: a\n    base_args: {_OK}\n    trace_pixels: [[1, x]]\n",
    f"cases:\n  - id: a\n    base_args: {_OK}\n    runs: 5\n",
    f"cases:\n  - id: a\n    base_args: {_OK}\n    thresholds: {{bogus_gate: 1}}\n",
    f"cases:\n  - id: a\n    base_args: {_OK}\n  - id: a\n    base_args: {_OK}\n",
    f"cases:\n  - id: a\n    base_args: '{_OK} \"unterminated'\n",
])
def test_malformed_matrix_yaml(tmp_path, text):
    f = tmp_path / "matrix.yaml"
    f.write_bytes(text.encode("utf-8", "surrogateescape"))
    r = cli(["cases", "run", str(f), "--out", str(tmp_path / "out")])
    assert_one_line_error(r, 2)
    assert_no_pass_bundle(tmp_path / "out")


def test_missing_matrix_file(tmp_path):
    r = cli(["cases", "run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out")])
    assert r.returncode == 2 and not TRACEBACK.search(r.stderr)


# ----------------------------------------------------------------------------- refused before running


def test_out_that_is_a_file_is_refused_before_running(tmp_path):
    """--out naming an existing file: exit 2 at once, never 3 after the whole run."""
    target = tmp_path / "a-file"
    target.write_text("x")
    t0 = time.monotonic()
    r = compare(target, "--json")
    line = assert_one_line_error(r, 2, "is not a folder")
    assert time.monotonic() - t0 < 20 and str(target) in line
    assert json.loads(r.stdout) == {"verdict": "error", "exit_code": 2, "error": line}


def test_oversample_1000_is_refused_before_running(tmp_path):
    """-oversample 1000 on a 32×32 detector: 10⁶ sub-pixels of trace per side; refused at once (exit 2)
    instead of growing until the kernel kills the harness."""
    args = ("-cell 50 60 70 90 90 90 -distance 100 -pixel 0.5 -nonoise -nopgm -lambda 1 -N 4 -detpixels 32 "
            "-default_F 100 -oversample 1000")
    t0 = time.monotonic()
    r = compare(tmp_path / "out", "--quirks", "c", pixel=(16, 16), args=args)
    line = assert_one_line_error(r, 2, "-oversample 1000")
    assert time.monotonic() - t0 < 10 and "MiB of trace per side" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
