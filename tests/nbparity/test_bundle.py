"""Bundles: atomic write, never overwritten, sha256sum -c compatible, verify detects tampering, load."""

import json
import shutil
import subprocess
import threading

import pytest

from nbparity import load_bundle
from nbparity.bundle import REQUIRED, bundle_name, verify_bundle, write_bundle
from nbparity.cli import main
from nbparity.errors import UsageError

FILES = {name: f"content of {name}\n" for name in REQUIRED}
FILES["metrics.json"] = '{"verdict": "fail", "exit_code": 1}\n'
FILES["env.json"] = "{}\n"
FILES["factors.csv"] = "section,key,c,py\npixel,omega_pixel_sr,1.2345678901234567e-07,1.2345678901234569e-07\n"
FILES["per_phi.csv"] = "occurrence,phi_tic,status\n\"0,0,0\",0,fail\n"


def test_write_verify_load(tmp_path):
    d = write_bundle(tmp_path / "rep orts", "20250101T000000Z_my-case_1-2", FILES)
    assert d.name == "20250101T000000Z_my-case_1-2"
    assert sorted(p.name for p in d.iterdir()) == sorted([*FILES, "sha256.txt"])
    if shutil.which("sha256sum"):
        r = subprocess.run(["sha256sum", "-c", "sha256.txt"], cwd=d, capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.count(": OK") == len(FILES)
    assert verify_bundle(d).ok and main(["bundle", "verify", str(d)]) == 0
    b = load_bundle(d)
    assert b.metrics["verdict"] == "fail"
    assert b.factors["c"].iloc[0] == 1.2345678901234567e-07  # full precision survives
    assert b.per_phi["status"].tolist() == ["fail"] and b["c_trace"] == FILES["c_trace.log"]
    assert not [p for p in (tmp_path / "rep orts").iterdir() if p.name.startswith(".")]  # no temp left


def test_tampering_detected(tmp_path):
    d = write_bundle(tmp_path, "b", FILES)
    raw = bytearray((d / "summary.md").read_bytes())
    raw[0] ^= 1
    (d / "summary.md").write_bytes(bytes(raw))
    (d / "env.json").unlink()
    (d / "extra.txt").write_text("x")
    v = verify_bundle(d)
    assert (v.changed, v.missing, v.extra, v.exit_code) == (["summary.md"], ["env.json"], ["extra.txt"], 1)
    assert main(["bundle", "verify", str(d)]) == 1


def test_not_a_bundle(tmp_path):
    with pytest.raises(UsageError):
        verify_bundle(tmp_path)
    assert main(["bundle", "verify", str(tmp_path / "missing")]) == 2


def test_never_overwritten_even_concurrently(tmp_path):
    name = bundle_name("supervisor-synthetic", 685, 1039, when=0)
    assert name == "19700101T000000Z_supervisor-synthetic_685-1039"
    out = []
    threads = [threading.Thread(target=lambda: out.append(write_bundle(tmp_path, name, FILES))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in out) == [name, f"{name}-2", f"{name}-3", f"{name}-4"]
    assert all(verify_bundle(p).ok for p in out)


# ----------------------------------------------------------------------------- kinds: required files


def _kind_bundle(tmp_path, metrics: dict, names, name="b"):
    files = {n: f"{n}\n" for n in names}
    files["metrics.json"] = json.dumps(metrics)
    return write_bundle(tmp_path, name, files)


IMAGE_OLD = ["summary.md", "env.json", "commands.txt", "c_stdout.log", "py_stdout.log", "comparison.png"]


def test_image_bundles_old_names_new_names(tmp_path):
    old = _kind_bundle(tmp_path, {"kind": "image", "verdict": "PASS"}, IMAGE_OLD, "old")
    assert (verify_bundle(old).ok, verify_bundle(old).kind) == (True, "image")
    v2 = {"kind": "image", "verdict": "identical", "schema": "nbparity.metrics/2"}
    new = _kind_bundle(tmp_path, v2, [*IMAGE_OLD, "request.json", "report.html"], "new")
    assert verify_bundle(new).problems == ["required file not in sha256.txt (image bundle): c_trace.log"]
    renamed = [n.replace("c_stdout", "c_trace") for n in IMAGE_OLD] + ["request.json", "report.html"]
    assert verify_bundle(_kind_bundle(tmp_path, v2, renamed, "renamed")).ok
    floats = _kind_bundle(tmp_path, {"kind": "image", "verdict": "PASS", "images_in_bundle": True}, IMAGE_OLD, "f")
    assert verify_bundle(floats).problems == [
        "required file not in sha256.txt (image bundle): c_float.bin",
        "required file not in sha256.txt (image bundle): torch_float.bin"]
    err = _kind_bundle(tmp_path, {"kind": "image", "verdict": "error"}, ["summary.md", "env.json"], "err")
    assert verify_bundle(err).ok


def test_probe_and_matrix_requirements(tmp_path):
    base = ["summary.md", "env.json", "commands.txt"]
    sp = _kind_bundle(tmp_path, {"kind": "probe-single-phi", "verdict": "pass"}, [*base, "single_phi.csv",
                                                                                  "c_phi0.log"], "sp")
    assert verify_bundle(sp).problems == ["required file not in sha256.txt (probe-single-phi bundle): py_phi*.log"]
    m = _kind_bundle(tmp_path, {"kind": "matrix", "verdict": "PASS"}, ["summary.md", "env.json"], "m")
    assert verify_bundle(m).problems == ["required file not in sha256.txt (matrix bundle): commands.txt"]
    unknown = _kind_bundle(tmp_path, {"verdict": "pass"}, ["summary.md"], "u")
    assert verify_bundle(unknown).problems == [
        "kind unknown: metrics.json names no kind and its files match no writer"]
    assert main(["bundle", "verify", str(unknown)]) == 1


def test_load_bundle_refuses_hostile_metrics_with_one_line(tmp_path):
    d = write_bundle(tmp_path, "b", {**FILES, "metrics.json": "[" * 50000 + "]" * 50000})
    with pytest.raises(ValueError, match=r"^nested 50000 deep \(limit 100\)$"):
        load_bundle(d)
    assert verify_bundle(d).problems == ["metrics.json unreadable: nested 50000 deep (limit 100)"]
