#!/usr/bin/env python
"""Peak memory of a simulator render under several -max_memory budgets (simulator/memory_budget.py).

Each render runs as `python -m simulator ARGS -max_memory B` in a child process; its peak RSS comes from
os.wait4's rusage (ru_maxrss), its wall time from the clock. The first row is the interpreter with
torch imported and nothing rendered: the budget bounds what the render allocates on top of that.
Default ARGS: the issue-25 render (32×32 pixels, -oversample 100: 10⁴ iterations per pixel). Numbers
only: nothing here passes or fails.

    .venv/bin/python bench/memory_budget.py
    .venv/bin/python bench/memory_budget.py --oversample 300 --budgets default,64M
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ISSUE_ARGS = ("-cell 50 60 70 90 90 90 -distance 100 -pixel 0.5 -nonoise -nopgm -lambda 1 -N 4 -detpixels 32 "
              "-default_F 100")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--args", default=ISSUE_ARGS, help="simulator arguments without -oversample")
    ap.add_argument("--oversample", type=int, default=100, help="-oversample (default: %(default)s)")
    ap.add_argument("--budgets", default="default,1G,256M,64M,16M",
                    help="comma list of -max_memory values; 'default' = none given (default: %(default)s)")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--quirks", default="c")
    ap.add_argument("--repo", default=str(C.REPO),
                    help="checkout whose simulator runs (another one measures 'before'; budgets need -max_memory)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    return ap.parse_args(argv)


def measure(cmd, cwd, repo) -> dict:
    """Run `cmd` with `repo` first on the path; its exit status, wall seconds and peak RSS in MiB."""
    env = dict(os.environ, PYTHONPATH=str(repo))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    proc.stderr.close()
    return {"exit": os.waitstatus_to_exitcode(status), "wall_s": round(wall, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "stderr": err[-1] if err else ""}


def main(argv=None) -> int:
    a = parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="nbparity-bench-mem-") as tmp:
        C.log("baseline: interpreter with torch imported")
        base = measure([sys.executable, "-c", "import simulator.api"], tmp, a.repo)
        rows.append({"budget": "(import only)", **base})
        for b in a.budgets.split(","):
            cmd = [sys.executable, "-m", "simulator", *a.args.split(), "-oversample", str(a.oversample),
                   "-dtype", a.dtype, "-quirks", a.quirks, "-floatfile", "float.bin"]
            if b != "default":
                cmd += ["-max_memory", b]
            C.log(f"-max_memory {b} …")
            rows.append({"budget": b, **measure(cmd, tmp, a.repo)})
    if a.json:
        import json
        print(json.dumps({"args": a.args, "oversample": a.oversample, "dtype": a.dtype, "rows": rows}, indent=1))
        return 0
    print(f"render: {a.args} -oversample {a.oversample} ({a.dtype}, quirks {a.quirks}; simulator of {a.repo})")
    print(f"{'-max_memory':>14} {'exit':>4} {'wall s':>8} {'peak RSS MiB':>13}  note")
    for r in rows:
        print(f"{r['budget']:>14} {r['exit']:>4} {r['wall_s']:>8} {r['peak_rss_mib']:>13}  {r['stderr'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
