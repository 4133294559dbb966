"""Item 2: bundles are written atomically, never overwritten, and `bundle verify` catches tampering.

The end-to-end variants (a real `nbparity compare` killed with SIGKILL part-way, two runs started in the
same second) are in test_compare_faults.py next to the other compare runs; here the bundle writer and
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
    with pytest.raises(OSError):
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
