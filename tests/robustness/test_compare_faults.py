"""Item 1 (`nbparity compare` / `image` / `cases run`) and the end-to-end parts of item 2.

Every failure must come out as: the documented exit code (2 bad input, 3 build/runner/simulation
failure), exactly one `nbparity: ...` line on stderr, no Python traceback unless --debug, and — once the
run got past validation — an evidence bundle whose metrics.json says verdict "error" (never something
that looks like a pass). A pixel that is not rendered is exit 2 "pixel (S, F) is not rendered" and never
a verdict on an empty trace.

Most runs go through nbparity.cli.main in-process (torch is imported once); the ones that need a real
process (SIGKILL, two concurrent runs, exit status as a shell sees it) use `python -m nbparity`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from . import (PY, TRACEBACK, assert_one_line_error, bundles_in, c_binary, cli, install_fixture,
               nbparity_env, run_nbparity)

TINY = ("-default_F 100 -cell 30 30 30 90 90 90 -detpixels 16 -N 2 -oversample 1 "
        "-nonoise -nopgm -noprogress")


@pytest.fixture(scope="module")
def cbin():
    return c_binary()


def compare(out: Path, *extra, pixel=(3, 4), args=TINY, c_bin=None, debug=False):
    argv = (["--debug"] if debug else []) + ["compare", "--pixel", *map(str, pixel), "--out", str(out),
                                             "--no-attribution"]
    if args is not None:
        argv += ["--args", args]
    if c_bin is not None:
        argv += ["--c-bin", str(c_bin)]
    return cli(argv + [str(e) for e in extra])


def only_bundle(out: Path) -> Path:
    found = bundles_in(out)
    assert len(found) == 1, f"expected exactly one bundle under {out}, found {found}"
    return found[0]


def assert_error_bundle(out: Path, code: int = 3) -> dict:
    b = only_bundle(out)
    m = json.loads((b / "metrics.json").read_text())
    assert m["verdict"] == "error", m.get("verdict")
    assert m["exit_code"] == code
    assert "pass" not in str(m.get("verdict_line", "")).lower()
    v = cli(["bundle", "verify", str(b)])
    assert v.returncode == 0, v.stdout + v.stderr
    return m


def assert_no_pass_bundle(out: Path) -> None:
    for b in bundles_in(out):
        m = json.loads((b / "metrics.json").read_text())
        assert str(m.get("verdict")).lower() not in ("pass", "explained"), f"{b} looks like a pass"


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


# ----------------------------------------------------------------------------- C build / C run faults


def test_c_compile_failure_exit_3(tmp_path, monkeypatch):
    monkeypatch.setenv("NBPARITY_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "broken nanoBragg.c"
    src.write_text("int main(void) { return 0 }\n")
    out = tmp_path / "out"
    r = compare(out, "--c-source", src)
    line = assert_one_line_error(r, 3)
    assert "build" in line.lower() or "compile" in line.lower()
    m = assert_error_bundle(out)
    assert "error" in m


def test_c_binary_crashes_sigsegv(tmp_path, cbin):
    fake = install_fixture("fake_crash.sh", tmp_path)
    out = tmp_path / "out"
    r = compare(out, c_bin=fake)
    line = assert_one_line_error(r, 3)
    assert "SIGSEGV" in line or "signal" in line
    assert_error_bundle(out)
    b = only_bundle(out)
    assert "about to crash" in (b / "c_trace.log").read_text()  # what it printed is kept as evidence


def _kill_pidfile(pidfile: Path) -> None:
    """Kill the fake binary's processes (started by this test) by id."""
    if pidfile.is_file():
        for pid in pidfile.read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def test_c_binary_hangs_past_timeout(tmp_path, cbin):
    pidfile = tmp_path / "pids"
    fake = install_fixture("fake_hang.sh", tmp_path, PIDFILE=str(pidfile))
    out = tmp_path / "out"
    t0 = time.monotonic()
    try:
        r = compare(out, "--timeout", "2", c_bin=fake)
        # the wrapper and the child it started are gone with the timeout: nothing outlives the harness
        alive = [pid for pid in pidfile.read_text().split() if _alive(int(pid))]
    finally:
        _kill_pidfile(pidfile)
    assert time.monotonic() - t0 < 60
    assert alive == []
    line = assert_one_line_error(r, 3)
    assert "timed out" in line or "timeout" in line
    assert_error_bundle(out)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.is_file() and status.read_text().split(")")[-1].split()[0] == "Z")


def test_c_binary_prints_no_trace(tmp_path, cbin):
    fake = install_fixture("fake_notrace.sh", tmp_path)
    out = tmp_path / "out"
    r = compare(out, c_bin=fake)
    assert_one_line_error(r, 3)
    assert_error_bundle(out)


def test_c_binary_rejects_input_exit_9(tmp_path, cbin):
    fake = install_fixture("fake_exit9.sh", tmp_path)
    out = tmp_path / "out"
    r = compare(out, c_bin=fake)
    assert_one_line_error(r, 3)
    assert_error_bundle(out)


def test_c_binary_not_executable(tmp_path, cbin):
    fake = tmp_path / "nanoBragg"
    fake.write_text("#!/bin/sh\necho hi\n")
    fake.chmod(0o644)
    out = tmp_path / "out"
    r = compare(out, c_bin=fake)
    assert r.returncode in (2, 3)
    assert_one_line_error(r, r.returncode)
    assert_no_pass_bundle(out)


def test_c_binary_prints_nan_trace_is_divergence(tmp_path, cbin):
    fake = install_fixture("fake_nan.sh", tmp_path, REAL=str(cbin))
    out = tmp_path / "out"
    r = compare(out, c_bin=fake)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert not TRACEBACK.search(r.stderr)
    m = json.loads((only_bundle(out) / "metrics.json").read_text())
    assert m["verdict"] == "divergent" and m["exit_code"] == 1


def test_c_crash_in_a_real_process_no_traceback(tmp_path, cbin):
    fake = install_fixture("fake_crash.sh", tmp_path)
    proc = run_nbparity(["compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", fake,
                         "--out", tmp_path / "out"], cwd=tmp_path)
    assert_one_line_error(proc, 3)
    assert_error_bundle(tmp_path / "out")


# ----------------------------------------------------------------------------- torch-side faults


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def test_device_cuda_without_cuda(tmp_path, cbin):
    if _cuda_available():
        pytest.skip("CUDA is available here")
    out = tmp_path / "out"
    r = compare(out, "--device", "cuda")
    line = assert_one_line_error(r, 3)
    assert "cuda" in line.lower()
    assert_error_bundle(out)


def test_bad_device_name(tmp_path, cbin):
    out = tmp_path / "out"
    r = compare(out, "--device", "tpu:7")
    assert r.returncode in (2, 3)
    assert_one_line_error(r, r.returncode)
    assert_no_pass_bundle(out)


@pytest.fixture()
def torch_raises(monkeypatch):
    import simulator
    import simulator.api

    def install(exc):
        def boom(*a, **k):
            raise exc

        monkeypatch.setattr(simulator.api, "run", boom)
        monkeypatch.setattr(simulator, "run", boom, raising=False)
    return install


def test_torch_exception(tmp_path, cbin, torch_raises):
    torch_raises(RuntimeError("simulated kernel failure\nsecond line of the message"))
    out = tmp_path / "out"
    r = compare(out)
    assert_one_line_error(r, 3, "simulated kernel failure")
    assert "second line" not in r.stderr
    assert_error_bundle(out)


def test_torch_cuda_out_of_memory(tmp_path, cbin, torch_raises):
    import torch

    torch_raises(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
    out = tmp_path / "out"
    r = compare(out, "--device", "cpu")
    line = assert_one_line_error(r, 3)
    assert "out of memory" in line.lower()
    m = assert_error_bundle(out)
    assert "out of memory" in json.dumps(m).lower()


def test_torch_exception_with_debug_shows_traceback(tmp_path, cbin, torch_raises):
    from nbparity.errors import NbparityError

    torch_raises(RuntimeError("simulated kernel failure"))
    with pytest.raises((NbparityError, RuntimeError)):
        compare(tmp_path / "out", debug=True)


def test_debug_flag_in_a_real_process_shows_traceback(tmp_path, cbin):
    fake = install_fixture("fake_crash.sh", tmp_path)
    proc = run_nbparity(["--debug", "compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", fake,
                         "--out", tmp_path / "out"], cwd=tmp_path)
    assert proc.returncode != 0
    assert TRACEBACK.search(proc.stderr)


def test_torch_simulator_error_is_not_a_pass(tmp_path, cbin, torch_raises):
    from simulator.model import InputError

    torch_raises(InputError("cannot read hkl file x"))
    out = tmp_path / "out"
    r = compare(out)
    assert r.returncode in (2, 3)
    assert_one_line_error(r, r.returncode)
    assert_no_pass_bundle(out)


# ----------------------------------------------------------------------------- image command faults


def test_image_c_crash_is_exit_3_and_an_error_bundle(tmp_path, cbin):
    fake = install_fixture("fake_crash.sh", tmp_path)
    out = tmp_path / "out"
    r = cli(["image", "--args", TINY, "--c-bin", str(fake), "--out", str(out), "--roi", "0", "3", "0", "3"])
    assert_one_line_error(r, 3)
    m = assert_error_bundle(out)
    assert m["kind"] == "image" and m["error"]


def test_image_torch_oom_is_exit_3(tmp_path, cbin, torch_raises):
    import torch

    torch_raises(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
    out = tmp_path / "out"
    r = cli(["image", "--args", TINY, "--out", str(out), "--roi", "0", "3", "0", "3"])
    line = assert_one_line_error(r, 3)
    assert "out of memory" in line.lower()
    assert "out of memory" in assert_error_bundle(out)["error"].lower()


# ----------------------------------------------------------------------------- item 2, end to end


FINAL_NAME_RE = r"^\d{8}T\d{6}Z_"


def test_sigkill_mid_run_leaves_no_complete_looking_bundle(tmp_path, cbin):
    import re

    pidfile = tmp_path / "pids"
    fake = install_fixture("fake_hang.sh", tmp_path, PIDFILE=str(pidfile))
    out = tmp_path / "out"
    proc = subprocess.Popen([PY, "-m", "nbparity", "compare", "--pixel", "3", "4", "--args", TINY,
                             "--c-bin", str(fake), "--out", str(out), "--timeout", "60"],
                            cwd=tmp_path, env=nbparity_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not pidfile.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        time.sleep(1.0)
        assert proc.poll() is None, "nbparity ended before it could be killed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _kill_pidfile(pidfile)
    complete = [p for p in bundles_in(out)] if out.exists() else []
    assert not complete, f"a killed run left a complete-looking bundle: {complete}"
    if out.exists():
        assert not [p for p in out.iterdir() if re.match(FINAL_NAME_RE, p.name)]


def test_two_concurrent_runs_get_distinct_bundles(tmp_path, cbin):
    out = tmp_path / "out"
    argv = [PY, "-m", "nbparity", "compare", "--pixel", "3", "4", "--args", TINY, "--out", str(out),
            "--no-attribution"]
    procs = [subprocess.Popen(argv, cwd=tmp_path, env=nbparity_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (so, se) in zip(procs, results):
        assert p.returncode == 0, so[-2000:] + se[-2000:]
    found = bundles_in(out)
    assert len(found) == 2, found
    for b in found:
        assert cli(["bundle", "verify", str(b)]).returncode == 0


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
