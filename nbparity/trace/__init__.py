"""Reading traces, whatever wrote them: one small reader per source format, all returning TraceFrames.

Public API::

    load_trace(path, label="trace", *, format=None) -> TraceFrames    # for notebooks and `nbparity diff`
    parse_trace(text, source=None, *, format=None) -> TraceFrames     # never raises on content
    detect_format(text) -> (name, reason);  FORMATS {name: description}
    TraceFrames (nbparity/trace/frames.py)

Readers: trace_log.py (TRACE_* line logs, also per-φ-only logs), phi_json.py (per-φ JSON),
phi_table.py (per-φ text tables). Other builds' names map to ours only through traces/aliases.toml.
load_trace raises UsageError (exit 2) only when the file cannot be read or holds no trace value at all.
"""

from __future__ import annotations

from pathlib import Path

from nbparity.errors import UsageError
from nbparity.trace.detect import FORMATS, detect_format, shows_line_log
from nbparity.trace.frames import CONFIG_COLUMNS, OTHER_COLUMNS, VALUE_COLUMNS, TraceFrames

__all__ = ["load_trace", "parse_trace", "detect_format", "FORMATS", "TraceFrames", "VALUE_COLUMNS",
           "CONFIG_COLUMNS", "OTHER_COLUMNS"]


def _read(fmt: str, text, source):
    from nbparity.trace.phi_json import read_phi_json
    from nbparity.trace.phi_table import read_phi_table
    from nbparity.trace.trace_log import read_trace_log

    if fmt == "phi-json":
        return read_phi_json(text, source)
    if fmt == "phi-table":
        return read_phi_table(text, source)
    return read_trace_log(text, source, phi_only=fmt == "phi-log", format_name=fmt)


_SAMPLE = 4 << 20   # bytes of a file the format is detected from (a big trace is read as it streams)
_FIRST_LOOK = 1 << 20   # ... unless its first MiB already shows per-pixel or setup lines (a line log whatever
                        # follows: counting 4 MiB of lines would cost a big read a few per cent)


def _sample(head: bytes) -> bytes:
    """The whole lines of a big file's head the format is detected from."""
    first = head[:head.rfind(b"\n", 0, _FIRST_LOOK) + 1]
    if first.lstrip()[:1] not in (b"{", b"[") and shows_line_log(first.decode("utf-8", errors="replace")):
        return first
    return head[:head.rfind(b"\n") + 1]


def parse_trace(text, source: str | None = None, *, format: str | None = None, sample=None) -> TraceFrames:
    """Parse trace text (str, bytes, or an open binary file for the line-log formats) with the named reader,
    or the one detected from `sample` (default: the text itself) when format is None."""
    if format is not None and format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    if format is None:
        head = text if sample is None else sample
        head = head.decode("utf-8", errors="replace") if isinstance(head, (bytes, bytearray)) else str(head)
        fmt, reason = detect_format(head)
    else:
        fmt, reason = format, "chosen with --format"
    if not isinstance(text, (str, bytes, bytearray, memoryview)) and fmt not in ("trace-log", "phi-log"):
        text = text.read()
    frames = _read(fmt, text, source)
    frames.format_reason = reason
    return frames


def load_trace(path, label: str = "trace", *, format: str | None = None,
               allow_truncated: bool = True) -> TraceFrames:
    """Read and parse a trace file. Missing, unreadable, empty or binary files, and files holding no trace
    value at all, raise UsageError with the reason. A partial or cut trace is returned (frames.truncated
    says whether a record was cut); allow_truncated=False restores the old refusal of cut traces.
    A line log is read as it streams from the file (its format detected from its first MiB when that
    shows per-pixel or setup lines, else from its first 4 MiB)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SAMPLE)
            if not head.strip() and not fh.read(1):
                raise UsageError(f"{label} log {path}: empty file")
            fh.seek(0)
            if len(head) < _SAMPLE:
                frames = parse_trace(head, source=str(path), format=format)
            else:
                sample = _sample(head)
                frames = parse_trace(fh, source=str(path), format=format, sample=sample)
                if format is None:   # the counts are the sample's
                    frames.format_reason += f" in its first {len(sample) / 2 ** 20:.1f} MiB"
    except FileNotFoundError:
        raise UsageError(f"{label} log {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{label} log {path}: is a directory") from None
    except OSError as exc:
        raise UsageError(f"{label} log {path}: cannot read ({exc.strerror or exc})") from None
    if frames.binary:
        raise UsageError(f"{label} log {path}: binary data (NUL bytes), not a trace log")
    if not frames.has_values():
        why = next((w for w in frames.warnings if "JSON" in w), None)
        raise UsageError(f"{label} log {path}: holds no trace value ({frames.format}: "
                         f"{why or frames.format_reason}): not a trace log, or the pixel was not rendered")
    if frames.truncated and not allow_truncated:
        raise UsageError(f"{label} log {path}: truncated: {frames.truncation}")
    return frames
