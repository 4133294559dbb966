"""Compact columns for a trace's values, so a pixel traced with millions of sub-pixel lines is read in a
few bytes per value: readers add one record per printed line (its occurrence fields once, its tokens and
values in flat arrays), never a Python list per value.

    ValueColumns()                  .add(impl, section, key, layer, subS, subF, tic, rep, block, occ_from,
                                         no, parts, factor)   parts: [(raw token, value)]
    .add_chunk(names, ints, raw, value, stats)   many lines at once (nbparity/trace/fast_block.py)
    cols.code(word) -> int          the code of a name (impl, section, key and occ_from share one vocabulary)
    cols.line_table() -> dict       one numpy array per line field (+ 'count': values on the line); the name
                                    fields as codes, 'vocab' the {word: code} they index
    word_code(table, word)          a word's code in a line table (-1: no line has it)
    cols.token_stats()              precision.token_stats of every value (those of chunks given, not redone)
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


_BIG, _MERGE = 4096, 64   # lines of a chunk kept as it is; small chunks merged so many at a time


class ValueColumns:
    """Values as a reader finds them, one record per line; names are kept as codes of one vocabulary (a
    big trace has a few dozen distinct names: comparing, counting and grouping codes costs far less than
    hashing the strings again at every step). `factor` scales the values (a declared alias's unit). Lines
    added one at a time are kept in compact arrays until a chunk of many lines comes (add_chunk), which
    keeps the order of the lines."""

    def __init__(self):
        self.vocab: dict[str, int] = {}        # word -> code, in the order the words came
        self.codes_per_line = array("i")      # LINE_NAMES codes of each line, flat
        self.ints_per_line = array("q")       # LINE_INTS and the number of values of each line, flat
        self.raw: list = []
        self.value = array("d")
        self.chunks: list[tuple] = []         # (names (n, 4) int32 codes, ints (n, 8) int64, raw, value, stats)
        self.n_values = 0
        self.first_small = 0                  # chunks from here on are small ones not merged yet

    def __len__(self) -> int:
        return self.n_values

    def code(self, word: str) -> int:
        c = self.vocab.get(word)
        if c is None:
            c = self.vocab[word] = len(self.vocab)
        return c

    def add(self, impl, section, key, layer, subS, subF, tic, rep, block, occ_from, no, parts, factor) -> None:
        self.add_line(impl, section, key, layer, subS, subF, tic, rep, block, occ_from, no,
                      [t for t, _ in parts], [v for _, v in parts], factor)

    def add_line(self, impl, section, key, layer, subS, subF, tic, rep, block, occ_from, no, toks, vals,
                 factor) -> None:
        if not toks:
            return
        code = self.code
        self.codes_per_line.extend((code(impl), code(section), code(key), code(occ_from)))
        self.ints_per_line.extend((layer, subS, subF, tic, rep, block, no, len(toks)))
        self.raw.extend(toks)
        self.value.extend(vals if factor == 1.0 else [v * factor for v in vals])
        self.n_values += len(toks)

    def add_chunk(self, names: np.ndarray, ints: np.ndarray, raw: list, value: np.ndarray, stats) -> None:
        """Many lines at once, after those added so far: names (n, 4) int32 codes (self.code) of LINE_NAMES,
        ints (n, 8) LINE_INTS and count; stats: what precision.token_stats gives for raw, or None."""
        self._seal()
        if len(names):
            self._append((names, ints, raw, value, stats))
            self.n_values += len(raw)

    def _seal(self) -> None:
        if not self.codes_per_line:
            return
        names = np.frombuffer(self.codes_per_line, dtype=np.int32).reshape(-1, len(LINE_NAMES))   # no copy
        ints = np.frombuffer(self.ints_per_line, dtype=np.int64).reshape(-1, len(LINE_INTS) + 1)
        self._append((names, ints, self.raw, np.frombuffer(self.value, dtype=np.float64), None))
        self.codes_per_line, self.ints_per_line, self.raw, self.value = array("i"), array("q"), [], array("d")

    def _append(self, chunk: tuple) -> None:
        """Keep a chunk; every _MERGE small ones become one (each costs its arrays' fixed size)."""
        self.chunks.append(chunk)
        if len(chunk[0]) >= _BIG:
            self.first_small = len(self.chunks)
        elif len(self.chunks) - self.first_small >= _MERGE:
            self.chunks[self.first_small:] = [_merge(self.chunks[self.first_small:])]
            self.first_small = len(self.chunks)

    def line_table(self) -> dict:
        self._seal()
        names = _stack([c[0] for c in self.chunks], (0, len(LINE_NAMES)), np.int32)
        ints = _stack([c[1] for c in self.chunks], (0, len(LINE_INTS) + 1), np.int64)
        self.chunks = [(None, None, *c[2:]) for c in self.chunks]   # the stacked arrays hold them now
        table = {n: names[:, c] for c, n in enumerate(LINE_NAMES)}   # views: a copy per column costs more
        table.update({n: ints[:, c] for c, n in enumerate((*LINE_INTS, "count"))})
        table["vocab"] = self.vocab
        return table

    def raw_and_value(self) -> tuple[np.ndarray, np.ndarray]:
        raw = np.empty(self.n_values, dtype=object)
        value = np.empty(self.n_values)
        at = 0
        for _, _, r, v, _ in self.chunks:
            raw[at:at + len(r)] = r
            value[at:at + len(r)] = v
            at += len(r)
        return raw, value

    def token_stats(self, raw: np.ndarray):
        """precision.token_stats of every value: those a chunk brought (released once copied), the rest
        computed."""
        from nbparity.trace.precision import token_stats

        if len(self.chunks) < 2:   # one chunk: its stats as they are (no copy: a big read's peak is here)
            got = self.chunks[0][4] if self.chunks and self.chunks[0][4] is not None else token_stats(raw)
            self.chunks = [(*c[:4], None) for c in self.chunks]
            return got
        out, at = None, 0
        for k, c in enumerate(self.chunks):
            n = len(c[2])
            got = c[4] if c[4] is not None else token_stats(raw[at:at + n])
            self.chunks[k] = (*c[:4], None)
            if out is None:
                out = tuple(np.empty(len(raw), dtype=g.dtype) for g in got)
            for o, g in zip(out, got):
                o[at:at + n] = g
            at += n
            del got, c
        return out


def _merge(chunks: list) -> tuple:
    from nbparity.trace.precision import token_stats

    raws = [np.asarray(c[2], dtype=object) if not isinstance(c[2], np.ndarray) else c[2] for c in chunks]
    stats = [c[4] if c[4] is not None else token_stats(r) for c, r in zip(chunks, raws)]
    return (np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]), np.concatenate(raws),
            np.concatenate([c[3] for c in chunks]), tuple(np.concatenate(s) for s in zip(*stats)))


def _stack(arrays: list, empty_shape: tuple, dtype) -> np.ndarray:
    if len(arrays) == 1:
        return arrays[0]
    return np.concatenate(arrays) if arrays else np.zeros(empty_shape, dtype=dtype)


def word_code(table: dict, word: str) -> int:
    """The code of `word` in a line table's name columns; -1 when no line has it (no code matches)."""
    return table["vocab"].get(word, -1)


def expand(table: dict, cols: ValueColumns) -> dict:
    """Per-line fields repeated over the line's values; components numbered 0.. within each line."""
    count = table["count"]
    at = np.repeat(np.arange(len(count)), count)   # each value's line: one repeat, every column taken by it
    out = {n: table[n][at] for n in LINE_INTS}
    words = list(table["vocab"])
    out.update({n: _strings(table[n][at], words) for n in LINE_NAMES})
    starts = np.cumsum(count) - count
    out["component"] = np.arange(len(at), dtype=np.int64) - starts[at]
    out["raw"], out["value"] = cols.raw_and_value()
    out["stats"] = cols.token_stats(out["raw"])
    out["name_groups"] = _name_groups(table, words, count > 0, at)
    cols.chunks = []
    return out


def _strings(codes: np.ndarray, words: list):
    """A name column over the values: the frame's string array made once per distinct name and taken (what
    the frame makes of the repeated names, without checking each one); an object array when a name is not
    a str or there is no value (the frame keeps those as objects)."""
    import pandas as pd

    if len(codes) and all(type(w) is str for w in words):
        return pd.array(words, dtype="str").take(codes)
    return np.array(words + [None], dtype=object)[codes]


def _name_groups(table: dict, words: list, valued: np.ndarray, at: np.ndarray) -> tuple:
    """precision.name_groups of the values, grouped over the lines that have values (in their order: the
    groups come out numbered as over the values) and taken per value."""
    from nbparity.trace.precision import name_groups

    detector = np.array([str(w).startswith("DETECTOR_") for w in words] + [False], np.int64)
    per_line = (table["impl"], table["section"], table["key"], detector[table["key"]])
    if valued.all():   # the usual case: every line has a value
        return tuple(g[at] for g in name_groups(*per_line))
    out = []
    for g in name_groups(*(c[valued] for c in per_line)):
        full = np.zeros(len(valued), g.dtype)
        full[valued] = g
        out.append(full[at])
    return tuple(out)


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
