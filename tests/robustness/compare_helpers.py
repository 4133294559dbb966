"""What test_compare_input_faults.py and test_compare_run_faults.py share: the tiny case, `nbparity
compare` run in-process on it, and the checks on the evidence bundle a failed run leaves (an error
bundle, never one that looks like a pass). Their `cbin` fixture is in conftest.py."""

from __future__ import annotations

import json
from pathlib import Path

from . import bundles_in, cli

TINY = ("-default_F 100 -cell 30 30 30 90 90 90 -detpixels 16 -N 2 -oversample 1 "
        "-nonoise -nopgm -noprogress")


def compare(out: Path, *extra, pixel=(3, 4), args=TINY, c_bin=None, debug=False):
    argv = (["--debug"] if debug else []) + ["compare", "--pixel", *map(str, pixel), "--out", str(out),
                                             "--no-attribution"]
    if args is not None:
        argv += ["--args", args]
    if c_bin is not None:
        argv += ["--c-bin", str(c_bin)]
    return cli(argv + [str(e) for e in extra])


def only_bundle(out: Path) -> Path:
    found = bundles_in(out)
    assert len(found) == 1, f"expected exactly one bundle under {out}, found {found}"
    return found[0]


def assert_error_bundle(out: Path, code: int = 3) -> dict:
    b = only_bundle(out)
    m = json.loads((b / "metrics.json").read_text())
    assert m["verdict"] == "error", m.get("verdict")
    assert m["exit_code"] == code
    assert "pass" not in str(m.get("verdict_line", "")).lower()
    v = cli(["bundle", "verify", str(b)])
    assert v.returncode == 0, v.stdout + v.stderr
    return m


def assert_no_pass_bundle(out: Path) -> None:
    """No bundle in `out` carries a passing verdict (identical, within tolerance, explained)."""
    from nbparity.verdict import Verdict

    passing = {v.value for v in Verdict if v.passing}
    for b in bundles_in(out):
        m = json.loads((b / "metrics.json").read_text())
        assert str(m.get("verdict")).lower() not in passing, f"{b} looks like a pass"
