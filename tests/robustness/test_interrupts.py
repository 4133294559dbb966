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
