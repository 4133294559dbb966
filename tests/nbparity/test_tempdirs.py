"""nbparity/tempdirs.py: folders named after their owner; a sweep removes dead owners' folders only."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from nbparity import tempdirs


def _tag_of(path) -> tuple[int, int, int]:
    pid, start, ns = re.search(r"-(\d+)\.(\d+)\.(\d+)\.[a-z0-9_]+$", path.name).groups()
    return int(pid), int(start), int(ns)


def test_a_folder_names_its_owner(tmp_path):
    path = tempdirs.make("image", dir=tmp_path)
    assert path.name.startswith(f"nbparity-image-{os.getpid()}.")
    pid, start, ns = _tag_of(path)
    assert pid == os.getpid() and start > 0 and ns > 0
    assert tempdirs.owner_alive(pid, start, ns)
    assert not tempdirs.owner_alive(pid, start + 1, ns), "a reused pid (another start time) is not the owner"


def test_a_killed_unreaped_owner_is_dead():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = int(open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[19])
        ns = os.stat("/proc/self/ns/pid").st_ino
        assert tempdirs.owner_alive(child.pid, start, ns)
        os.kill(child.pid, signal.SIGKILL)
        import time

        time.sleep(0.2)   # a zombie now: /proc still lists it
        assert not tempdirs.owner_alive(child.pid, start, ns)
    finally:
        child.kill()
        child.wait()


def test_sweep_removes_dead_owners_only(tmp_path):
    mine = tempdirs.make("png", dir=tmp_path)
    ns = os.stat("/proc/self/ns/pid").st_ino
    dead = 2 ** 22 + 12345                                     # above any pid_max: never alive
    names = {
        "dead": f"nbparity-image-{dead}.1.{ns}.abcd1234",
        "dead_matrix": f".nbparity-matrix-{dead}.1.{ns}.abcd1234",
        "dead_staging": f".case_1-2.tmp-{dead}.1.{ns}-99",
        "reused_pid": f"nbparity-{os.getpid()}.1.{ns}.abcd1234",   # our pid, another start time
        "other_namespace": f"nbparity-image-{dead}.1.{ns + 1}.abcd1234",
        "unknown_prefix": f"nbparity-thing-{dead}.1.{ns}.abcd1234",
        "not_ours": "nbparity-image-x1y2z3",
        "old_staging": f".case_1-2.tmp-{dead}-99",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
    as_file = tmp_path / f"nbparity-png-{dead}.1.{ns}.abcd1234"
    as_file.write_text("a file, not a folder")
    removed = {p.name for p in tempdirs.sweep(tmp_path)}
    assert removed == {names[k] for k in ("dead", "dead_matrix", "dead_staging", "reused_pid")}
    left = {p.name for p in tmp_path.iterdir()}
    assert mine.name in left and as_file.name in left
    assert {names[k] for k in ("other_namespace", "unknown_prefix", "not_ours", "old_staging")} <= left


def test_folder_context_removes_its_folder(tmp_path):
    with tempdirs.folder("version", dir=tmp_path) as wd:
        assert os.path.isdir(wd)
    assert list(tmp_path.iterdir()) == []


def test_a_staging_folder_never_verifies(tmp_path):
    """A bundle's staging folder, named after its writer, is reported as an unfinished write."""
    from nbparity.bundle import verify_bundle

    staging = tmp_path / f".case_1-2.tmp-{tempdirs.owner_tag()}-7"
    staging.mkdir()
    (staging / "sha256.txt").write_text("")
    v = verify_bundle(staging)
    assert not v.ok and "unfinished bundle write" in v.reason()
    assert tempdirs.sweep(tmp_path) == [] and staging.is_dir(), "a live writer's staging folder is kept"


def _tag_of_pid(pid: int) -> str:
    """The owner tag a live process `pid` would write."""
    start = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19])
    return f"{pid}.{start}.{os.stat('/proc/self/ns/pid').st_ino}"


def test_temp_file_sweeps_dead_owners_files_of_its_target_only(tmp_path):
    target = tmp_path / "junit.xml"
    ns = os.stat("/proc/self/ns/pid").st_ino
    dead = 2 ** 22 + 12345                                     # above any pid_max: never alive
    names = {
        "dead": f".junit.xml.tmp-{dead}.1.{ns}",
        "reused_pid": f".junit.xml.tmp-{os.getpid()}.1.{ns}",      # our pid, another start time
        "live": f".junit.xml.tmp-{_tag_of_pid(os.getppid())}",
        "other_namespace": f".junit.xml.tmp-{dead}.1.{ns + 1}",
        "untagged": f".junit.xml.tmp-{dead}",                       # older writers: unsure, kept
        "other_target": f".other.xml.tmp-{dead}.1.{ns}",
        "longer_name": f".junit.xml.tmp-{dead}.1.{ns}.bak",
        "regex_lookalike": f".junitXxml.tmp-{dead}.1.{ns}",
    }
    for name in names.values():
        (tmp_path / name).write_text("partial")
    as_folder = tmp_path / f".junit.xml.tmp-{dead + 1}.1.{ns}"
    as_folder.mkdir()
    as_link = tmp_path / f".junit.xml.tmp-{dead + 2}.1.{ns}"
    as_link.symlink_to(tmp_path / names["other_target"])
    tmp = tempdirs.temp_file(target)
    assert tmp == tmp_path / f".junit.xml.tmp-{tempdirs.owner_tag()}"
    left = {p.name for p in tmp_path.iterdir()}
    assert not {names["dead"], names["reused_pid"]} & left
    assert {n for k, n in names.items() if k not in ("dead", "reused_pid")} | {as_folder.name, as_link.name} == left
    tmp.write_text("mine")
    assert tempdirs.sweep_temp_files(target) == [] and tmp.read_text() == "mine", "a live writer's file is kept"
    assert tempdirs.sweep_temp_files(tmp_path / "missing" / "junit.xml") == []   # never fails
