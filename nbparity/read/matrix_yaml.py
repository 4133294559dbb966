"""The matrix YAML's building blocks: a loader that remembers line numbers, and the checks of every key
(unknown keys, argument strings, traced pixels, inherited torch settings, ports, thresholds, input files).
Every problem is a UsageError (exit 2) naming the file, the line and where in the matrix it is."""

from __future__ import annotations

import re
from pathlib import Path

from nbparity.errors import UsageError
from nbparity.images import MetricOptions, Thresholds
from nbparity.request import DEFAULT_QUIRKS

TOP_KEYS = {"name", "prepare", "cases"}
PREPARE_KEYS = {"name", "args"}
CASE_KEYS = {"id", "description", "base_args", "thresholds", "runs", "quirks", "dtype", "device",
             "trace_pixels", "timeout_s", "py_cmd", "py_quirk_flags"}
RUN_KEYS = {"name", "extra_args", "thresholds", "quirks", "dtype", "device", "trace_pixels", "timeout_s",
            "py_cmd", "py_quirk_flags"}
TORCH_ONLY = ("quirks", "dtype", "device")   # the in-repo simulator's settings: refused with py_cmd
INHERITED = ("quirks", "dtype", "device", "trace_pixels", "timeout_s")
TRACE_TOL_KEYS = ("trace_rtol", "trace_atol")
OPTION_KEYS = tuple(f for f in MetricOptions.__dataclass_fields__)
ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
DTYPES = ("float64", "float32")
DEFAULTS = {"quirks": DEFAULT_QUIRKS, "dtype": "float64", "device": "cpu", "trace_pixels": [], "timeout_s": 300}
PREPARED = "{prepared}"


class LineDict(dict):
    line = 0


def loader():
    import yaml

    class LineLoader(yaml.SafeLoader):
        """Safe loader that remembers the line of every mapping, for error messages."""

    def construct_mapping(loader, node, deep=False):
        mapping = LineDict(yaml.SafeLoader.construct_mapping(loader, node, deep=deep))
        mapping.line = node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def load_yaml(text: str, path):
    """The document of `text`; malformed YAML is a UsageError naming the line and column."""
    import yaml

    from nbparity.read.guarded_yaml import YAMLRefused
    from nbparity.read.guarded_yaml import load_yaml as guarded

    try:
        return guarded(text, loader())
    except YAMLRefused as exc:
        raise UsageError(f"matrix {path}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"matrix {where}: malformed YAML: {problem}") from None


def err(path, where: str, node, msg: str) -> UsageError:
    line = getattr(node, "line", 0)
    loc = f"{path}:{line}" if line else str(path)
    return UsageError(f"matrix {loc}: {where}: {msg}" if where else f"matrix {loc}: {msg}")


def split_args(path, where, node, value, key) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        raise err(path, where, node, f"{key!r} must be a string of arguments, got {type(value).__name__}")
    return value.split()


def check_keys(path, where, node, allowed):
    # `x-…` keys are free (YAML anchors for shared thresholds/args live there), all others are checked
    unknown = sorted(str(k) for k in set(node) - allowed if not str(k).startswith("x-"))
    if unknown:
        raise err(path, where, node, f"unknown key(s) {', '.join(map(repr, unknown))} "
                                     f"(allowed: {', '.join(sorted(allowed))})")


def check_name(path, where, node, value, what: str) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise err(path, where, node, f"{what} must be a string of letters, digits, '_', '.', '-', got {value!r}")
    return value


def _check_pixels(path, where, node, value):
    ok = isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                    for v in p) for p in value)
    if not ok:
        raise err(path, where, node, "'trace_pixels' must be a list of [slow, fast] pairs of "
                                     f"non-negative integers, got {value!r}")
    return [list(p) for p in value]


def _check_setting(path, where, node, key, v):
    if key == "trace_pixels":
        return _check_pixels(path, where, node, v)
    if key == "timeout_s":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise err(path, where, node, f"'timeout_s' must be a positive number, got {v!r}")
        return v
    if key == "dtype":
        if v not in DTYPES:
            raise err(path, where, node, f"'dtype' must be one of {', '.join(DTYPES)}, got {v!r}")
        return v
    if not isinstance(v, str) or not v:
        raise err(path, where, node, f"{key!r} must be a non-empty string, got {v!r}")
    if key == "quirks":
        _check_quirks(path, where, node, v)
    return v


def check_inherited(path, where, node, settings: dict) -> dict:
    """`settings` overlaid with the quirks/dtype/device/trace_pixels/timeout_s `node` gives."""
    out = {key: _check_setting(path, where, node, key, node[key]) for key in INHERITED if key in node}
    return {**settings, **out}


def _check_quirks(path, where, node, mode: str):
    try:
        from simulator.quirks import resolve
    except ImportError:  # simulator not importable yet: the grammar check happens at run time
        return
    try:
        resolve(mode)
    except ValueError as exc:
        raise err(path, where, node, f"quirks {mode!r}: {exc}") from None


def check_port(path, where, case, run, base: Path):
    """The run's external port from py_cmd / py_quirk_flags (run level overrides case level), or None."""
    from nbparity.port import PortSpec

    def pick(key):
        return run[key] if key in run else case.get(key)

    py_cmd, flags = pick("py_cmd"), pick("py_quirk_flags")
    node = run if ("py_cmd" in run or "py_quirk_flags" in run) else case
    if py_cmd is None:
        if flags is not None:
            raise err(path, where, node, "'py_quirk_flags' needs 'py_cmd' (the in-repo simulator takes 'quirks')")
        return None
    if not isinstance(py_cmd, str) or not py_cmd.strip():
        raise err(path, where, node, f"'py_cmd' must be a non-empty command string, got {py_cmd!r}")
    if flags is not None and not (isinstance(flags, dict) and all(isinstance(v, str) for v in flags.values())):
        raise err(path, where, node, "'py_quirk_flags' must be a mapping of quirk id to a string of flags, "
                                     f"got {flags!r}")
    given = [k for k in TORCH_ONLY if k in case or k in run]
    if given:
        raise err(path, where, node, f"{', '.join(repr(k) for k in given)} cannot be combined with 'py_cmd': "
                                     "the harness passes nothing to an external port; put the port's own "
                                     "options into py_cmd")
    try:
        return PortSpec.parse(py_cmd, dict(flags or {}), cwd=base)
    except UsageError as exc:
        msg = str(exc).replace("--py-quirk-flag", "py_quirk_flags").replace("--py-cmd", "py_cmd")
        raise err(path, where, node, msg) from None


def base_gates() -> tuple[dict, dict, dict]:
    """The default (thresholds, metric options, trace tolerances) a matrix starts from."""
    return Thresholds().to_dict(), MetricOptions().to_dict(), {k: None for k in TRACE_TOL_KEYS}


def split_thresholds(path, where, node, value, bases: tuple) -> tuple[dict, dict, dict]:
    """`bases` (thresholds, metric options, trace tolerances) overlaid with a 'thresholds:' mapping."""
    if value is None:
        return bases
    if not isinstance(value, dict):
        raise err(path, where, node, f"'thresholds' must be a mapping, got {type(value).__name__}")
    t, o, tt = (dict(b) for b in bases)
    for key, v in value.items():
        if isinstance(v, bool) or not (v is None or isinstance(v, (int, float))):
            raise err(path, where, value, f"threshold {key!r} must be a number or null, got {v!r}")
        if key in t:
            t[key] = v
        elif key in o:
            if v is None:
                raise err(path, where, value, f"metric option {key!r} cannot be null")
            o[key] = v
        elif key in TRACE_TOL_KEYS:
            tt[key] = v
        else:
            known = ", ".join([*Thresholds.names(), *OPTION_KEYS, *TRACE_TOL_KEYS])
            raise err(path, where, value, f"unknown threshold {key!r} (known: {known})")
    return t, o, tt


def absolutize(path, where, node, argv: list[str], base: Path) -> list[str]:
    """argv with its input files made absolute against the matrix's folder (missing ones: exit 2)."""
    from nbparity.cases import absolutize_inputs

    # tokens naming a prepared file are resolved when the matrix runs, not now
    held = {i: tok for i, tok in enumerate(argv) if PREPARED in tok}
    probe = list(argv)
    for i in held:
        if i > 0:
            probe[i - 1] = "-x-prepared"  # not an input flag: nothing to check before the prepare step
    try:
        out, _ = absolutize_inputs(probe, base)
    except UsageError as exc:
        raise err(path, where, node, str(exc)) from None
    for i, tok in held.items():
        out[i] = tok
        if i > 0:
            out[i - 1] = argv[i - 1]
    return out
