"""What every terminal report shares: the width it fits, how a line is cut, how a number is shortened."""

from __future__ import annotations

WIDTH = 120


def cut(text: str, width: int = WIDTH) -> str:
    """The line, or its first width-1 characters and '…'."""
    return text if len(text) <= width else text[:width - 1] + "…"


def g(x, digits: int = 10) -> str:
    """A number with `digits` significant digits, '-' for a missing one, text as it is."""
    if x is None:
        return "-"
    try:
        return f"{float(x):.{digits}g}"
    except (TypeError, ValueError):
        return str(x)


def summary_head(kind: str, result, m: dict, sides: list) -> list:
    """The top of a bundle's summary.md, the same for every kind: the headline, the case, `sides` (the
    kind's own lines about what ran), the C line, the note, warnings, the error and what decided the verdict."""
    out = [f"# nbparity {kind} — {result.judgement.headline}", ""]
    if m.get("case"):
        out.append(f"* case: **{m['case']['name']}** — {m['case']['why']}")
    out += [f"* {line}" for line in sides]
    if m.get("c_line"):
        out.append(f"* {m['c_line']['text']}")
    if m.get("note"):
        out.append(f"* note: {m['note']}")
    out += [f"* WARNING: {w}" for w in result.warnings]
    if getattr(result, "error", None):   # a probe result has no error: a failed probe raises
        out += ["", f"**Error:** {result.error}"]
    out += [f"* {name}: {part.verdict.label} — {part.reason}" for name, part in result.judgement.parts]
    return out
