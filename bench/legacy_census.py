"""Census of `nbparity diff` on the legacy-trace sample (issue 13): every file against itself, every pair
of pairs.txt, and the conformance recordings against themselves (issue 12 item 5).

    python bench/legacy_census.py [--verbose]

Runs the real CLI entry point in-process (same exit codes and stderr lines as the shell). A traceback is
an exit 3 "internal error" or an exception escaping the entry point.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LABELS = ("IDENTICAL", "WITHIN TOLERANCE", "EXPLAINED", "DIVERGENT", "INCOMPLETE")


def run_diff(a: Path, b: Path, *extra: str) -> tuple[int, str, bool]:
    from nbparity.cli import main

    out, err = io.StringIO(), io.StringIO()
    traceback = False
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(["diff", str(a), str(b), *extra])
        except BaseException as exc:  # noqa: BLE001 - this census counts them
            rc, traceback = 3, True
            err.write(f"{type(exc).__name__}: {exc}")
    text = err.getvalue().strip().splitlines()
    traceback = traceback or "internal error" in err.getvalue() or "Traceback" in err.getvalue()
    # the verdict's label: IDENTICAL / WITHIN TOLERANCE / DIVERGENT / INCOMPLETE
    if rc in (0, 1) and "--json" in extra:
        return rc, json.loads(out.getvalue())["verdict"].split(":")[0].split(" (")[0], traceback
    return rc, (text[-1] if text else ""), traceback


def run_both(a: Path, b: Path) -> tuple[int, str, bool]:
    """The --json run and the rendered report must agree on the exit code; both count for tracebacks."""
    rc, why, tb = run_diff(a, b, "--json")
    rc_text, why_text, tb_text = run_diff(a, b)
    if rc_text != rc:
        why, tb = f"--json exit {rc} but report exit {rc_text}: {why_text or why}", True
    return rc, why, tb or tb_text


def census(pairs, verbose: bool) -> collections.Counter:
    counts = collections.Counter()
    for a, b in pairs:
        rc, why, tb = run_both(a, b)
        counts[rc] += 1
        counts["traceback"] += tb
        if rc in (0, 1):
            counts[why] += 1
        if verbose and rc not in (0,) and not (rc == 1 and b != a):
            print(f"  rc={rc} {a.name} {b.name if b != a else '(self)'}: {why[:150]}")
    return counts


def main() -> int:
    verbose = "--verbose" in sys.argv
    legacy = SHARED / "legacy-traces"
    files = sorted((legacy / "files").iterdir())
    pairs = [tuple(legacy / "files" / n for n in line.split())
             for line in (legacy / "pairs.txt").read_text().splitlines() if line.strip()]
    conformance = sorted((SHARED / "conformance").glob("*/trace_*.log"))
    for title, items in (("legacy files vs themselves", [(f, f) for f in files]),
                         ("legacy pairs.txt", pairs),
                         ("conformance recordings vs themselves", [(f, f) for f in conformance])):
        c = census(items, verbose)
        kinds = ", ".join(f"{k} {c[k]}" for k in LABELS if c[k])
        print(f"{title}: {len(items)} runs: exit0={c[0]} exit1={c[1]} exit2={c[2]} exit3={c[3]} "
              f"tracebacks={c['traceback']}" + (f" ({kinds})" if kinds else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
