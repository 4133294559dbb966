"""Compact columns for a trace's values, so a pixel traced with millions of sub-pixel lines is read in a
few bytes per value: readers add one record per printed line (its occurrence fields once, its tokens and
values in flat arrays), never a Python list per value.

    ValueColumns()                  .add(impl, section, key, layer, subS, subF, tic, rep, block, occ_from,
                                         no, parts, factor)   parts: [(raw token, value)]
    cols.line_table() -> dict       one numpy array per line field (+ 'count': values on the line)
    expand(table, cols) -> dict     one numpy array per value column (VALUE_COLUMNS but the precision)
    from_rows(rows) -> dict         the same from 14-field rows (the per-φ JSON and table readers)
"""

from __future__ import annotations

from array import array

import numpy as np

LINE_INTS = ("layer", "subS", "subF", "phi_tic", "repeat", "block", "line")
LINE_NAMES = ("impl", "section", "key", "occ_from")
ROW_FIELDS = ("impl", "section", "key", "component", "layer", "subS", "subF", "phi_tic", "repeat", "block",
              "occ_from", "value", "raw", "line")


class ValueColumns:
    """Values as a reader finds them, one record per line; names are shared (one string per distinct name).
    `factor` scales the values (a declared alias's unit)."""

    def __init__(self):
        self.names: dict[str, str] = {}
        self.names_per_line: list[str] = []   # LINE_NAMES of each line, flat
        self.ints_per_line = array("q")       # LINE_INTS and the number of values of each line, flat
        self.raw: list = []
        self.value = array("d")

    def __len__(self) -> int:
        return len(self.value)

    def add(self, impl, section, key, layer, subS, subF, tic, rep, block, occ_from, no, parts, factor) -> None:
        self.add_line(impl, section, key, layer, subS, subF, tic, rep, block, occ_from, no,
                      [t for t, _ in parts], [v for _, v in parts], factor)

    def add_line(self, impl, section, key, layer, subS, subF, tic, rep, block, occ_from, no, toks, vals,
                 factor) -> None:
        if not toks:
            return
        share = self.names.setdefault
        self.names_per_line.extend((share(impl, impl), share(section, section), share(key, key),
                                    share(occ_from, occ_from)))
        self.ints_per_line.extend((layer, subS, subF, tic, rep, block, no, len(toks)))
        self.raw.extend(toks)
        self.value.extend(vals if factor == 1.0 else [v * factor for v in vals])

    def line_table(self) -> dict:
        names = np.array(self.names_per_line, dtype=object).reshape(-1, len(LINE_NAMES))
        ints = np.frombuffer(self.ints_per_line, dtype=np.int64).reshape(-1, len(LINE_INTS) + 1)
        self.names_per_line, self.ints_per_line = [], array("q")   # copied out: free them
        table = {n: names[:, c].copy() for c, n in enumerate(LINE_NAMES)}
        table.update({n: ints[:, c].copy() for c, n in enumerate((*LINE_INTS, "count"))})
        return table


def expand(table: dict, cols: ValueColumns) -> dict:
    """Per-line fields repeated over the line's values; components numbered 0.. within each line."""
    count = table["count"]
    out = {n: np.repeat(table[n], count) for n in (*LINE_NAMES, *LINE_INTS)}
    total = int(count.sum())
    starts = np.cumsum(count) - count
    out["component"] = np.arange(total, dtype=np.int64) - np.repeat(starts, count)
    out["value"] = np.frombuffer(cols.value, dtype=np.float64) if total else np.zeros(0)
    out["raw"] = np.array(cols.raw, dtype=object) if total else np.zeros(0, dtype=object)
    cols.raw = []
    return out


def from_rows(rows: list) -> dict:
    """14-field rows (ROW_FIELDS order) -> columns."""
    if not rows:
        return {n: np.zeros(0, dtype=object if n in (*LINE_NAMES, "raw") else
                            (np.float64 if n == "value" else np.int64)) for n in ROW_FIELDS}
    out = {}
    for name, col in zip(ROW_FIELDS, zip(*rows)):
        if name in (*LINE_NAMES, "raw"):
            out[name] = np.array(col, dtype=object)
        else:
            out[name] = np.array(col, dtype=np.float64 if name == "value" else np.int64)
    return out
