"""Reader for per-φ summary tables printed as text by harness scripts, e.g.

    φ_tic   φ (deg)    h_frac       k_frac       l_frac       F_latt_b     F_latt
    ----------------------------------------------------------------------------
    0       0.000000   26.415194    -9.899110    -11.067192   2.326202     -3.069002e-01

    read_phi_table(text, source=None) -> TraceFrames

The header is a line whose first column is `phi_tic` (or a declared alias of it, traces/aliases.toml
source `phi-table`); columns are separated by two or more spaces (a header may hold `φ (deg)`). Rows are
the lines below it with one number per column; each row is keyed by its own phi_tic. Everything else is
kept aside. The printed precision is whatever the script chose (often 6 digits): comparing such a table
with a %.17g trace diverges honestly, with the deltas shown.
"""

from __future__ import annotations

import re

from nbparity.trace.aliases import AliasLog
from nbparity.trace.frames import TraceFrames, build_frames
from nbparity.trace.numbers import number

_COLUMNS = re.compile(r"\s{2,}")


def header_columns(line: str, aliases: AliasLog) -> list[tuple[str, float]] | None:
    cols = [c for c in _COLUMNS.split(line.strip()) if c]
    if len(cols) < 2:
        return None
    mapped = [aliases.resolve("phi", c) for c in cols]
    return mapped if mapped[0][0] == "phi_tic" else None


def read_phi_table(text, source: str | None = None) -> TraceFrames:
    from nbparity.trace.lines import decode

    warnings: list[str] = []
    decoded, binary = decode(text, warnings)
    aliases = AliasLog("phi-table")
    lines = decoded.split("\n")
    values, other = [], []
    cols, rows = None, 0
    seen: dict[tuple, int] = {}
    for no, line in enumerate(lines, start=1):
        head = header_columns(line, aliases) if line.strip() else None
        if head is not None:
            cols, rows = head, 0
            continue
        toks = line.split()
        nums = [number(t) for t in toks]
        if cols is None or len(toks) != len(cols) or None in nums:
            if line.strip():
                other.append((no, line))
                if rows and not set(line.strip()) <= set("-=─ "):
                    cols = None  # prose after the rows: the table has ended
            continue
        rows += 1
        if nums[0] != int(nums[0]):
            other.append((no, line))
            continue
        tic = int(nums[0])
        for (key, factor), tok, val in zip(cols[1:], toks[1:], nums[1:]):
            rep = seen.get((tic, key), 0)
            seen[(tic, key)] = rep + 1
            values.append(["PY", "phi", key, 0, 0, 0, 0, tic, rep, -1, "once", val * factor, tok, no])
    return build_frames(values, [], other, by_key=True, binary=binary, warnings=warnings, source=source,
                        n_lines=len(lines), format="phi-table", aliases=aliases.applied())
