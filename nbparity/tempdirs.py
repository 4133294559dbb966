"""Every temporary folder the harness makes, named after its owner: the pid, the process's start time and
its pid namespace. A command killed with SIGKILL runs no handler and leaves its folders behind; the next
command removes those of dead owners (`sweep`) and never a live process's folder, nor anything not ours.

    work = tempdirs.make("image")                       # $TMPDIR/nbparity-image-<pid>.<start>.<ns>.<random>
    with tempdirs.folder("png") as tmp: ...             # removed on exit, like TemporaryDirectory
    staging = root / f".{name}.tmp-{tempdirs.owner_tag()}-{n}"   # a bundle's staging folder
    tmp = tempdirs.temp_file(target)                    # .<name>.tmp-<pid>.<start>.<ns>, then os.replace

Atomic writes of single files (JUnit, the C build, the synthetic inputs) go through a sibling named the
same way; `temp_file` removes the ones dead owners left next to the same target first.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

# kind -> folder name prefix; only names with these prefixes (and an owner tag) are ever swept
PREFIXES = {
    "compare": "nbparity-",
    "image": "nbparity-image-",
    "probe": "nbparity-probe-",
    "png": "nbparity-png-",
    "version": "nbparity-version-",
    "matrix": ".nbparity-matrix-",
}
_TAG = r"(?P<pid>\d+)\.(?P<start>\d+)\.(?P<ns>\d+)"
_OWNED = re.compile(r"^(?P<prefix>\.?nbparity-(?:[a-z]+-)?)" + _TAG + r"\.[a-z0-9_]+$")
# bundle staging folders (nbparity/bundle.py): .<bundle name>.tmp-<owner tag>-<counter>
_STAGING = re.compile(r"^\..+\.tmp-" + _TAG + r"-\d+$")


def _stat_fields(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat from the state on (the command name may hold spaces), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _pid_namespace(pid: int | str = "self") -> int:
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino
    except OSError:
        return 0


def _start_time(pid: int | str = "self") -> int:
    """Clock ticks after boot at which the process started (0 where /proc does not say)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else 0


_own: list = []


def owner_tag() -> str:
    """'<pid>.<start>.<pid namespace>' of this process (a fork gets its own)."""
    if not _own or _own[0][0] != os.getpid():
        _own[:] = [(os.getpid(), f"{os.getpid()}.{_start_time()}.{_pid_namespace()}")]
    return _own[0][1]


def make(kind: str, dir: str | os.PathLike | None = None) -> Path:
    """A fresh folder of `kind` in `dir` ($TMPDIR by default), named after this process."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIXES[kind]}{owner_tag()}.", dir=dir))


@contextlib.contextmanager
def folder(kind: str, dir: str | os.PathLike | None = None):
    path = make(kind, dir)
    try:
        yield str(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def owner_alive(pid: int, start: int, ns: int) -> bool:
    """Whether the process that made a folder still runs. Unsure is alive: another pid namespace's pids
    mean nothing here, and without /proc a pid that exists is taken as the owner."""
    if ns != _pid_namespace():
        return True
    fields = _stat_fields(pid)
    if fields is None:
        if os.path.isdir("/proc/self"):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    if fields[0] in ("Z", "X"):   # killed, not yet reaped by its parent
        return False
    return start == 0 or int(fields[19]) == start


def _stale(entry: os.DirEntry) -> bool:
    m = _OWNED.match(entry.name)
    if m is not None and m["prefix"] not in PREFIXES.values():
        m = None
    return _left_by_dead_owner(entry, m or _STAGING.match(entry.name), stat.S_ISDIR)


def _left_by_dead_owner(entry: os.DirEntry, m: re.Match | None, kind_ok) -> bool:
    """The entry's name matched (m, with the owner tag): it is of the kind (kind_ok(st_mode)), ours, and
    its owner is gone."""
    if m is None:
        return False
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    if not kind_ok(st.st_mode) or st.st_uid != os.getuid():
        return False
    return not owner_alive(int(m["pid"]), int(m["start"]), int(m["ns"]))


def sweep(dir: str | os.PathLike | None = None) -> list[Path]:
    """Remove the folders of dead owners directly inside `dir` ($TMPDIR by default); returns them.
    Never fails: a folder that cannot be listed or removed is left as it is."""
    where = Path(dir) if dir is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        with os.scandir(where) as entries:
            stale = [Path(e.path) for e in entries if _stale(e)]
    except OSError:
        return removed
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            removed.append(path)
    return removed


def _stale_temp_file(entry: os.DirEntry, pattern: re.Pattern) -> bool:
    return _left_by_dead_owner(entry, pattern.match(entry.name), stat.S_ISREG)   # plain files we could write


def sweep_temp_files(target: str | os.PathLike) -> list[Path]:
    """Remove the `.<name>.tmp-<owner tag>` files of dead owners next to `target` (a writer killed with
    SIGKILL between writing and renaming); returns them. Never fails, never touches another target's
    files, a live owner's, an untagged name, or anything that is not a plain file of ours."""
    target = Path(target)
    pattern = re.compile(r"^\." + re.escape(target.name) + r"\.tmp-" + _TAG + "$")
    removed = []
    try:
        with os.scandir(target.parent) as entries:
            stale = [Path(e.path) for e in entries if _stale_temp_file(e, pattern)]
    except OSError:
        return removed
    for path in stale:
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def temp_file(target: str | os.PathLike) -> Path:
    """The temporary sibling an atomic write of `target` goes through (write it, then os.replace), named
    after this process; stale ones of dead owners are swept first, as nothing else ever removes them."""
    target = Path(target)
    sweep_temp_files(target)
    return target.with_name(f".{target.name}.tmp-{owner_tag()}")
