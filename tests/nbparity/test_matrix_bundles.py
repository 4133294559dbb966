"""Every bundle a matrix writes has request.json and a commands.txt that re-runs it to the same verdict:
the per-run image bundle too (its request is the run's image half, an ImageRequest)."""

from __future__ import annotations

import json
import subprocess
import sys

from nbparity.bundle import verify_bundle

MATRIX = """name: mx
cases:
  - id: tiny
    base_args: "-default_F 100 -cell 30 30 30 90 90 90 -detpixels 16 -N 2 -oversample 1 -nonoise -nopgm -lambda 1 -distance 50 -pixel 0.5"
    thresholds: {max_abs_max: 1.0e-3, pixel_ulps: 2}
    runs:
      - name: base
"""


def test_matrix_image_bundle_reruns_to_the_same_verdict(tmp_path, c_reference_binary):
    (tmp_path / "m.yaml").write_text(MATRIX)
    r = subprocess.run([sys.executable, "-m", "nbparity", "cases", "run", str(tmp_path / "m.yaml"), "--c-bin",
                        str(c_reference_binary), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (image,) = (tmp_path / "out").glob("*_image")
    req = json.loads((image / "request.json").read_text())
    assert req["kind"] == "image" and req["case"]["label"] == "tiny-base"
    assert ["max_abs_max", 0.001] in req["thresholds"] and ["pixel_ulps", 2] in req["thresholds"]
    assert verify_bundle(image).ok
    verdict = json.loads((image / "metrics.json").read_text())["verdict"]
    again = subprocess.run(["bash", str(image / "commands.txt"), str(tmp_path / "again")], capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    (rerun,) = (tmp_path / "again").iterdir()
    assert json.loads((rerun / "metrics.json").read_text())["verdict"] == verdict == "identical"
