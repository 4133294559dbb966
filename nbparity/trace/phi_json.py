"""Reader for per-φ JSON files written by harness scripts: an object with a metadata block (a `metadata`
object, or top-level scalars such as timestamp / pixel / dtype) and a list of per-φ records under
`traces` or `per_phi_entries` (or a bare list of records).

    read_phi_json(text, source=None) -> TraceFrames

Each record becomes per-φ rows keyed by its own `phi_tic` (never by its position in the list) and, when
present, its layer/subS/subF. The metadata is kept aside, not compared (timestamps always differ). A file
cut mid-record keeps the complete records before the cut and is reported as truncated.
"""

from __future__ import annotations

import json

from nbparity.trace.aliases import AliasLog
from nbparity.trace.frames import TraceFrames, build_frames
from nbparity.trace.numbers import number

LIST_KEYS = ("traces", "per_phi_entries")
_INDEX = ("phi_tic", "layer", "subS", "subF")
_MAX_INDEX = 2**31 - 1


def _parse_int(digits: str):
    """JSON integers as ints; one too long for Python's int conversion limit stays its text (read as a
    number later, or kept aside), never an exception."""
    return int(digits) if len(digits) <= 1000 else digits


def _index(x):
    """x as a loop index (an integer that fits the C's int), or None."""
    try:
        return int(x) if x == x and abs(x) <= _MAX_INDEX and x == int(x) else None
    except (OverflowError, ValueError):
        return None



def _records_of(doc) -> tuple[list | None, dict]:
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict):
        return None, {}
    for key in LIST_KEYS:
        if isinstance(doc.get(key), list):
            meta = {k: v for k, v in doc.items() if k != key}
            return doc[key], meta
    return None, doc


def _salvage(text: str) -> tuple[list, str | None]:
    """The complete records of a JSON file cut mid-way, and where it was cut."""
    dec = json.JSONDecoder(parse_int=_parse_int)
    for key in LIST_KEYS:
        at = text.find(f'"{key}"')
        if at < 0:
            continue
        pos = text.find("[", at) + 1
        out = []
        while pos > 0:
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text) or text[pos] == "]":
                break
            try:
                rec, pos = dec.raw_decode(text, pos)
            except json.JSONDecodeError:
                return out, f"the JSON is cut inside record {len(out) + 1} of '{key}'"
            out.append(rec)
        return out, f"the JSON is cut after record {len(out)} of '{key}'"
    return [], None


def _scalar(v) -> tuple[float, str] | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        try:
            return float(v), repr(v) if isinstance(v, float) else str(v)
        except OverflowError:  # an integer beyond double range: kept as text, never as a wrong number
            return float("nan"), str(v)[:40]
    if isinstance(v, str):
        val = number(v.strip())
        return (float("nan") if val is None else val), v
    return None


def read_phi_json(text, source: str | None = None) -> TraceFrames:
    from nbparity.trace.lines import decode

    warnings: list[str] = []
    decoded, binary = decode(text, warnings)
    truncation = None
    try:
        records, meta = _records_of(json.loads(decoded, parse_int=_parse_int))
    except (json.JSONDecodeError, RecursionError) as exc:
        try:
            records, truncation = _salvage(decoded)
        except RecursionError:
            records, truncation = [], None
        meta = {}
        if truncation is None:
            why = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            warnings.append(f"not valid JSON ({why}) and no per-φ list found")
            records = []
        else:
            warnings.append(f"truncated: {truncation}; the complete records before it are compared")
    if records is None:
        warnings.append(f"no per-φ list ({' or '.join(LIST_KEYS)}) in this JSON")
        records = []
    impl = "C" if str(meta.get("impl", meta.get("implementation", ""))).upper() in ("C", "NANOBRAGG") else "PY"
    aliases = AliasLog("phi-json")
    values, other = [], [(0, f"metadata: {json.dumps(meta, sort_keys=True)[:2000]}")] if meta else []
    seen: dict[tuple, int] = {}
    for no, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            warnings.append(f"record {no} is not an object, kept aside")
            other.append((no, json.dumps(rec)[:200]))
            continue
        idx, fields = {}, []
        for name, v in rec.items():
            key, factor = aliases.resolve("phi", str(name))
            s = _scalar(v)
            if s is None:
                if isinstance(v, list) and all(_scalar(x) for x in v):
                    fields += [(key, factor, *_scalar(x), comp) for comp, x in enumerate(v)]
                continue
            if key in _INDEX:
                if _index(s[0]) is None:   # inf, 1e300, a 5000-digit integer: not a loop index
                    warnings.append(f"record {no}: {key} {str(s[1])[:40]} is not a loop index, record kept aside")
                    other.append((no, json.dumps(rec, default=str)[:200]))
                    idx = None
                    break
                idx[key] = _index(s[0])
            else:
                fields.append((key, factor, *s, 0))
        if idx is None:
            continue
        if "phi_tic" not in idx:
            warnings.append(f"record {no} has no phi_tic (kept with phi_tic -1)")
        occ = tuple(idx.get(k, 0) for k in ("layer", "subS", "subF"))
        occ_from = "fields" if all(k in idx for k in ("layer", "subS", "subF")) else "once"
        tic = idx.get("phi_tic", -1)
        for key, factor, val, raw, comp in fields:
            rep = seen.get((occ, tic, key, comp), 0)
            seen[(occ, tic, key, comp)] = rep + 1
            values.append([impl, "phi", key, comp, *occ, tic, rep, -1, occ_from, val * factor, raw, no])
    return build_frames(values, [], other, exact=True, truncated=truncation is not None, truncation=truncation,
                        binary=binary, warnings=warnings, source=source, n_lines=decoded.count("\n") + 1,
                        format="phi-json", aliases=aliases.applied())
