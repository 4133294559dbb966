"""The one JSON encoder of nbparity: metrics.json, request.json, --json output and bundles all go through
`to_jsonable`/`dumps`, so a value is written the same way everywhere (non-finite floats as the strings
'nan', 'inf', '-inf', which strict JSON can hold; numpy/torch scalars as Python numbers; paths as text)."""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path


def to_jsonable(obj):
    """A structure json.dumps(allow_nan=False) accepts, with nothing dropped silently."""
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(obj, key=str)]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0 and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if obj != obj else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if hasattr(obj, "__dict__"):
        return to_jsonable(vars(obj))
    return str(obj)


def dumps(obj, indent: int | None = 2) -> str:
    """Strict JSON text (no NaN literals), newline-terminated when indented."""
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
    return text + "\n" if indent is not None else text
