"""Fault suite (issue 25 item 5): fake C and port programs (hang with children, crash, garbage, huge
output, silent), interrupts at several moments (the bundle rename included), a full disk (simulated
ENOSPC) and hostile request documents. Each case asserts the exit code, exactly one `nbparity:` stderr
line, no process left behind, no temporary folder left, and no bundle that verifies as a pass.

Most runs go through nbparity.cli.main in-process (torch imported once); the interrupt of a running
`image` / `probe` needs a real process (tests/robustness/test_interrupts.py does `compare` and `cases run`).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from . import assert_one_line_error, bundles_in, c_binary, cli, nbparity_env
from .compare_helpers import TINY, assert_no_pass_bundle


# fake sides: sh scripts; {pids} is a file each one appends "its pid and its child's pid" to
FAKES = {
    "hang": 'echo "fake: hanging"\nsleep 60 &\necho "$$ $!" >> "{pids}"\nsleep 60\n',
    "crash": 'echo "fake: crashing"\nkill -SEGV $$\n',
    "garbage": "printf 'TRACE_C: pixel_pos_meters abc def\\nTRACE_C_PHI phi_tic=x\\n\\377\\376 \\000 bytes\\n'\n",
    "huge": 'yes "TRACE_C: note padding padding padding padding padding" | head -c 200000000\n',
    "silent": "exit 0\n",
}


def _fake(directory: Path, name: str) -> tuple[Path, Path]:
    pids = directory / f"{name}.pids"
    script = directory / f"fake_{name}.sh"
    script.write_text("#!/bin/sh\n" + FAKES[name].replace("{pids}", str(pids)))
    script.chmod(0o755)
    return script, pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _assert_clean(out: Path, tmp: Path, pids: Path | None = None) -> None:
    """No process the fake started is alive, no temporary folder remains, no bundle passes."""
    if pids is not None and pids.exists():
        started = [int(p) for p in pids.read_text().split()]
        deadline = time.monotonic() + 2
        while any(_alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in started if _alive(p)], "a process the fake side started is still running"
    assert list(tmp.iterdir()) == [], f"left in $TMPDIR: {list(tmp.iterdir())}"
    if out.exists():
        assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert_no_pass_bundle(out)


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    """$TMPDIR of the in-process run: a folder of its own, to find what it leaves behind."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


# (fake, compare exit, a word of the stderr line), for the C side and the port side
C_SIDE = [("hang", 3, "timed out"), ("crash", 3, "SIGSEGV"), ("garbage", 1, None),
          ("huge", 3, "more than 128 MiB"), ("silent", 3, "no TRACE_C lines")]
PORT_SIDE = [("hang", 3, "timed out"), ("crash", 3, "SIGSEGV"), ("garbage", 1, None),
             ("huge", 3, "more than 128 MiB"), ("silent", 1, None)]


@pytest.mark.parametrize("name, code, needle", C_SIDE)
def test_fake_c_side(tmp_path, tmpdir_env, name, code, needle):
    script, pids = _fake(tmp_path, name)
    out = tmp_path / "out"
    r = cli(["compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", str(script), "--out", str(out),
             "--timeout", "3", "--no-attribution"])
    if code == 1:   # garbage values are a divergence, never parity
        assert r.returncode == 1 and "nbparity:" not in r.stderr and "DIVERGENT" in r.stdout, r.stdout + r.stderr
    else:
        assert_one_line_error(r, code, needle)
    _assert_clean(out, tmpdir_env, pids)


@pytest.mark.parametrize("name, code, needle", PORT_SIDE)
def test_fake_port_side(tmp_path, tmpdir_env, name, code, needle):
    script, pids = _fake(tmp_path, name)
    out = tmp_path / "out"
    r = cli(["image", "--args", TINY, "--c-bin", str(c_binary()), "--py-cmd", str(script), "--out", str(out),
             "--timeout", "3"])
    if code == 1:   # no image from the port: INCOMPLETE, never parity
        assert r.returncode == 1 and "INCOMPLETE" in r.stdout and "nbparity:" not in r.stderr, r.stdout + r.stderr
    else:
        assert_one_line_error(r, code, needle)
    _assert_clean(out, tmpdir_env, pids)


def test_output_over_the_limit_is_refused_even_when_the_writer_has_ended(tmp_path):
    from nbparity.port import OutputTooLarge, run_in_group

    script = tmp_path / "fast.sh"
    script.write_text("#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' x\n")
    script.chmod(0o755)
    with pytest.raises(OutputTooLarge, match="more than 1 MiB"):
        run_in_group([str(script)], tmp_path, 30, max_output=1 << 20)
    rc, out, _ = run_in_group([str(script)], tmp_path, 30, max_output=4 << 20)
    assert rc == 0 and out == "x" * 3000000


# ----------------------------------------------------------------------------- the bundle rename


@pytest.mark.parametrize("command", [["compare", "--pixel", "3", "4", "--no-attribution"], ["image"]])
@pytest.mark.parametrize("raised, code, line", [(KeyboardInterrupt, 130, "nbparity: interrupted"),
                                                ("Terminated", 143, "nbparity: terminated")])
def test_interrupt_right_before_the_bundle_rename(tmp_path, tmpdir_env, monkeypatch, command, raised, code, line):
    import nbparity.bundle as bundle
    from nbparity import cli as cli_module

    exc = cli_module.Terminated if raised == "Terminated" else raised
    real, calls = os.rename, []

    def interrupted_rename(src, dst):   # os is shared: only the bundle's own rename is interrupted
        if ".tmp-" in Path(src).name and Path(src).parent == Path(dst).parent:
            calls.append(src)
            raise exc()
        return real(src, dst)

    monkeypatch.setattr(bundle.os, "rename", interrupted_rename)
    out = tmp_path / "out"
    r = cli([*command, "--args", TINY, "--c-bin", str(c_binary()), "--out", str(out)])
    assert_one_line_error(r, code, line)
    assert len(calls) == 1, "the signal must arrive at the bundle's rename"
    assert not out.exists() or list(out.iterdir()) == [], "an interrupted write must leave no bundle"
    _assert_clean(out, tmpdir_env)


def test_disk_full_while_writing_the_bundle(tmp_path, tmpdir_env, monkeypatch):
    real = Path.write_bytes
    written = []

    def full_disk(self, data):   # the bundle's second file does not fit
        if ".tmp-" in self.parent.name:
            written.append(self)
            if len(written) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    out = tmp_path / "out"
    r = cli(["compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", str(c_binary()), "--out", str(out),
             "--no-attribution"])
    assert_one_line_error(r, 2, "cannot write the bundle in")
    assert "No space left on device" in r.stderr
    assert len(written) == 2 and bundles_in(out) == [] and [p for p in out.iterdir()] == []
    _assert_clean(out, tmpdir_env)


# ----------------------------------------------------------------------------- hostile documents


@pytest.mark.parametrize("text, reason", [
    ("[" * 100000 + "]" * 100000, "nested 100000 deep"),
    ('{"kind": "compare", "n": ' + "9" * 5000 + "}", "5000 characters"),
    ('{"kind": "compare", "x": 1e999}', "out of range"),
    ("[1, 2]", "not an object"),
    ("{not json", "line 1"),
])
def test_hostile_request_json_is_exit_2(tmp_path, text, reason):
    doc = tmp_path / "request.json"
    doc.write_text(text)
    r = cli(["rerun", str(doc)])
    assert_one_line_error(r, 2, reason)


@pytest.mark.parametrize("text, reason", [
    ('{"traces": ' + "[" * 100000 + "]" * 100000 + "}", "nested too deeply"),
    ('{"traces": [{"phi_tic": ' + "9" * 5000 + ', "h_frac": 1}]}', "holds no trace value"),
    ('{"traces": [{"phi_tic": 1e300, "h_frac": 1}]}', "holds no trace value"),
])
def test_hostile_per_phi_json_is_exit_2(tmp_path, text, reason):
    doc = tmp_path / "per_phi.json"
    doc.write_text(text)
    r = cli(["diff", str(doc), str(doc)])
    assert_one_line_error(r, 2, reason)


# ----------------------------------------------------------------------------- interrupts of a real process


def _start(command: list, tmp_path: Path, tmp: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nbparity", *command], cwd=tmp_path,
                            env=nbparity_env(TMPDIR=str(tmp)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _interrupt(proc, sig) -> tuple[float, str]:
    """SIGINT as a terminal's Ctrl-C sends it (the whole group); SIGTERM to the command alone."""
    t0 = time.monotonic()
    os.killpg(proc.pid, sig) if sig == signal.SIGINT else proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return time.monotonic() - t0, err.decode()


@pytest.mark.parametrize("command", [["image"], ["probe", "single-phi", "--pixel", "3", "4"],
                                     ["compare", "--pixel", "3", "4", "--no-attribution"]])
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_running_command_interrupted_while_a_side_runs(tmp_path, command, sig, code):
    """The signal arrives while the (hanging) C side runs, its child included."""
    script, pids = _fake(tmp_path, "hang")
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    proc = _start([*command, "--args", TINY, "--c-bin", str(script), "--out", str(out)], tmp_path, tmp)
    deadline = time.monotonic() + 120
    while not pids.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids.exists(), "the fake C side never started"
    took, err = _interrupt(proc, sig)
    assert proc.returncode == code, err[-2000:]
    assert took < 2.0, f"took {took:.2f} s to stop"
    assert [ln for ln in err.splitlines() if ln.startswith("nbparity:")] == \
           ["nbparity: interrupted" if code == 130 else "nbparity: terminated"], err[-2000:]
    _assert_clean(out, tmp, pids)
    assert bundles_in(out) == []
    assert _session_members(proc.pid) == [], "a worker of the command is still running"


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_image_interrupted_during_startup(tmp_path, sig, code):
    """The signal arrives while the command is still importing and planning."""
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(["image", "--args", TINY, "--c-bin", str(c_binary()), "--out", str(out)], tmp_path, tmp)
    time.sleep(0.3)
    took, err = _interrupt(proc, sig)
    assert proc.returncode == code, err[-2000:]
    assert took < 2.0, f"took {took:.2f} s to stop"
    assert [ln for ln in err.splitlines() if ln.startswith("nbparity:")] == \
           ["nbparity: interrupted" if code == 130 else "nbparity: terminated"], err[-2000:]
    _assert_clean(out, tmp)
    assert bundles_in(out) == []


def _session_members(sid: int) -> list[int]:
    """Live processes of session `sid` (its leader excluded): the command's workers and their runs."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != sid:
            try:
                if os.getsid(int(d.name)) == sid and _alive(int(d.name)):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def test_matrix_killed_by_sigkill_takes_its_workers_along(tmp_path):
    """SIGKILL cannot be handled, but the pool workers notice their parent's death and stop within 2 s."""
    from .test_interrupts import MATRIX

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    proc = _start(["cases", "run", str(MATRIX), "--jobs", "2", "--out", str(out)], tmp_path, tmp)
    deadline = time.monotonic() + 120   # the workers are busy: a first run has written its bundle
    while not (out.exists() and any(not p.name.startswith(".") for p in out.iterdir())) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_session_members(proc.pid)) >= 2, "the matrix has no workers running"
    proc.kill()
    proc.communicate(timeout=20)
    t0 = time.monotonic()
    while _session_members(proc.pid) and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    left = _session_members(proc.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"workers still running {time.monotonic() - t0:.1f} s after the matrix was killed"
    assert time.monotonic() - t0 < 2.0
    assert list(tmp.iterdir()) == []
