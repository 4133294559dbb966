"""Ctrl-C and SIGTERM stop a command within 2 s: pool workers and the C / port process groups go too,
temporary folders are removed, what finished is kept (JUnit, marked interrupted), exit 130 / 143, and
nothing partial verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import REPO, nbparity_env

MATRIX = REPO / "tests" / "parity" / "matrix.yaml"


def _procs_mentioning(needle: str) -> list:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if needle in cmd:
                out.append((d.name, cmd[:120]))
    return out


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_matrix_interrupted_at_3_s(tmp_path, sig, code):
    out, tmp, junit = tmp_path / "out", tmp_path / "tmp", tmp_path / "junit.xml"
    tmp.mkdir()
    env = nbparity_env(TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, "-m", "nbparity", "cases", "run", str(MATRIX), "--jobs", "2",
                             "--out", str(out), "--junit-xml", str(junit)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(3)
    t0 = time.monotonic()
    # SIGINT as a terminal's Ctrl-C sends it, to the whole process group; SIGTERM to the command alone
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    took = time.monotonic() - t0
    assert proc.returncode == code, err.decode()[-2000:]
    assert took < 2.0, f"took {took:.2f} s to stop"
    time.sleep(0.5)
    assert _procs_mentioning(str(tmp_path)) == []            # no worker, C run or port left behind
    assert list(tmp.iterdir()) == []                           # no temporary folder in $TMPDIR
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []   # none under --out either
    assert not list(out.glob("*_matrix*")), "an interrupted matrix must not leave a matrix bundle"
    if junit.exists():   # what finished is kept, and the suite says it was interrupted
        assert "interrupted:" in junit.read_text()


# The command's own code, run by `python -m`: cli.main with the click group replaced by a stand-in whose
# Ctrl-C lands inside code run by exec() of a string, where dataclasses' generated methods are made.
_INTERRUPTED_IN_EXEC = '''
import sys
from nbparity import cli

def run_in_exec(*args, **kwargs):
    exec("import signal; signal.raise_signal(signal.SIGINT)")

cli.cli.main = run_in_exec
sys.exit(cli.main(["image"]))
'''


def test_ctrl_c_inside_exec_code_still_exits_130(tmp_path):
    """A Ctrl-C that arrives while torch is being imported can land in exec()'d code (dataclasses,
    namedtuple): the command still reports it and exits 130, never as a death by SIGINT (-2)."""
    (tmp_path / "interrupted_in_exec.py").write_text(_INTERRUPTED_IN_EXEC)
    path = [str(tmp_path), str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    r = subprocess.run([sys.executable, "-m", "interrupted_in_exec"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60, env=nbparity_env(PYTHONPATH=os.pathsep.join(path)))
    assert r.returncode == 130, r.stderr[-2000:]
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("nbparity:")] == ["nbparity: interrupted"]


# A real signal timed from the start of one of torch's C++ initialisers (a POSIX timer: SIGEV_SIGNAL on
# CLOCK_MONOTONIC, set by a profile hook at the call), while cli.main imports torch in the main thread.
# Raised inside that call, the handler's exception aborted the process (SIGABRT, -6).
_SIGNAL_IN_NATIVE_INIT = '''
import ctypes, ctypes.util, importlib, signal, sys

class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]

class Itimerspec(ctypes.Structure):
    _fields_ = [("interval", Timespec), ("value", Timespec)]

class Sigevent(ctypes.Structure):   # Linux: sigev_value, sigev_signo, sigev_notify, a 48-byte union
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int), ("notify", ctypes.c_int),
                ("pad", ctypes.c_byte * 48)]

libc = ctypes.CDLL(ctypes.util.find_library("rt") or None, use_errno=True)
target, sig, delay = sys.argv[1], signal.Signals[sys.argv[2]], float(sys.argv[3])

def signal_soon():
    timer = ctypes.c_void_p()
    assert libc.timer_create(1, ctypes.byref(Sigevent(None, int(sig), 0)), ctypes.byref(timer)) == 0
    when = Itimerspec(Timespec(0, 0), Timespec(0, int(delay * 1e9)))
    assert libc.timer_settime(timer, 0, ctypes.byref(when), None) == 0

def hook(frame, event, arg):
    if event == "c_call" and getattr(arg, "__name__", "") == target:
        sys.setprofile(None)
        signal_soon()
        print("signal timed from", target, file=sys.stderr)

def run(*args, **kwargs):
    sys.setprofile(hook)
    importlib.import_module("torch")

if sys.argv[4] == "cli":
    from nbparity import cli
    cli.cli.main = run
    sys.exit(cli.main(["image"]))
from nbparity.flows import matrix   # a pool worker: SIGTERM while its initializer imports torch
from nbparity.interrupts import Terminated
sys.setprofile(hook)
try:
    matrix._worker_init(None, None)
except Terminated:
    print("nbparity: terminated", file=sys.stderr)
    sys.exit(143)
'''


@pytest.mark.parametrize("where, target, sig, delay", [
    ("cli", "_c10d_init", "SIGINT", 0.0005),
    ("cli", "_c10d_init", "SIGINT", 0.002),
    ("cli", "_c10d_init", "SIGTERM", 0.001),
    ("cli", "_autograd_init", "SIGINT", 0.0002),
    ("worker", "_c10d_init", "SIGTERM", 0.001),
])
def test_a_signal_inside_torchs_native_init_does_not_abort(tmp_path, where, target, sig, delay):
    """Ctrl-C or SIGTERM while torch's C++ initialisers run: the command (or matrix worker) still stops
    with its exit code and one line, a few ms later, never with SIGABRT from an uncaught C++ exception."""
    script = tmp_path / "signal_in_init.py"
    script.write_text(_SIGNAL_IN_NATIVE_INIT)
    path = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    r = subprocess.run([sys.executable, str(script), target, sig, str(delay), where], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120, env=nbparity_env(PYTHONPATH=path))
    assert f"signal timed from {target}" in r.stderr, r.stderr[-2000:]   # the signal was really sent
    code, line = (130, "nbparity: interrupted") if sig == "SIGINT" else (143, "nbparity: terminated")
    assert r.returncode == code, r.stderr[-2000:]   # was -6 (SIGABRT)
    assert "terminate called" not in r.stderr, r.stderr[-2000:]
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("nbparity:")] == [line]


def test_a_stopped_matrix_worker_ends_once_its_run_has_unwound(tmp_path):
    """SIGTERM in a pool worker: the run unwinds (its finally blocks run) and the worker ends at once with
    143 (before, only on_term's fallback timer ended it, 1.5 s later: a matrix stopped in 1.55 s)."""
    marker = tmp_path / "unwound"
    code = (
        "import os, signal, sys, threading, time\n"
        "class NoTimer:   # on_term's fallback never fires here: only the run's own end may stop the worker\n"
        "    def __init__(self, *a): pass\n"
        "    def start(self): pass\n"
        "threading.Timer = NoTimer\n"
        "from nbparity.flows import matrix\n"
        "matrix._worker_init(None, None)   # the pool worker's handlers\n"
        "def run_one(spec, ctx):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(30)\n"
        "    finally:\n"
        f"        open({str(marker)!r}, 'w').close()\n"
        "matrix.run_one = run_one\n"
        "matrix._run_in_worker('spec', None)\n"
        "print('returned')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 143 and r.stdout == "" and marker.exists(), r.stderr[-2000:]
