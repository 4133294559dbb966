"""Guarded JSON reading for files nbparity did not necessarily write itself (bundles, ledgers).

`load_json` refuses, with a one-line reason, what `json.loads` would choke on or take unbounded time
and memory for: a file over `max_bytes`, bytes that are not UTF-8, nesting deeper than `max_depth`
(a metrics.json nested 100000 deep makes `json.loads` raise RecursionError), a number literal longer
than `max_number_chars` (a 10^6-digit integer costs seconds to convert) or one that overflows a
double (`1e999`), and malformed text. The strings "nan", "inf", "-inf" that the writers use for
non-finite values are ordinary strings and pass through; the bare literals NaN / Infinity are
accepted unless `allow_nan=False` (the image writer emits them today).

    from nbparity.safejson import load_json, JSONRefused
    try:
        metrics = load_json(Path("metrics.json"))
    except JSONRefused as exc:
        print(f"unreadable: {exc}")     # one line
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re

MAX_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 100
MAX_NUMBER_CHARS = 100

_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JSONRefused(ValueError):
    """The text was not loaded; str(exc) is a one-line reason."""


def _read(path_or_text, max_bytes: int) -> str:
    if isinstance(path_or_text, (bytes, bytearray)):
        raw = bytes(path_or_text)
    elif isinstance(path_or_text, str):
        raw = path_or_text.encode("utf-8", "surrogatepass")
    elif isinstance(path_or_text, os.PathLike):
        try:
            with open(path_or_text, "rb") as fh:
                raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise JSONRefused(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    else:
        raise TypeError("load_json takes a path (os.PathLike) or the JSON text (str or bytes)")
    if len(raw) > max_bytes:
        raise JSONRefused(f"larger than {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONRefused(f"not UTF-8 (byte {exc.start})") from None


def nesting_depth(text: str) -> int:
    """The deepest bracket nesting of JSON text (brackets inside strings do not count)."""
    bare = _STRING.sub('""', text)
    steps = (1 if m.group() in "[{" else -1 for m in _BRACKET.finditer(bare))
    return max(itertools.accumulate(steps, initial=0))


def _number_hooks(max_chars: int, allow_nan: bool):
    def parse_int(s: str) -> int:
        if len(s) > max_chars:
            raise JSONRefused(f"a number literal of {len(s)} characters (limit {max_chars})")
        return int(s)

    def parse_float(s: str) -> float:
        if len(s) > max_chars:
            raise JSONRefused(f"a number literal of {len(s)} characters (limit {max_chars})")
        v = float(s)
        if not math.isfinite(v):
            raise JSONRefused(f"number out of range: {s[:40]}")
        return v

    def parse_constant(s: str) -> float:
        if not allow_nan:
            raise JSONRefused(f"non-standard literal {s} (write the string \"nan\" / \"inf\" instead)")
        return float(s.replace("Infinity", "inf"))

    return parse_int, parse_float, parse_constant


def load_json(path_or_text, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
              max_number_chars: int = MAX_NUMBER_CHARS, allow_nan: bool = True):
    """Parse JSON from a path (os.PathLike) or from text (str / bytes) within the limits; JSONRefused
    (a ValueError) with a one-line reason otherwise."""
    text = _read(path_or_text, max_bytes)
    if not text.strip():
        raise JSONRefused("empty")
    depth = nesting_depth(text)
    if depth > max_depth:
        raise JSONRefused(f"nested {depth} deep (limit {max_depth})")
    parse_int, parse_float, parse_constant = _number_hooks(max_number_chars, allow_nan)
    try:
        return json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
    except JSONRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        first = (str(exc).splitlines() or [""])[0][:80]
        raise JSONRefused(f"not JSON ({type(exc).__name__}: {first})") from None


def load_object(path_or_text, **limits) -> dict:
    """`load_json` that also requires a JSON object at the top level."""
    doc = load_json(path_or_text, **limits)
    if not isinstance(doc, dict):
        what = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(doc), "number")
        raise JSONRefused(f"top level is a JSON {what}, not an object")
    return doc
