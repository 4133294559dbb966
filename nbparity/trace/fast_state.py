"""The occurrence bookkeeping of the fast lines (nbparity/trace/fast_block.py), over whole columns, with the
line-by-line reader's rules (trace_log._Parser.pixel_values / phi_line): the block counter counts block A's
first key, a key's repeat counts within its block (block C keys: within the pixel), a per-φ field's repeat
within (impl, occurrence or block, phi_tic, name); the parser's counters are read before and written after
each run of fast lines, so the lines read one at a time between runs see what they would have seen.

    Records.build(...)                       the fast lines' records, values and printed-precision stats
    commit_segment(parser, records, lo, hi, first_no)   records of block lines [lo, hi) into the parser
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np


_SECTIONS = ("pixel", "phi")
_OCC_FROM = ("block", "once", "fields")


def objects(items: list) -> np.ndarray:
    """An object array of a list's items (fromiter: np.array(items, dtype=object) looks into each one first)."""
    return np.fromiter(items, object, len(items))


def lookup(p, section: str, name: str) -> tuple[str, float]:
    """aliases.resolve without recording the use (that is done in line order, at commit)."""
    a = p.aliases.table.lookup(p.aliases.source, section, name)
    return (name, 1.0) if a is None else (a.key, a.factor)


@dataclass
class Records:
    line: np.ndarray      # block line index per record (ascending)
    kind: np.ndarray      # 1 pixel, 2 per-φ
    impl: np.ndarray
    name: np.ndarray      # our key
    count: np.ndarray
    occ: np.ndarray       # (n, 4): layer, subS, subF, phi_tic (per-φ)
    fields: np.ndarray    # per-φ occurrence from its own fields
    start: np.ndarray     # offset of each record's values
    raw: np.ndarray
    value: np.ndarray
    stats: tuple
    named_line: np.ndarray   # per printed name, in token order: its line, and (section, name) to record
    named: list
    impl_id: np.ndarray   # codes of impl and name (within the block)
    name_id: np.ndarray
    impl_word: np.ndarray   # codes of impl and name in the reader's vocabulary (ValueColumns.code)
    name_word: np.ndarray
    is_ab: np.ndarray     # the key belongs to block A/B, to block C; its schema arity (-1: none)
    is_c: np.ndarray
    arity: np.ndarray

    @classmethod
    def build(cls, p, t, first, ntok, line_of, pixel, impl, body, body_vals, phi_tok, phi_name,
              phi_factor, index, phi_vals):
        px_lines = np.flatnonzero(pixel)
        key_code = t.key_code[px_lines]
        resolved = [lookup(p, "pixel", k) for k in t.key_uniq]
        px_name = np.array([r[0] for r in resolved] + [None], dtype=object)[key_code]
        px_factor = np.array([r[1] for r in resolved] + [1.0])[key_code]
        ids: dict = {}   # our key -> a code, for the pixel keys and per-φ names alike
        px_id = np.array([ids.setdefault(r[0], len(ids)) for r in resolved] + [-1], np.int64)[key_code]
        phi_id = np.array([ids.setdefault(n, len(ids)) for n in
                           [lookup(p, "phi", n)[0] for n in t.phi_uniq]] + [-1], np.int64)[t.phi_code]
        # per-φ lines: their index fields
        tok_line = line_of[phi_tok]
        idx = np.zeros((len(first), 5), np.int64)
        have = np.zeros((len(first), 5), bool)
        is_index = index > 0
        idx[tok_line[is_index], index[is_index]] = phi_vals[is_index].astype(np.int64)
        have[tok_line[is_index], index[is_index]] = True
        value_field = ~is_index
        # records in token order: a pixel line's first value token, a per-φ value field's token
        rec_tok = np.concatenate((first[px_lines] + 2, np.flatnonzero(phi_tok)[value_field]))
        order = np.argsort(rec_tok, kind="stable")
        n_px = len(px_lines)
        rec_line = np.concatenate((px_lines, tok_line[value_field]))[order]
        kind = np.concatenate((np.ones(n_px, np.int64), np.full(value_field.sum(), 2)))[order]
        name = np.concatenate((px_name, phi_name[value_field]))[order]
        name_id = np.concatenate((px_id, phi_id[value_field]))[order]
        count = np.concatenate((ntok[px_lines] - 2, np.ones(value_field.sum(), np.int64)))[order]
        occ, fields = _phi_occ(kind == 2, rec_line, idx, have)
        raw, value, stats = _values(t, body, body_vals, phi_tok, value_field, phi_vals,
                                    np.repeat(px_factor, ntok[px_lines] - 2), phi_factor[value_field])
        named_line, named = _alias_uses(p, t, first, px_lines, key_code, phi_tok, tok_line)
        facts = [(n in p.block_ab, n in p.block_c, getattr(p.pixel_specs.get(n), "arity", -1)) for n in ids]
        facts = np.array(facts + [(0, 0, -1)], np.int64).reshape(-1, 3)[name_id]
        code = p.values.code
        impl_word = np.array([-1 if i is None else code(i) for i in t.head_impl.tolist()], np.int32)
        name_word = np.array([code(n) for n in ids] + [-1], np.int32)
        return cls(rec_line, kind, impl[rec_line], name, count, occ, fields,
                   np.concatenate(([0], np.cumsum(count))), raw, value, stats,
                   named_line, named,
                   t.head[rec_line], name_id, impl_word[t.head[rec_line]], name_word[name_id],
                   facts[:, 0] > 0, facts[:, 1] > 0, facts[:, 2])


def _phi_occ(ph, rec_line, idx, have):
    """(layer, subS, subF, phi_tic) of each record ((0, 0, 0, -1) off the per-φ lines, and zeros for a per-φ
    record without its own occurrence fields), and whether it has them; only the per-φ rows are looked up."""
    occ, fields = np.zeros((len(ph), 4), np.int64), np.zeros(len(ph), bool)
    occ[:, 3] = -1
    lines = rec_line[ph]
    fields[ph] = have[lines, 2:5].all(axis=1)
    occ[ph] = idx[lines][:, [2, 3, 4, 1]]
    occ[ph & ~fields, :3] = 0
    return occ, fields


def _values(t, body, body_vals, phi_tok, value_field, phi_vals, body_factor, field_factor):
    """(raw, value, precision stats) of the fast lines' values, in token order."""
    field_tok = np.flatnonzero(phi_tok)[value_field]
    is_value = body.copy()
    is_value[field_tok] = True
    at = np.cumsum(is_value) - 1   # where each value token goes
    body_at, field_at = at[body], at[field_tok]
    raw = np.empty(len(body_at) + len(field_at), dtype=object)
    printed, factor = np.empty(len(raw)), np.empty(len(raw))
    shared = objects(t.value_uniq)[t.value_code]   # one str per distinct token, not one per value printed
    raw[body_at] = shared[:len(body_at)]
    raw[field_at] = shared[len(body_at):][value_field]
    printed[body_at], printed[field_at] = body_vals, phi_vals[value_field]
    factor[body_at], factor[field_at] = body_factor, field_factor
    stats = (printed, np.ones(len(printed), bool),
             *_unique_stats(t, body_at, field_at, np.flatnonzero(value_field)))
    return raw, printed * factor, stats


def _alias_uses(p, t, first, px_lines, key_code, phi_tok, tok_line):
    """(line, [(section, printed name)]) of the printed names a declared alias renames, in token order."""
    aliased = np.array([k in p.aliased for k in t.key_uniq] + [False])[key_code]
    phi_aliased = np.array([n in p.aliased for n in t.phi_uniq] + [False])[t.phi_code]
    keep = np.argsort(np.concatenate((first[px_lines] + 1, np.flatnonzero(phi_tok))), kind="stable")
    keep = keep[np.concatenate((aliased, phi_aliased))[keep]]
    named = []
    if len(keep):
        every = ([("pixel", t.key_uniq[c]) for c in key_code.tolist()] +
                 [("phi", t.phi_uniq[c]) for c in t.phi_code.tolist()])
        named = [every[k] for k in keep.tolist()]
    return np.concatenate((px_lines, tok_line))[keep], named


def _unique_stats(t, body_at, field_at, fields):
    """_byte_stats of every value, measured once per distinct token (t.value_uniq, plain ASCII by now, and
    t.value_code: codes of the body tokens then the per-φ values, as _records read them)."""
    n_body = len(body_at)
    source = np.empty(len(body_at) + len(field_at), np.int64)
    source[body_at], source[field_at] = np.arange(n_body), n_body + fields
    per_value = t.value_code[source]
    uniq = t.value_uniq
    packed = np.frombuffer("".join(uniq).encode("ascii"), np.uint8)   # the distinct tokens side by side
    n = np.fromiter(map(len, uniq), np.int64, len(uniq))
    at = np.cumsum(n) - n
    return tuple(s[per_value] for s in _byte_stats(packed, at, at + n))


def _byte_stats(buf: np.ndarray, a: np.ndarray, b: np.ndarray):
    """(significant digits, decimals or -1, mantissa ends in 0) of plain decimal tokens buf[a:b], as
    numbers.sig_digits / decimals / _mantissa measure them."""
    def first_at_or_after(positions, lo, hi):
        if not len(positions):
            return hi
        at = positions[np.minimum(np.searchsorted(positions, lo), len(positions) - 1)]
        return np.where((at >= lo) & (at < hi), at, hi)

    digit = (buf >= 48) & (buf <= 57)
    m_end = first_at_or_after(np.flatnonzero((buf == 101) | (buf == 69)), a, b)
    dot = first_at_or_after(np.flatnonzero(buf == 46), a, m_end)
    nonzero = first_at_or_after(np.flatnonzero(digit & (buf != 48)), a, m_end)
    sig = (m_end - nonzero - ((dot >= nonzero) & (dot < m_end))).astype(np.int32)   # digits and one '.'

    dec = np.where((m_end == b) & (dot < m_end), m_end - dot - 1, -1).astype(np.int32)   # (held till the
    return sig, dec, buf[m_end - 1] == 48                                                # frames: 4 bytes)


def _cumcount(*cols: np.ndarray) -> np.ndarray:
    """How many earlier entries have the same values in all the columns."""
    n = len(cols[0])
    order = np.lexsort(cols[::-1])
    new = np.zeros(n, bool)
    new[:1] = True
    for c in cols:
        sc = c[order]
        new[1:] |= sc[1:] != sc[:-1]
    run_start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    out = np.empty(n, np.int64)
    out[order] = np.arange(n) - run_start
    return out


def _counts(r, sl, where: np.ndarray) -> dict:
    """{(impl, key): how many records} over the records of slice sl where `where` (a few: one block's)."""
    return dict(Counter(zip(r.impl[sl][where].tolist(), r.name[sl][where].tolist())))


def _pixel_state(p, r, sl, px):
    """(block counter after each record, is block C, repeat) of the pixel records; updates the parser."""
    name = r.name[sl]
    if p.start_key is None:
        ab = px & r.is_ab[sl]
        if ab.any():
            p.start_key = name[np.argmax(ab)]
    # codes, not strings: every record's name is in the vocabulary by now (Records.build)
    starts = px & (r.name_word[sl] == p.values.vocab.get(p.start_key, -2)) if p.start_key is not None \
        else np.zeros(len(name), bool)
    g = p.block + np.cumsum(starts)
    is_c = px & r.is_c[sl]
    g0 = p.block
    rep = np.zeros(len(name), np.int64)
    rep[px] = _cumcount(r.impl_id[sl][px], r.name_id[sl][px], np.where(is_c, -2, g)[px])
    carry = px & ~is_c & (g == g0)
    for where, seen in ((carry, p.seen_in_block), (is_c, p.seen_once)):
        if where.any() and seen:
            rep[where] += [seen.get(k, 0) for k in zip(r.impl[sl][where].tolist(), name[where].tolist())]
    counts = _counts(r, sl, px & ~is_c & (g == g[-1]))
    if starts.any():
        p.seen_in_block = counts
    else:
        for k, n in counts.items():
            p.seen_in_block[k] = p.seen_in_block.get(k, 0) + n
    if is_c.any():
        for k, n in _counts(r, sl, is_c).items():
            p.seen_once[k] = p.seen_once.get(k, 0) + n
    p.block = int(g[-1])
    return g, is_c, rep


def _phi_reps(p, r, sl, block, ph, b0: int) -> np.ndarray:
    """Repeats of the per-φ records: counted over columns within the run; the parser's counts are read for
    the groups that may have some (own occurrence fields, or the run's first block) and written for the
    groups a later line may reach (own fields, or the run's last block)."""
    impl, name, occ, fields, block = r.impl[sl][ph], r.name[sl][ph], r.occ[sl][ph], r.fields[sl][ph], block[ph]
    cols = (r.impl_id[sl][ph], r.name_id[sl][ph], fields, np.where(fields, 0, block), *occ.T)
    rep = _cumcount(*cols)
    code = np.zeros(len(rep), np.int64)
    code[np.lexsort(cols[::-1])] = np.arange(len(rep))   # any per-group id would do: first of the group
    code = code - rep
    seen, offset = p.seen_phi, np.zeros(len(rep) + 1, np.int64)
    known = fields | (block == b0)
    last = fields | (block == (block[-1] if len(block) else -1))
    todo = np.flatnonzero(known | last).tolist()
    keys = [(impl[k], tuple(occ[k, :3].tolist()) if fields[k] else ("block", int(block[k])), int(occ[k, 3]),
             name[k]) for k in todo]
    for k, key in zip(todo, keys):
        if known[k]:
            offset[code[k]] = seen.get(key, 0)
    rep += offset[code]
    for k, key in zip(todo, keys):
        if last[k]:
            seen[key] = int(rep[k]) + 1
    return rep


def commit_segment(p, r: Records, lo: int, hi: int, first_no: int) -> None:
    """The records of block lines [lo, hi) (a run of fast lines) into the parser, in order."""
    a, b = np.searchsorted(r.line, [lo, hi]).tolist()
    if a == b:
        return
    na, nb = np.searchsorted(r.named_line, [lo, hi]).tolist()
    for section, printed in dict.fromkeys(r.named[na:nb]):
        p.aliases.resolve(section, printed)
    sl = slice(a, b)
    name, kind, occ, fields = r.name[sl], r.kind[sl], r.occ[sl], r.fields[sl]
    count, no = r.count[sl], r.line[sl] + first_no
    px, ph = kind == 1, kind == 2
    b0 = max(p.block, 0)
    g, is_c, rep = _pixel_state(p, r, sl, px)
    block = np.where(is_c, -1, np.maximum(g, 0))
    rep[ph] = _phi_reps(p, r, sl, block, ph, b0)
    _warn(p, px, is_c, rep, name, count, no, block, occ, r.arity[sl])
    code = p.values.code
    names = np.empty((len(name), 4), dtype=np.int32)
    names[:, 0], names[:, 2] = r.impl_word[sl], r.name_word[sl]
    names[:, 1] = np.array([code(w) for w in _SECTIONS], np.int32)[ph.view(np.int8)]
    names[:, 3] = np.array([code(w) for w in _OCC_FROM], np.int32)[np.where(is_c, 1, np.where(fields, 2, 0))]
    ints = np.stack([occ[:, 0], occ[:, 1], occ[:, 2], occ[:, 3], rep, block, no, count], axis=1, dtype=np.int64)
    va, vb = int(r.start[a]), int(r.start[b])
    p.values.add_chunk(names, ints, r.raw[va:vb], r.value[va:vb],
                       tuple(s[va:vb] for s in r.stats))


def _warn(p, px, is_c, rep, name, count, no, block, occ, arity) -> None:
    """The warnings the line-by-line reader gives these records, in its order."""
    odd = px & (arity >= 0) & (count != arity)
    for k in np.flatnonzero(odd | (rep > 0)).tolist():
        if len(p.warnings) > 200:
            return
        if odd[k]:
            p.warn(f"line {no[k]}: {name[k]} has {count[k]} values, schema arity {arity[k]}")
        if rep[k] and px[k]:
            where = "the pixel" if is_c[k] else f"block {block[k]}"
            p.warn(f"line {no[k]}: {name[k]} repeated within {where} (kept as repeat {rep[k]})")
        elif rep[k]:
            p.warn(f"line {no[k]}: per-φ {name[k]} at phi_tic {occ[k, 3]} repeated (kept as repeat {rep[k]})")
