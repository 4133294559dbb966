"""How many of the numbers the instrumented C prints in its trace lines does `nbparity diff RECORDING OURS`
compare (issue 22 item 6)? Over ../shared/data/conformance, ours = the simulator on the R2 line, float64,
run as tests/conformance runs it.

    python bench/trace_coverage.py [--cache DIR] [--keys] [--self]

Denominator: every number token of the recording's trace lines (`TRACE_C…`, `TRACE:`, `DETECTOR_*`; the
`TRACE_CONFIG:` banner is not a trace value), counted by a tokenizer independent of the readers (split on
blanks, brackets, commas, `;`, `=`, `label:`). Numerator: the C values of the comparison that both sides
printed (per-pixel, per-φ, setup, extra sections and the config echo). One-sided: C values the torch side
lacks. --keys lists the one-sided C keys (what the simulator would have to print). --self diffs each
recording against itself: the most the readers allow once the torch side prints what the C prints. The simulator's logs
are cached under --cache (default /tmp/nbparity-coverage-cache), keyed by the case and pixel.
"""

from __future__ import annotations

import collections
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_TRACE = re.compile(r"^\s*(TRACE_C\w*[: ]|TRACE:|DETECTOR_\w+)")
_SPLIT = re.compile(r"[\s,;=\[\]()]+")
_NUM = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:inf|nan)$", re.I)


def printed_numbers(path: Path) -> int:
    """Number tokens in the trace lines of a log, counted without the readers."""
    n = 0
    for line in path.read_text(errors="replace").splitlines():
        m = _TRACE.match(line)
        if m is None or line.lstrip().startswith("TRACE_CONFIG"):
            continue
        for tok in _SPLIT.split(line[m.end():]):
            if tok and _NUM.match(tok.rsplit(":", 1)[-1]):
                n += 1
    return n


def simulator_log(case, pixel, cache: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.conformance.recordings import R2_MODE, run_simulator, stage_inputs

    log = cache / f"{case.name}-{pixel[0]}-{pixel[1]}.log"
    if not log.exists():
        wd = cache / f"work-{case.name}-{pixel[0]}-{pixel[1]}"
        if wd.exists():
            import shutil

            shutil.rmtree(wd)
        run = run_simulator(case, *pixel, stage_inputs(case, wd), R2_MODE)
        log.write_text(run.trace_log.read_text())
    return log


def counted(result) -> tuple[int, int, collections.Counter]:
    """(C numbers compared, C numbers one-sided, one-sided C values per section.key)."""
    import pandas as pd

    both = one = 0
    missing = collections.Counter()
    for table in (result.table, result.config_table):
        c_rows = table[table["side"].isin(["both", "C"])]
        numeric = c_rows["c"].notna() & pd.to_numeric(c_rows["raw_c"], errors="coerce").notna() \
            | c_rows["c"].notna() & c_rows["raw_c"].map(lambda r: ":" in str(r))
        both += int(((c_rows["side"] == "both") & numeric).sum())
        lack = c_rows[(c_rows["side"] == "C") & numeric]
        one += len(lack)
        for (sec, key), n in lack.groupby(["section", "key"]).size().items():
            missing[f"{sec}.{key}"] += int(n)
    return both, one, missing


def main() -> int:
    from nbparity.commands.diff import diff_logs
    from tests.conformance.recordings import load_cases

    args = sys.argv[1:]
    cache = Path(args[args.index("--cache") + 1]) if "--cache" in args else Path("/tmp/nbparity-coverage-cache")
    cache.mkdir(parents=True, exist_ok=True)
    cases = load_cases()
    if not cases:
        print("../shared/data/conformance not present")
        return 0
    total = both = one = 0
    missing = collections.Counter()
    t0 = time.perf_counter()
    for case in cases:
        for pixel in case.pixels:
            rec = case.recorded_trace(*pixel)
            ours = rec if "--self" in args else simulator_log(case, pixel, cache)
            result = diff_logs(str(rec), str(ours), dtype="float64")
            b, o, m = counted(result)
            total, both, one = total + printed_numbers(rec), both + b, one + o
            missing.update(m)
    print(f"{len(cases)} configurations, {sum(len(c.pixels) for c in cases)} traced pixels: the C prints "
          f"{total} numbers in its trace lines; {both} compared ({100 * both / total:.1f} %), "
          f"{one} C values one-sided ({time.perf_counter() - t0:.0f} s)")
    if "--keys" in args:
        for node, n in missing.most_common():
            print(f"  {n:6d}  {node}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
