"""The lines of a big trace that have the two dominant shapes, read a block at a time over whole columns:

    TRACE_<impl>: key n n n          (single spaces, plain decimal numbers)      -> a pixel record
    TRACE_<impl>_PHI k=n k=n …       (single spaces, names, plain decimal numbers) -> a per-φ record per field

    read_block(parser, first_no, lines, data) -> None

Every other line goes through the parser line by line, in order (nbparity/trace/trace_log.py), so the
records, warnings and kept-aside lines come out as the line-by-line reader makes them; the occurrence
bookkeeping of the fast lines is nbparity/trace/fast_state.py. A token made only of [0-9.eE+-] that float()
takes is exactly one the line-by-line reader's number pattern takes.
"""

from __future__ import annotations

import re

import numpy as np

from nbparity.trace.fast_state import Records, commit_segment, lookup, objects

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PIXEL_HEAD = re.compile(r"TRACE_([A-Za-z0-9]+):")
_PHI_HEAD = re.compile(r"TRACE_([A-Za-z0-9]+)_PHI")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX = {"phi_tic": 1, "layer": 2, "subS": 3, "subF": 4}
_NOT_NUMERIC = np.ones(256, np.int8)
_NUMERIC_BYTES = b"0123456789.eE+-"
_NOT_NUMERIC[list(_NUMERIC_BYTES)] = 0
_MIN_FAST_SHARE = 0.9   # a block with more other lines than this leaves is read line by line, and so is
_MAX_OTHER = 32         # one where more than one line in _MAX_OTHER is not a fast line, once checked


def read_block(p, first_no: int, lines: list[str], data: bytes | None, general) -> None:
    """Read a block of whole lines: fast lines over columns, the others with general(p, no, line)."""
    if not hasattr(p, "aliased"):   # printed names a declared alias renames (their use is recorded)
        p.aliased = {n for (src, _, n) in p.aliases.table._by if src == p.aliases.source}
    got = _classify(p, lines, data) if data is not None and not p.phi_only else None
    if got is None:
        for no, line in enumerate(lines, first_no):
            general(p, no, line)
        return
    fast_line, records = got
    others = np.flatnonzero(~fast_line).tolist()
    if len(others) * _MAX_OTHER > len(lines) and sum(1 for j in others if lines[j]) * _MAX_OTHER > len(lines):
        for no, line in enumerate(lines, first_no):   # runs too short to gain by columns
            general(p, no, line)
        return
    lo = 0
    for j in others:
        line = lines[j]
        if not line:
            continue
        if "TRACE" not in line and "DETECTOR_" not in line:   # kept aside, touches no reader state
            general(p, first_no + j, line)
            continue
        commit_segment(p, records, lo, j, first_no)
        general(p, first_no + j, line)
        lo = j + 1
    commit_segment(p, records, lo, len(lines), first_no)


def _classify(p, lines: list[str], data: bytes):
    """(fast-line mask, the fast lines' records) of a block, or None to read it line by line."""
    buf = np.frombuffer(data, np.uint8)
    sep = np.flatnonzero((buf == 32) | (buf == 10))
    text = lines.text if hasattr(lines, "text") else "\n".join(lines)
    tokens = text.replace("\n", " ").split(" ")
    if len(tokens) != len(sep) + 1:
        return None
    t = _Tokens(buf, sep, objects(tokens))
    first = np.concatenate(([0], np.flatnonzero(buf[sep] == 10) + 1))
    if len(first) != len(lines):
        return None
    ntok = np.diff(np.append(first, len(tokens)))
    kind, impl, head, t.head_impl = _heads(t.text[first])
    pixel = (kind == 1) & (ntok >= 3)
    pixel &= _span_all(t.numeric, first + 2, first + ntok, pixel)
    line_of = np.repeat(np.arange(len(lines)), ntok)
    t.find_pairs((kind == 2)[line_of])
    phi = (kind == 2) & (ntok >= 2) & _span_all(t.phi_pair, first + 1, first + ntok, kind == 2)
    if (pixel | phi).sum() < _MIN_FAST_SHARE * max(np.count_nonzero(ntok > 1), 1):
        return None
    pos = np.arange(len(tokens)) - first[line_of]
    ok, t.key_code, t.key_uniq = _names_ok(t.text[np.minimum(first + 1, len(tokens) - 1)], pixel)
    t.head = head
    return _records(p, t, first, ntok, line_of, pos, pixel & ok, phi, impl)


class _Tokens:
    """The block's tokens (split on single spaces and ends of lines) and where their bytes are. `numeric`
    first says only "not empty" (a block whose numbers are all plain decimals, the usual case, is checked
    at once: _plain); exact() makes it "plain decimal characters" token by token."""

    def __init__(self, buf: np.ndarray, sep: np.ndarray, text: np.ndarray):
        self.buf, self.text = buf, text
        self.start = np.concatenate(([0], sep + 1))
        self.end = np.append(sep, len(buf))
        self.numeric = self.end > self.start
        self.eq, self.phi_pair = self.start.copy(), np.zeros(len(self.start), bool)
        self.is_exact = False

    def find_pairs(self, where: np.ndarray) -> None:
        """`name=value` tokens (one '=', both sides non-empty) among the tokens `where`."""
        k = np.flatnonzero(where)
        eqs = np.flatnonzero(self.buf == 61)
        if not len(k) or not len(eqs):
            return
        start, end = self.start[k], self.end[k]
        at = np.searchsorted(eqs, start)
        one_eq = np.searchsorted(eqs, end) - at == 1
        eq = np.where(one_eq, eqs[np.minimum(at, len(eqs) - 1)], start)
        self.eq[k], self.phi_pair[k] = eq, one_eq & (eq > start) & (end > eq + 1)

    def exact(self) -> None:
        bad = np.zeros(len(self.buf) + 1, np.int32)
        np.cumsum(np.take(_NOT_NUMERIC, self.buf), out=bad[1:])
        self.numeric &= bad[self.end] == bad[self.start]
        self.phi_pair &= bad[self.end] == bad[np.minimum(self.eq + 1, len(self.buf))]
        self.is_exact = True


def _plain(strings: list[str]) -> bool:
    """Every string is made of plain decimal characters [0-9.eE+-] only."""
    joined = "".join(strings)
    return joined.isascii() and not joined.encode("ascii").translate(None, _NUMERIC_BYTES)


def _span_all(flag: np.ndarray, lo: np.ndarray, hi: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Per line: flag holds for every token in [lo, hi) (only computed where `where`)."""
    c = np.concatenate(([0], np.cumsum(flag)))
    lo, hi = np.minimum(lo, len(flag)), np.minimum(hi, len(flag))
    return where & (c[hi] - c[lo] == hi - lo)


def _heads(heads: np.ndarray):
    """(kind per line: 1 pixel, 2 per-φ, 0 other; impl per line; code of the line's head; impl per head)
    from each line's first token."""
    import pandas as pd

    codes, uniq = pd.factorize(heads)
    kinds, impls = np.zeros(len(uniq) + 1, np.int64), np.empty(len(uniq) + 1, dtype=object)
    for u, head in enumerate(uniq.tolist()):
        for k, pattern in ((1, _PIXEL_HEAD), (2, _PHI_HEAD)):
            m = pattern.fullmatch(head)
            if m is not None and m[1] != "CONFIG":
                kinds[u], impls[u] = k, m[1]
    return kinds[codes], impls[codes], codes, impls


def _names_ok(names: np.ndarray, where: np.ndarray):
    """(is a key name, code of the name, the names) per line, where `where`."""
    import pandas as pd

    codes, uniq = pd.factorize(np.where(where, names, ""))
    good = np.array([_NAME.fullmatch(n) is not None for n in uniq.tolist()] + [False])
    return good[codes], codes, uniq.tolist()


def _floats(strings: list[str]) -> np.ndarray | None:
    """float() of each string (numpy's conversion: the same doubles, the same refusals; tested), or None
    when one is no number."""
    try:
        return np.array(strings, dtype=np.float64) if strings else np.zeros(0)
    except ValueError:
        return None


def _records(p, t: _Tokens, first, ntok, line_of, pos, pixel, phi, impl):
    """Records of the fast lines, after the checks that need the names and numbers."""
    import pandas as pd

    phi_tok = phi[line_of] & (pos >= 1)
    pairs = "=".join(t.text[phi_tok].tolist()).split("=")
    names, raws = objects(pairs[0::2]), objects(pairs[1::2])
    if not phi_tok.any():
        names, raws = np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    codes, uniq = pd.factorize(names)
    t.phi_code, t.phi_uniq = codes, uniq.tolist()
    resolved = [lookup(p, "phi", n) if _NAME.fullmatch(n) else (None, 1.0) for n in uniq.tolist()]
    phi_name = np.array([r[0] for r in resolved] + [None], dtype=object)[codes]
    phi_factor = np.array([r[1] for r in resolved] + [1.0])[codes]
    index = np.array([_INDEX.get(r[0], 0) for r in resolved] + [0], np.int64)[codes]
    body = pixel[line_of] & (pos >= 2)
    body_text = t.text[body]
    n_body = len(body_text)
    # a trace prints many of its numbers many times: each distinct one is checked and read once
    t.value_code, uniq = pd.factorize(np.concatenate((body_text, raws)))
    uniq = uniq.tolist()
    if not t.is_exact and not _plain(uniq):   # some value is a word: which
        t.exact()
        return _records(p, t, first, ntok, line_of, pos, pixel & _span_all(t.numeric, first + 2, first + ntok, pixel),
                        phi & _span_all(t.phi_pair, first + 1, first + ntok, phi), impl)
    unique_vals = _floats(uniq)
    if unique_vals is None:   # numbers-only characters that are no number: those lines go line by line
        no_number = np.array([_NUMBER.fullmatch(u) is None for u in uniq] + [False])[t.value_code]
        bad_line = np.zeros(len(first), bool)
        bad_line[np.concatenate((line_of[body], line_of[phi_tok]))[no_number]] = True
        return _records(p, t, first, ntok, line_of, pos, pixel & ~bad_line, phi & ~bad_line, impl)
    vals = unique_vals[t.value_code]
    t.value_uniq = uniq
    body_vals, phi_vals = vals[:n_body], vals[n_body:]
    ok_phi = _phi_lines(phi, line_of[phi_tok], phi_name, index, phi_vals, len(first))
    if not ok_phi[phi].all():
        return _records(p, t, first, ntok, line_of, pos, pixel, ok_phi, impl)
    return (pixel | phi), Records.build(p, t, first, ntok, line_of, pixel, impl, body, body_vals,
                                        phi_tok, phi_name, phi_factor, index, phi_vals)


def _phi_lines(phi, tok_line, name, index, vals, n_lines) -> np.ndarray:
    """The per-φ lines the fast reader takes: known names, one phi_tic, each index field at most once and a
    whole number, and at least one value field."""
    bad = np.zeros(n_lines, bool)
    bad[tok_line[name == None]] = True   # noqa: E711  (a name the pattern refused)
    counts = np.bincount(tok_line * 5 + index, minlength=n_lines * 5).reshape(n_lines, 5)
    is_index = index > 0
    whole = np.isfinite(vals) & (np.abs(vals) < 2.0 ** 53) & (vals == np.round(vals))
    bad[tok_line[is_index & ~whole]] = True
    bad |= (counts[:, 1:] > 1).any(axis=1) | (counts[:, 1] != 1) | (counts[:, 0] == 0)
    return phi & ~bad
