"""Numbers in every layout people print after a key, read as numbers (issue 22 item 1).

    read_body(text) -> list[Item]      # never raises

Layouts: `v1 v2 v3`, `= v`, `[x, y, z]`, `(x, y, z)`, matrices `[a b c; d e f; g h i]`, labelled parts
`X:8.25e-06 Y:8.25e-06 pixel_mm:0.5`, a trailing unit word (`m`, `Angstroms`, `1/Å`, … declared in
traces/units.toml), secondary values on the same line under their own key (`[..] |b| = 31.31 Angstroms`,
`V_cell = 210000, V_star = 4.7619e-06`) and expressions between a name and its value
(`V_star = a_star . (b_star x c_star) = 4.7619e-06`: the value is the last one). A body that is not made of
numbers is one text item (`CUSTOM`, `Fbeam←Ybeam_mm(+0.5px),…`), compared as text.

Item: name (None for the line's own key, else the secondary name as printed), parts [(raw token, float)],
unit (the unit word or ''), text (True when the body is a word, not numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbparity.trace.numbers import number
from nbparity.trace.units import unit_of

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)|[-+]?0[xX][0-9a-fA-F.]+(?:[pP][-+]?\d+)?"
_TOKEN = re.compile(rf"(?:[A-Za-z_][\w]*:)?(?:{_NUM})(?![\w.:/])", re.I)
_GROUP = {"[": "]", "(": ")"}
_NAME = re.compile(r"^(?:\|[^|=]+\||[A-Za-z_][\w ^*()./'-]*?)$")


@dataclass
class Item:
    name: str | None
    parts: list
    unit: str = ""
    text: bool = False


def _numbers(chunk: str) -> list[tuple[str, float]] | None:
    """'a b c' / 'a, b; c' / labelled 'X:1 Y:2' -> [(raw, value)], or None when any piece is not a number."""
    toks = [t for t in re.split(r"[\s,;]+", chunk.strip()) if t]
    out = []
    for t in toks:
        m = _TOKEN.fullmatch(t)
        if m is None:
            return None
        val = number(t.rsplit(":", 1)[-1])
        if val is None:
            return None
        out.append((t, val))
    return out or None


def leading_value(text: str) -> tuple[list, str, str] | None:
    """(parts, unit, rest) for a value at the start of `text`: a bracketed group, or number tokens up to the
    first word that is not one; then an optional declared unit word. None when no value starts here."""
    s = text.lstrip()
    if s[:1] in _GROUP:
        close = s.find(_GROUP[s[0]])
        if close < 0:
            return None
        parts = _numbers(s[1:close])
        if parts is None:
            return None
        rest = s[close + 1:]
    else:
        parts, rest = [], s
        while True:
            m = re.match(r"\s*,?\s*(\S+)", rest)
            tok = m.group(1).rstrip(",") if m else ""
            if not tok or _TOKEN.fullmatch(tok) is None or number(tok.rsplit(":", 1)[-1]) is None:
                break
            parts.append((tok, number(tok.rsplit(":", 1)[-1])))
            rest = rest[m.end():]
        if not parts:
            return None
    unit = ""
    m = re.match(r"\s*(\S+)", rest)
    if m and unit_of(m.group(1).rstrip(",")) is not None:
        unit, rest = m.group(1).rstrip(","), rest[m.end():]
    if rest.strip() and not re.match(r"\s*,|\s+\S", rest):   # '1e-10/lambda0': a number inside an expression
        return None
    return parts, unit, rest.strip().lstrip(",").strip()


def _assignments(text: str) -> list[Item] | None:
    """`name = value [unit] [, name2 = value …]`, names and expressions between; None if not that shape."""
    pieces = re.split(r"\s*(?<![<>!=])=(?!=)\s*", text)
    if len(pieces) < 2:
        return None
    items: list[Item] = []
    name = pieces[0].strip()
    for k, piece in enumerate(pieces[1:], start=1):
        last = k == len(pieces) - 1
        got = leading_value(piece)
        if got is None or (last and got[2]):
            if last:   # the final value is not numbers: the whole assignment is text
                items.append(Item(name, [(piece.strip(), float("nan"))], text=True))
            continue   # an expression between the name and its value
        parts, unit, rest = got
        items.append(Item(name, parts, unit))
        if last:
            break
        if not _NAME.match(rest or "-"):
            return None
        name = rest
    return items or None


def read_body(text: str) -> list[Item]:
    """A key's printed body -> items; the first item is the key's own value (name None)."""
    body = text.strip()
    assigned = body[:1] in ("=", ":")   # `key = …` / `key: …`, not `key=…` (the '=' was split off before)
    if assigned:
        body = body[1:].strip()
    got = leading_value(body)
    if got is not None and not got[2]:
        return [Item(None, got[0], got[1])]
    if got is not None and "=" in got[2]:
        tail = _assignments(got[2])
        if tail is not None:
            return share_unit([Item(None, got[0], got[1])] + tail)
    if assigned and "=" in body:   # `V_star = a_star . (b_star x c_star) = 4.7619e-06`: an expression, then the value
        pieces = _assignments("_ = " + body)
        if pieces is not None and pieces[0].name == "_" and not pieces[0].text:
            return [Item(None, pieces[0].parts, pieces[0].unit)] + pieces[1:]
    return _text_with_values(body)


def _top_level_split(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "[(" and 1 or (-1 if ch in "])" else 0)
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return out + [cur]


def _text_with_values(body: str) -> list[Item]:
    """`Fbeam←Ybeam_mm(+0.5px),Sbeam←Xbeam_mm(+0.5px),beam_vec=[1 0 0]`: the words stay one text value, a
    comma-separated `name=numbers` piece among them is a value of its own (`beam_vec`)."""
    words, values = [], []
    for piece in _top_level_split(body):
        name, eq, val = piece.partition("=")
        got = leading_value(val) if eq and re.fullmatch(r"\s*[A-Za-z_]\w*\s*", name) else None
        if got is not None and not got[2]:
            values.append(Item(name.strip(), got[0], got[1]))
        else:
            words.append(piece)
    text = ",".join(words) if values else body
    return [Item(None, [(text, float("nan"))], text=True)] + values


def share_unit(items: list[Item]) -> list[Item]:
    """`b = [..] |b| = 31.31 Angstroms`: the line's closing unit qualifies its values printed without one."""
    last = next((it.unit for it in reversed(items) if it.unit), "")
    for it in items:
        if not it.unit and not it.text and last:
            it.unit = last
    return items
