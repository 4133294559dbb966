"""Item 2: bundles are written atomically, never overwritten, and `bundle verify` catches tampering.

The end-to-end variants (a real `nbparity compare` killed with SIGKILL part-way, two runs started in the
same second) are in test_compare_run_faults.py next to the other compare runs; here the bundle writer and
the verifier are exercised directly and through the CLI.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from . import PY, REPO, assert_one_line_error, bundles_in, nbparity_env, run_nbparity

FINAL_NAME = re.compile(r"^\d{8}T\d{6}Z_[A-Za-z0-9._-]+_\d+-\d+(-\d+)?$")

FILES = {"metrics.json": json.dumps({"verdict": "pass", "exit_code": 0}), "summary.md": "# ok\n",
         "commands.txt": "#!/usr/bin/env bash\ntrue\n", "env.json": "{}", "c_trace.log": "TRACE_C: steps 1\n",
         "py_trace.log": "TRACE_PY: steps 1\n", "factors.csv": "key,c,py\n", "per_phi.csv": "phi_tic\n"}


def _write(args):
    root, name = args
    from nbparity.bundle import write_bundle

    return str(write_bundle(root, name, FILES))


def test_concurrent_writers_same_name_never_overwrite(tmp_path):
    from nbparity.bundle import bundle_name, verify_bundle

    name = bundle_name("case", 1, 2, when=0)
    ctx = mp.get_context("fork")
    with ctx.Pool(4) as pool:
        paths = pool.map(_write, [(str(tmp_path), name)] * 8)
    assert len(set(paths)) == 8, paths
    for p in paths:
        assert FINAL_NAME.match(Path(p).name), p
        assert verify_bundle(p).ok
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary directories left behind"


def test_writer_failure_leaves_nothing(tmp_path, monkeypatch):
    from nbparity import bundle as B

    real = B._sha256
    calls = {"n": 0}

    def boom(path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(path)

    monkeypatch.setattr(B, "_sha256", boom)
    from nbparity.errors import UsageError

    with pytest.raises(UsageError, match="cannot write the bundle in .*: No space left on device"):   # exit 2
        B.write_bundle(tmp_path, B.bundle_name("x", 0, 0), FILES)
    assert list(tmp_path.iterdir()) == []


_KILL_CHILD = r"""
import sys, time
from nbparity import bundle as B
real = B._sha256
def slow(path):
    print("hashing", flush=True)
    time.sleep(30)
    return real(path)
B._sha256 = slow
B.write_bundle(sys.argv[1], B.bundle_name("killed", 3, 4), {n: "x" * 100000 for n in B.REQUIRED})
"""


def test_sigkill_mid_write_leaves_no_complete_looking_bundle(tmp_path):
    proc = subprocess.Popen([PY, "-c", _KILL_CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env=nbparity_env())
    try:
        assert proc.stdout.readline().strip() == "hashing"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert not [p for p in tmp_path.iterdir() if FINAL_NAME.match(p.name)]
    assert bundles_in(tmp_path) == []


@pytest.fixture()
def bundle(tmp_path):
    from nbparity.bundle import bundle_name, write_bundle

    return write_bundle(tmp_path / "reports", bundle_name("verify", 5, 6), FILES)


def _verify(path):
    return run_nbparity(["bundle", "verify", str(path)], timeout=60)


def test_verify_intact(bundle):
    proc = _verify(bundle)
    assert proc.returncode == 0, proc.stderr
    assert not proc.stderr.strip() or "Traceback" not in proc.stderr


def test_verify_detects_changed_file(bundle):
    (bundle / "metrics.json").write_text(json.dumps({"verdict": "pass", "exit_code": 0}) + " ")
    proc = _verify(bundle)
    assert proc.returncode == 1
    assert "changed: metrics.json" in proc.stdout + proc.stderr


def test_verify_detects_same_size_change(bundle):
    data = bytearray((bundle / "c_trace.log").read_bytes())
    data[-2] ^= 1
    (bundle / "c_trace.log").write_bytes(bytes(data))
    proc = _verify(bundle)
    assert proc.returncode == 1
    assert "changed: c_trace.log" in proc.stdout + proc.stderr


def test_verify_detects_missing_file(bundle):
    (bundle / "py_trace.log").unlink()
    proc = _verify(bundle)
    assert proc.returncode == 1
    assert "missing: py_trace.log" in proc.stdout + proc.stderr


def test_verify_detects_extra_file(bundle):
    (bundle / "notes.txt").write_text("added later\n")
    (bundle / "sub").mkdir()
    (bundle / "sub" / "deep.bin").write_bytes(b"\0")
    proc = _verify(bundle)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "extra: notes.txt" in out and "extra: sub/deep.bin" in out


def test_verify_detects_all_three_at_once_json(bundle):
    (bundle / "summary.md").write_text("# doctored\n")
    (bundle / "env.json").unlink()
    (bundle / "extra.csv").write_text("a\n")
    proc = run_nbparity(["bundle", "verify", "--json", str(bundle)], timeout=60)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False
    assert doc["changed"] == ["summary.md"] and doc["missing"] == ["env.json"] and doc["extra"] == ["extra.csv"]


def test_verify_manifest_entry_outside_bundle_is_not_trusted(bundle, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    import hashlib

    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    with open(bundle / "sha256.txt", "a") as fh:
        fh.write(f"{digest}  ../../outside.txt\n")
    proc = _verify(bundle)
    assert proc.returncode != 0, "a manifest naming a file outside the bundle must not verify as intact"


@pytest.mark.parametrize("what", ["missing_dir", "no_manifest", "garbage_manifest", "a_file"])
def test_verify_not_a_bundle_is_usage_error(what, tmp_path, bundle):
    if what == "missing_dir":
        target = tmp_path / "nope"
    elif what == "no_manifest":
        (bundle / "sha256.txt").unlink()
        target = bundle
    elif what == "garbage_manifest":
        (bundle / "sha256.txt").write_bytes(b"\xff\xfe garbage\nnot a manifest\n")
        target = bundle
    else:
        target = bundle / "metrics.json"
    proc = _verify(target)
    assert_one_line_error(proc, 2)


def test_verify_removed_file_after_write_and_sha256sum_agree(bundle):
    """The manifest is real `sha256sum -c` format."""
    ok = subprocess.run(["sha256sum", "-c", "--quiet", "sha256.txt"], cwd=bundle, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr


# ----------------------------------------------------------------------------- fails closed (issue: verify)
# Each hostile bundle below was reported "bundle intact" (exit 0) by the verifier before it failed closed.

TINY = "-default_F 100 -cell 30 30 30 90 90 90 -detpixels 8 -N 1 -oversample 1 -nonoise -nopgm -noprogress"


@pytest.fixture(scope="module")
def real_compare(tmp_path_factory):
    """One bundle of a real `nbparity compare` (C reference vs the simulator), copied per test."""
    from . import c_binary, cli

    out = tmp_path_factory.mktemp("real") / "reports"
    r = cli(["compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", str(c_binary()), "--out", str(out),
             "--no-attribution", "--json"])
    assert r.returncode == 0, r.stderr[-2000:]
    return Path(json.loads(r.stdout)["bundle"])


@pytest.fixture()
def compare_bundle(real_compare, tmp_path):
    import shutil

    return Path(shutil.copytree(real_compare, tmp_path / "reports" / real_compare.name))


def _rehash(bundle: Path, drop=(), add=()) -> None:
    """Rewrite sha256.txt as a careful forger would: correct digests, `drop` names left out."""
    import hashlib

    lines = []
    for ln in (bundle / "sha256.txt").read_text().splitlines():
        name = ln.split("  ", 1)[1]
        if name not in drop:
            lines.append(f"{hashlib.sha256((bundle / name).read_bytes()).hexdigest()}  {name}")
    lines += [f"{hashlib.sha256((bundle / name).read_bytes()).hexdigest()}  {name}" for name in add]
    (bundle / "sha256.txt").write_text("\n".join(lines) + "\n")


def _fails(bundle: Path, needle: str) -> str:
    proc = _verify(bundle)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "bundle intact" not in out and needle in out, out
    assert "Traceback" not in out
    return out


def test_real_compare_bundle_verifies_intact(compare_bundle):
    from nbparity.bundle import verify_bundle

    v = verify_bundle(compare_bundle)
    assert (v.ok, v.kind, v.problems) == (True, "compare", [])
    proc = _verify(compare_bundle)
    assert proc.returncode == 0 and proc.stdout.strip() == f"bundle intact: {compare_bundle}"


def test_empty_folder_with_empty_manifest_is_not_intact(tmp_path):
    d = tmp_path / "20250101T000000Z_empty_1-2"
    d.mkdir()
    (d / "sha256.txt").write_text("")
    _fails(d, "sha256.txt lists no files")


def test_required_file_deleted_with_its_manifest_line(compare_bundle):
    (compare_bundle / "py_trace.log").unlink()
    _rehash(compare_bundle, drop={"py_trace.log"})
    out = _fails(compare_bundle, "required file not in sha256.txt (compare bundle): py_trace.log")
    assert out.count("\n") == 1   # one reason, one line


def test_entry_through_symlinked_folder_pointing_outside(compare_bundle, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "notes.txt").write_text("not part of the evidence\n")
    (compare_bundle / "extra").symlink_to(outside, target_is_directory=True)
    _rehash(compare_bundle, add=["extra/notes.txt"])
    _fails(compare_bundle, "extra/notes.txt: reached through a symlink (extra -> ")


def test_symlinked_file_replacing_a_listed_file(compare_bundle, tmp_path):
    copy = tmp_path / "c_trace.log"
    copy.write_bytes((compare_bundle / "c_trace.log").read_bytes())   # same bytes, same digest
    (compare_bundle / "c_trace.log").unlink()
    (compare_bundle / "c_trace.log").symlink_to(copy)
    _fails(compare_bundle, "c_trace.log: reached through a symlink")


def test_listed_fifo_is_refused_without_blocking(compare_bundle):
    os.mkfifo(compare_bundle / "pipe")
    with open(compare_bundle / "sha256.txt", "a") as fh:
        fh.write("0" * 64 + "  pipe\n")
    _fails(compare_bundle, "pipe: not a regular file")


_DIE_BEFORE_RENAME = r"""
import os, signal, sys
from nbparity import bundle as B
def die(src, dst):
    print(src, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
B.os.rename = die
B.write_bundle(sys.argv[1], B.bundle_name("killed", 3, 4), dict(__import__("json").loads(sys.argv[2])))
"""


def test_temporary_folder_of_a_killed_writer(tmp_path):
    files = dict(FILES, **{"report.html": "<html></html>"})
    proc = subprocess.run([PY, "-c", _DIE_BEFORE_RENAME, str(tmp_path), json.dumps(files)], capture_output=True,
                          text=True, cwd=REPO, env=nbparity_env(), timeout=60)
    assert proc.returncode == -signal.SIGKILL
    tmp = Path(proc.stdout.strip())
    assert tmp.parent == tmp_path and tmp.name.startswith(".") and (tmp / "sha256.txt").is_file()
    _fails(tmp, "temporary folder of an unfinished bundle write")


@pytest.mark.parametrize("content, needle", [
    ("[" * 100000 + "]" * 100000, "metrics.json unreadable: nested 100000 deep (limit 100)"),
    ('{"verdict": "pass", "exit_code": ' + "9" * 200000 + "}", "metrics.json unreadable: a number literal of 200000"),
    ('{"verdict": "pass", "tolerance": 1e99999}', "metrics.json unreadable: number out of range: 1e99999"),
    ("\x00\x01garbage{", "metrics.json unreadable: not JSON"),
    ('["pass"]', "metrics.json unreadable: top level is a JSON array"),
])
def test_hostile_metrics_json_is_a_reason_not_a_crash(compare_bundle, content, needle):
    (compare_bundle / "metrics.json").write_text(content)
    _rehash(compare_bundle)
    _fails(compare_bundle, needle)


def _as_v2(bundle: Path, drop=(), **fields) -> None:
    m = json.loads((bundle / "metrics.json").read_text())
    m.update(schema="nbparity.metrics/2", **fields)
    for name in drop:
        m.pop(name, None)
    (bundle / "metrics.json").write_text(json.dumps(m))
    _rehash(bundle)


def test_schema2_bundle_requires_request_json(compare_bundle):
    """A compare bundle is of schema 2 and holds request.json: without it (file and manifest line gone,
    as a careful forger would leave it) it is not intact."""
    m = json.loads((compare_bundle / "metrics.json").read_text())
    assert (m["schema"], m["kind"]) == ("nbparity.metrics/2", "compare")
    kept = (compare_bundle / "request.json").read_text()
    (compare_bundle / "request.json").unlink()
    _rehash(compare_bundle, drop=["request.json"])
    _fails(compare_bundle, "required file not in sha256.txt (compare bundle): request.json")
    (compare_bundle / "request.json").write_text(kept)
    _rehash(compare_bundle, add=["request.json"])
    assert _verify(compare_bundle).returncode == 0


def test_schema2_bundle_without_kind_or_with_unknown_kind(compare_bundle):
    _as_v2(compare_bundle, drop=["kind"])
    _fails(compare_bundle, "kind unknown: metrics.json of schema nbparity.metrics/2 names no kind")
    _as_v2(compare_bundle, kind="comparison")
    _fails(compare_bundle, "kind unknown: unknown kind 'comparison' in metrics.json")


def test_file_name_with_a_line_break_stays_one_reason_line(compare_bundle):
    (compare_bundle / "evil\nchanged: nothing").write_text("x")
    out = _fails(compare_bundle, "extra: evil\\nchanged: nothing")
    assert out.count("\n") == 1


def test_symlinked_manifest(compare_bundle, tmp_path):
    real = tmp_path / "sha256.txt"
    real.write_bytes((compare_bundle / "sha256.txt").read_bytes())
    (compare_bundle / "sha256.txt").unlink()
    (compare_bundle / "sha256.txt").symlink_to(real)
    _fails(compare_bundle, "sha256.txt is a symlink")
