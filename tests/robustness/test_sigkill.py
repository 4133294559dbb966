"""SIGKILL runs no handler: the folders a killed `image` or `cases run` leaves behind are removed by the
next command, while a live process's folder, and anything not ours, stays (issue 25)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import c_binary, nbparity_env
from .compare_helpers import TINY
from .test_fault_suite import _fake, _session_members, _start
from .test_interrupts import MATRIX

OWNER = ("import sys, time\nfrom nbparity import tempdirs\n"
         "print(tempdirs.make(sys.argv[1], sys.argv[2] or None), flush=True)\ntime.sleep(120)\n")


def _live_owner(kind: str, tmp: Path, where: Path | None = None) -> tuple[subprocess.Popen, Path]:
    """A live process holding a folder of `kind` (in `where`, else its $TMPDIR)."""
    proc = subprocess.Popen([sys.executable, "-c", OWNER, kind, str(where or "")], stdout=subprocess.PIPE,
                            text=True, env=nbparity_env(TMPDIR=str(tmp)))
    return proc, Path(proc.stdout.readline().strip())


def _wait_for(predicate, what: str, proc, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not predicate() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert predicate(), f"{what} never appeared (exit {proc.poll()})"


def _kill9(proc, also: list[int] = ()) -> None:
    """SIGKILL the command alone, then (for the test's own hygiene) what it had started."""
    proc.kill()
    proc.communicate(timeout=20)
    for pid in [*_session_members(proc.pid), *also]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _kinds(folder: Path) -> list[str]:
    return sorted(p.name.split("-")[1] if not p.name.startswith(".") else "matrix" for p in folder.iterdir()
                  if p.name.startswith(("nbparity-", ".nbparity-")))


def test_image_killed_by_sigkill_is_swept_by_the_next_command(tmp_path):
    script, pids = _fake(tmp_path, "hang")
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(["image", "--args", TINY, "--c-bin", str(script), "--out", str(out)], tmp_path, tmp)
    _wait_for(pids.exists, "the hanging C side", proc)
    _kill9(proc, [int(p) for p in pids.read_text().split()])
    # a png folder as a killed image's bundle writer leaves it: its owner killed with SIGKILL too
    png_owner, png = _live_owner("png", tmp)
    png_owner.kill()
    png_owner.wait()
    assert _kinds(tmp) == ["image", "png"], "the killed commands left no folder: nothing to test"
    live, kept = _live_owner("image", tmp)
    foreign = tmp / "nbparity-image-notours"
    foreign.mkdir()
    try:
        r = subprocess.run([sys.executable, "-m", "nbparity", "cases", "check", str(MATRIX)], cwd=tmp_path,
                           env=nbparity_env(TMPDIR=str(tmp)), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert sorted(p.name for p in tmp.iterdir()) == sorted([kept.name, foreign.name])
    finally:
        live.kill()
        live.wait()


def test_matrix_killed_by_sigkill_is_swept_from_out(tmp_path):
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(["cases", "run", str(MATRIX), "--jobs", "1", "--out", str(out)], tmp_path, tmp)
    _wait_for(lambda: out.is_dir() and any(p.name.startswith(".nbparity-matrix-") for p in out.iterdir()),
              "the matrix work folder", proc)
    _kill9(proc)
    killed = [p for p in out.iterdir() if p.name.startswith(".nbparity-matrix-")]
    assert len(killed) == 1
    live, kept = _live_owner("matrix", tmp, out)
    try:
        r = subprocess.run([sys.executable, "-m", "nbparity", "image", "--args", TINY, "--c-bin", str(c_binary()),
                            "--out", str(out), "--no-bundle"], cwd=tmp_path, env=nbparity_env(TMPDIR=str(tmp)),
                           capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stderr[-2000:]
        assert not killed[0].exists(), "the killed matrix's work folder is still there"
        assert kept.is_dir(), "a live matrix's work folder was removed"
        assert list(tmp.iterdir()) == []
    finally:
        live.kill()
        live.wait()


def test_atomic_file_writers_remove_a_killed_writers_temporary_file(tmp_path):
    """A writer killed between writing its temporary sibling and the rename leaves a file nothing else
    removes: the next write of the same target does, and keeps a live writer's."""
    from nbparity import cbuild, synthetic
    from nbparity.write.junit import write_junit

    ns = os.stat("/proc/self/ns/pid").st_ino
    dead = f"{2 ** 22 + 12345}.1.{ns}"                          # above any pid_max: never alive
    parent = os.getppid()
    live = f"{parent}.{Path(f'/proc/{parent}/stat').read_text().rsplit(')', 1)[1].split()[19]}.{ns}"

    def leftovers(target: Path) -> tuple[Path, Path]:
        target.parent.mkdir(parents=True, exist_ok=True)
        stale, kept = (target.with_name(f".{target.name}.tmp-{tag}") for tag in (dead, live))
        stale.write_text("half written")
        kept.write_text("being written")
        return stale, kept

    junit = tmp_path / "reports" / "junit.xml"
    stale_j, kept_j = leftovers(junit)
    write_junit(junit, "suite", [])
    cache = tmp_path / "synthetic"
    stale_s, kept_s = leftovers(cache / "A.mat")
    synthetic.ensure_inputs(cache)
    src = tmp_path / "hello.c"
    src.write_text('int main(void){ return 0; }\n')
    first = cbuild.build(src, cache=tmp_path / "cache")
    first.binary.unlink()                                        # the next build writes it again
    stale_b, kept_b = leftovers(first.binary)
    assert not cbuild.build(src, cache=tmp_path / "cache").cached
    for stale, kept in ((stale_j, kept_j), (stale_s, kept_s), (stale_b, kept_b)):
        assert not stale.exists(), f"{stale.name} of a dead writer is still there"
        assert kept.read_text() == "being written", f"{kept.name} of a live writer was touched"
    assert sorted(p.name for p in junit.parent.iterdir()) == sorted(["junit.xml", kept_j.name])
