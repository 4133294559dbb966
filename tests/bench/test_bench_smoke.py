"""Smoke test of bench/: every benchmark script runs in its tiniest mode (--quick) and prints well-formed
JSON with finite, positive numbers where numbers are due; run_all renders the table from those files.
No timing thresholds: benchmarks report, they never pass or fail on speed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
SCRIPTS = ["startup", "compare_latency", "scaling", "full_frame", "gpu", "trace_reading"]


def _pos(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _run(name: str, out_dir: Path) -> dict:
    out = out_dir / f"{name}.json"
    p = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), "--quick", "--json", "--out", str(out)],
                       capture_output=True, text=True, timeout=600, cwd=REPO)
    assert p.returncode == 0, f"{name} exited {p.returncode}: {p.stderr[-2000:]}"
    doc = json.loads(p.stdout)  # stdout is exactly one JSON document
    assert json.loads(out.read_text()) == doc
    assert doc["benchmark"] == name
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["cpu_model"]
    return doc


def _check(name: str, doc: dict) -> None:
    errors = doc.get("errors") or []
    if name == "startup":
        assert set(doc["commands"]) >= {"python -m simulator --help", "nbparity --help"}
        for e in doc["commands"].values():
            assert _pos(e["median"]) and _pos(e["min"]) and e["min"] <= e["median"]
        for it in doc["importtime"].values():
            assert _pos(it["total_us"]) and isinstance(it["heavy_imported"], list)
    elif name == "compare_latency":
        assert not errors, errors
        assert _pos(doc["wall"]["median"]) and doc["wall"]["n"] == 1
        assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in (doc.get("breakdown") or {}).values())
    elif name == "scaling":
        assert not errors, errors
        pts = doc["points"]
        assert pts and all(_pos(p["torch_s"]) and _pos(p["work"]) for p in pts)
        assert any(_pos(p.get("c_s")) for p in pts)
        for key in ("detector/torch", "phi_mosaic/torch"):
            assert isinstance(doc["fits"][key]["exponent"], float) and math.isfinite(doc["fits"][key]["exponent"])
    elif name == "full_frame":
        assert not errors, errors
        assert _pos(doc["c"]["wall"]["median"]) and _pos(doc["c"]["peak_rss_bytes"])
        for dt in ("float64", "float32"):
            t = doc["torch"][dt]
            assert _pos(t["wall"]["median"]) and _pos(t["run_s"]) and _pos(t["peak_rss_bytes"])
            assert t["threads"] >= 1
            assert _pos(doc["ratios"][dt]["wall_torch_over_c"])
            a = t["agreement_with_c"]
            assert a is not None and math.isfinite(a["max_abs_diff"])
    elif name == "gpu":
        if not doc["available"]:
            assert doc["reason"] == "CUDA not available"
        else:
            assert doc["device_name"] and all(_pos(j["median_s"]) for j in doc["jobs"])
    elif name == "trace_reading":
        assert not errors, errors
        for p in doc["points"]:
            assert _pos(p["mb_per_s"]) and _pos(p["added_rss_bytes"]) and p["values"] > 1000


def test_bench_scripts_quick(tmp_path):
    docs = {name: _run(name, tmp_path) for name in SCRIPTS}
    for name, doc in docs.items():
        _check(name, doc)
    p = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--reuse", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert "**Machine:**" in p.stdout and "| benchmark | measurement | value | target | meets target |" in p.stdout
    for label in ("startup", "compare", "full frame", "scaling", "gpu", "trace reading"):
        assert f"| {label} |" in p.stdout, label
