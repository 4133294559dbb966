"""Item 1 (`nbparity compare` / `image`) and the end-to-end parts of item 2: failures once a run has
started (the C build, the C binary, the torch side, a SIGKILL, two concurrent runs).

Every failure must come out as: the documented exit code (3 build/runner/simulation failure), exactly
one `nbparity: ...` line on stderr, no Python traceback unless --debug, and an evidence bundle whose
metrics.json says verdict "error" (never something that looks like a pass).

Most runs go through nbparity.cli.main in-process (torch is imported once); the ones that need a real
process (SIGKILL, two concurrent runs, exit status as a shell sees it) use `python -m nbparity`.
test_compare_input_faults.py has the input that is refused before a run starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from . import PY, TRACEBACK, assert_one_line_error, bundles_in, cli, install_fixture, nbparity_env, run_nbparity
from .compare_helpers import TINY, assert_error_bundle, assert_no_pass_bundle, compare, only_bundle


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


@pytest.mark.parametrize("fixture", ["fake_notrace.sh", "fake_exit9.sh"])
def test_c_binary_prints_no_trace_or_rejects_the_input(tmp_path, cbin, fixture):
    """A C side that prints no trace, or exits 9 on the input: a run failure (3) with an error bundle."""
    fake = install_fixture(fixture, tmp_path)
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
