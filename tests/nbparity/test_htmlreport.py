"""report.html: self-contained, and it renders in a real headless Chromium (skipped without one)."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from nbparity.cli import main
from nbparity.write.htmlreport import VERDICT_COLOURS, render_page

CHROMIUM = "/usr/bin/chromium"
PIXEL = ("685", "1039")


def _rgb(hexcolour):
    return tuple(int(hexcolour[i:i + 2], 16) for i in (1, 3, 5))


def _screenshot(page: Path, tmp_path: Path):
    """The page as Chromium draws it: an (H, W, 3) uint8 array."""
    import numpy as np
    from PIL import Image

    shot = tmp_path / f"{page.parent.name}.png"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                           "--window-size=1200,1000", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.is_file(), proc.stderr[-2000:]
    return np.asarray(Image.open(shot).convert("RGB"))


def _has_colour(img, rgb, tol=3, min_pixels=2000) -> bool:
    import numpy as np

    close = (np.abs(img.astype(int) - np.array(rgb)) <= tol).all(axis=2)
    return int(close.sum()) >= min_pixels


def test_page_is_self_contained():
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 50
    files = {"metrics.json": json.dumps({"verdict": "fail", "verdict_line": "FAIL — x < y & z",
                                         "case": {"name": "c<1>"}, "kind": "probe-sincg"}),
             "sincg.csv": "axis,x,status\nh,1.5,pass\nk,2.5,fail\n", "sincg.png": png}
    page = render_page(files)
    assert page.startswith("<!DOCTYPE html>") and "FAIL — x &lt; y &amp; z" in page and "c&lt;1&gt;" in page
    assert VERDICT_COLOURS["divergent"] in page and 'class="bad"' in page   # the failing row is highlighted
    assert 'src="data:image/png;base64,' in page
    # no external resource of any kind: no URL scheme, no link/script elements
    assert not re.search(r"(?i)(https?:|//[a-z]|<link|<script|@import|url\()", page)


@pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="no headless Chromium (Debian package chromium)")
def test_compare_and_image_reports_render_in_chromium(tmp_path, capsys, monkeypatch):
    import numpy as np

    monkeypatch.delenv("NBPARITY_DATA", raising=False)
    out = tmp_path / "reports"
    cmp = ["compare", "--pixel", *PIXEL, "--quirks", "c", "--no-attribution", "--json", "--out", str(out)]
    assert main(cmp) == 0
    passed = Path(json.loads(capsys.readouterr().out)["bundle"])
    monkeypatch.setenv("NBPARITY_TEST_PERTURB", "fluence:1.5")
    assert main(cmp) == 1
    failed = Path(json.loads(capsys.readouterr().out)["bundle"])
    monkeypatch.delenv("NBPARITY_TEST_PERTURB")
    assert main(["image", "--roi", "1020", "1060", "670", "700", "--json", "--out", str(out)]) == 0
    image = Path(json.loads(capsys.readouterr().out)["bundle"])

    img = _screenshot(passed / "report.html", tmp_path)
    assert img.std() > 10                                     # not a blank page
    assert _has_colour(img, _rgb(VERDICT_COLOURS["identical"]))    # the green verdict bar is drawn
    assert not _has_colour(img, _rgb(VERDICT_COLOURS["divergent"]), min_pixels=200)
    img = _screenshot(failed / "report.html", tmp_path)
    assert _has_colour(img, _rgb(VERDICT_COLOURS["divergent"]))    # red verdict bar
    assert "config.fluence" in (failed / "report.html").read_text()
    page = (image / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4      # comparison + C + torch + diff
    img = _screenshot(image / "report.html", tmp_path)
    # below the verdict the inline PNGs draw viridis images: many distinct colours, not just text
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500


def test_page_says_not_compared_where_nothing_was():
    """No configuration echo on both sides and no per-φ rows: the page says 'not compared', never 'none'."""
    from nbparity.write.htmlreport import render_page

    comp = {"config_diffs": [], "counts": {"config_compared": 0, "compared": 5}, "first_divergence": None,
            "root_causes": []}
    metrics = {"verdict": "incomplete", "verdict_line": "INCOMPLETE — x", "comparison": comp,
               "judgement": {"parts": {"trace": {"verdict": "incomplete", "reason": "I_pixel_final one-sided"}}}}
    page = render_page({"metrics.json": json.dumps(metrics), "per_phi.csv": ""})
    config = page.split("<h2>Configuration differences</h2>")[1].split("<h2>")[0]
    assert "not compared" in config and "none" not in config
    assert "<b>not compared</b>: no per-φ values on both sides" in page
    assert "I_pixel_final one-sided" in page and "#c62828" in page   # red bar for incomplete
