"""Compatibility shim: the trace readers live in nbparity/trace/ (one module per source format).

    parse_trace(text, source=None, *, format=None) -> TraceFrames
    load_trace(path, label="trace", *, format=None, allow_truncated=True) -> TraceFrames

Kept so existing callers (`nbparity compare`, tests, notebooks) keep working unchanged.
"""

from nbparity.trace import (CONFIG_COLUMNS, OTHER_COLUMNS, VALUE_COLUMNS, TraceFrames, detect_format,  # noqa: F401
                            load_trace, parse_trace)
from nbparity.trace.frames import decompose as _decompose  # noqa: F401
from nbparity.trace.numbers import number as _number  # noqa: F401
