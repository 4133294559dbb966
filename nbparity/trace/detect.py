"""Which reader a trace file needs, and why (`nbparity diff` prints it; `--format` overrides it).

    detect_format(text) -> (format name, reason)
    shows_line_log(text) -> bool   a per-pixel or setup line is there (detect_format: trace-log)
    FORMATS: {name: one-line description}
"""

from __future__ import annotations

import re

FORMATS = {
    "trace-log": "TRACE_* line log: per-pixel lines (ours, instrumented nanoBragg builds, TRACE_C:key=value "
                 "geometry lines), per-φ lines, extra prefixes, config echo, any other output interleaved",
    "phi-log": "a log holding per-φ lines (TRACE_C_PHI / TRACE_PY_PHI) and no per-pixel value",
    "phi-json": "per-φ JSON: metadata plus a 'traces' or 'per_phi_entries' list of records",
    "phi-table": "a per-φ summary table printed as text (header 'φ_tic  φ (deg)  h_frac …')",
}

# Each matches from a line's start (what `^` matches under re.M) but is written from the end-of-line before
# it and run over "\n" + text: a pattern that starts with a literal is searched for that literal, not tried
# at every position of a 4 MiB sample. A match's start is then its line's start in `text`.
_VALUE_LINE = re.compile(r"\n\s*TRACE_(?!CONFIG)[A-Za-z0-9]+(?:_(?!PHI\b)[A-Za-z0-9_]+?)?[: ]\s*\S")
_PHI_LINE = re.compile(r"\n\s*TRACE_[A-Za-z0-9]+_PHI\s+\S+=")
_SETUP_LINE = re.compile(r"\n\s*(?:TRACE:[^\n=]*\S\s*=\s*\S|DETECTOR_[A-Z0-9_]+\s+\S)")


def _line_at(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def shows_line_log(text: str) -> bool:
    """The text has a per-pixel or setup line: detect_format calls it a trace-log whatever else it holds."""
    lines = "\n" + text
    return _VALUE_LINE.search(lines) is not None or _SETUP_LINE.search(lines) is not None


def detect_format(text: str) -> tuple[str, str]:
    head = text.lstrip()[:1]
    if head in ("{", "[") and ('"traces"' in text or '"per_phi_entries"' in text or head == "["):
        return "phi-json", "a JSON document with a per-φ list"
    lines = "\n" + text
    pixel = len(_VALUE_LINE.findall(lines))   # (?!CONFIG): no config echo among them
    phi = sum(1 for m in _PHI_LINE.finditer(lines) if "=<" not in _line_at(text, m.start()))  # not a template
    setup = len(_SETUP_LINE.findall(lines))
    del lines
    if pixel or setup:
        what = [f"{pixel} per-pixel/extra trace lines"] if pixel else []
        what += [f"{setup} setup lines (TRACE:, DETECTOR_*)"] if setup else []
        what += [f"{phi} per-φ lines"] if phi else []
        return "trace-log", " and ".join(what)
    if phi:
        return "phi-log", f"{phi} per-φ lines and no per-pixel line"
    from nbparity.trace.aliases import AliasLog
    from nbparity.trace.phi_table import header_columns

    log = AliasLog("phi-table")
    if any(header_columns(line, log) for line in text.split("\n") if line.strip()):
        return "phi-table", "a per-φ table header (φ_tic …) and no TRACE_* line"
    return "trace-log", "no TRACE_* value line, per-φ record or per-φ table found"
