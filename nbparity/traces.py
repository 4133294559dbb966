"""Parse any nanoBragg trace text (C reference, torch port, other instrumented builds) into pandas frames.

Public API::

    parse_trace(text: str | bytes, source: str | None = None) -> TraceFrames
    load_trace(path, label="trace", *, allow_truncated=False) -> TraceFrames   # raises UsageError (exit 2)

TraceFrames fields:
    values   DataFrame, one row per printed value (per-pixel and per-φ lines), columns VALUE_COLUMNS:
             impl (str: 'C', 'PY' or another prefix), section ('pixel' | 'phi'), key, component (int, 0 for
             scalars), layer, subS, subF (int occurrence), phi_tic (int, -1 off the φ lines),
             repeat (int, 0 unless the same key repeats inside one occurrence: never "last value wins"),
             block (int, the block index counted from repeats of block A's first key; -1 for block C),
             occ_from ('block' | 'fields' | 'once': where the occurrence came from),
             value (float; NaN for an unparseable token), raw (the token as printed), line (1-based)
    config   DataFrame of the *_CONFIG echo, columns CONFIG_COLUMNS: impl, key, component, repeat,
             value (float; NaN for words), raw (the word / token), line
    other    DataFrame of lines kept aside, not compared: line, text
    truncated (bool) and truncation (str reason or None); binary (bool: NUL bytes); warnings (list[str]);
    occurrence_source: 'config' | 'phi-fields' | 'fallback' | 'single' (how blocks became (layer,subS,subF))
    source, n_lines

Occurrences. Block A/B keys get the block index k = number of times block A's first key (normally
`pix0_vector_meters`) has been seen, minus one; k becomes (layer, subS, subF) with the C loop nesting
(layer outer, then subS, then subF) using the config echo's oversample / detector_thicksteps. Without an
echo, the layer/subS/subF fields of the block's per-φ lines are used; without those, (0, 0, k) and a
warning. Block C keys (printed once per pixel) get (0, 0, 0). Per-φ lines use their own fields when
printed, else the surrounding block's occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from nbparity.errors import UsageError
from nbparity.schema import load_schema

VALUE_COLUMNS = ["impl", "section", "key", "component", "layer", "subS", "subF", "phi_tic", "repeat",
                 "block", "occ_from", "value", "raw", "line"]
CONFIG_COLUMNS = ["impl", "key", "component", "repeat", "value", "raw", "line"]
OTHER_COLUMNS = ["line", "text"]

# TRACE_<impl>[_PHI|_CONFIG] followed by ':' or a space. `TRACE:` and `TRACE_C_TAP5…` do not match;
# `TRACE_CONFIG:` banners match with impl CONFIG and are excluded below.
_LINE = re.compile(r"^TRACE_(?P<impl>[A-Za-z0-9]+)(?P<fam>_PHI|_CONFIG)?(?:[: ]|$)(?P<rest>.*)$")
_MIDLINE = re.compile(r"TRACE_[A-Za-z0-9]+(?:_PHI|_CONFIG)?[: ]")
_SPLIT = re.compile(r"[\s;,\[\]]+")
_PHI_INDEX = ("phi_tic", "layer", "subS", "subF")
_MAX_WARNINGS = 200


@dataclass
class TraceFrames:
    values: "object"
    config: "object"
    other: "object"
    truncated: bool = False
    truncation: str | None = None
    binary: bool = False
    warnings: list[str] = field(default_factory=list)
    occurrence_source: str = "single"
    source: str | None = None
    n_lines: int = 0

    @property
    def label(self) -> str:
        return self.source or "trace"

    def impls(self) -> list[str]:
        return sorted(set(self.values["impl"]) | set(self.config["impl"]))

    def config_value(self, key: str, component: int = 0):
        """The echoed config value (float, or the word for strings), or None when not echoed."""
        rows = self.config[(self.config["key"] == key) & (self.config["component"] == component)]
        if rows.empty:
            return None
        row = rows.iloc[0]
        return row["raw"] if row["value"] != row["value"] else float(row["value"])

    def remap_blocks(self, oversample: int, thicksteps: int) -> "TraceFrames":
        """Recompute (layer, subS, subF) of block-indexed rows with a known oversample / thicksteps
        (used when this trace has no config echo but the other side has one)."""
        values = self.values.copy()
        mask = values["occ_from"] == "block"
        occ = [_decompose(int(k), oversample, thicksteps) for k in values.loc[mask, "block"]]
        if occ:
            values.loc[mask, ["layer", "subS", "subF"]] = occ
        return replace(self, values=values, occurrence_source="config")


def _decompose(k: int, oversample: int, thicksteps: int) -> tuple[int, int, int]:
    # C loop nesting: layer (outer) -> subS -> subF (inner)
    os_ = max(int(oversample), 1)
    return (k // (os_ * os_), (k // os_) % os_, k % os_)


def _number(token: str) -> float | None:
    """C printf output -> float: %g, %d, -0, inf, -inf, nan, -nan, hex floats. None when unparseable."""
    if not token.isascii() or "_" in token:  # float() would also take "５０" or "1_000"; printf never prints them
        return None
    try:
        return float(token)
    except ValueError:
        pass
    if not token.lstrip("+-").lower().startswith("0x"):  # fromhex("abc") would be 2748
        return None
    try:
        return float.fromhex(token)
    except ValueError:
        return None


def _decode(text: str | bytes, warnings: list[str]) -> tuple[str, bool]:
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        binary = b"\x00" in data
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            decoded = data.decode("utf-8", errors="replace")
            warnings.append(f"invalid UTF-8 (first at byte {exc.start}); undecodable bytes replaced by U+FFFD")
        return decoded, binary
    return str(text), "\x00" in text


class _Parser:
    """One pass over the lines; builds plain row lists, then the frames."""

    def __init__(self, schema):
        self.schema = schema
        self.pixel_specs = {s.key: s for s in schema.specs.values() if s.section == "pixel"}
        self.block_ab = {s.key for s in self.pixel_specs.values() if s.id and s.id[0] in "AB"}
        self.block_c = {s.key for s in self.pixel_specs.values() if s.id and s.id[0] == "C"}
        self.values: list[list] = []
        self.config: list[list] = []
        self.other: list[tuple[int, str]] = []
        self.warnings: list[str] = []
        self.block = -1  # index of the current block A/B occurrence
        self.start_key: str | None = None  # block A's first key as this build prints it
        self.seen_in_block: dict[tuple, int] = {}
        self.seen_once: dict[tuple, int] = {}
        self.seen_phi: dict[tuple, int] = {}
        self.seen_config: dict[tuple, int] = {}

    def warn(self, msg: str) -> None:
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(msg)
        elif len(self.warnings) == _MAX_WARNINGS:
            self.warnings.append("… further warnings suppressed")

    # --- families -----------------------------------------------------------------------------------
    def line(self, no: int, segment: str) -> None:
        stripped = segment.strip()
        m = _LINE.match(stripped)
        if m is None or m["impl"] == "CONFIG":
            mid = _MIDLINE.search(stripped) if m is None else None
            if mid is not None:
                # e.g. nanoBragg's "WARNING: further warnings will not be printed! " has no newline, so
                # the next trace line is glued to it: keep the text aside, parse the trace line.
                self.warn(f"line {no}: trace line glued to preceding text {stripped[:mid.start()][:60]!r}")
                self.other.append((no, stripped[:mid.start()]))
                self.line(no, stripped[mid.start():])
                return
            self.other.append((no, segment))
            return
        impl, fam, rest = m["impl"], m["fam"], m["rest"].strip()
        if not rest:
            self.warn(f"line {no}: trace prefix without content")
            self.other.append((no, segment))
        elif fam == "_CONFIG":
            self.config_line(no, impl, rest)
        elif fam == "_PHI":
            self.phi_line(no, impl, rest, segment)
        else:
            self.pixel_line(no, impl, rest, segment)

    def pixel_line(self, no: int, impl: str, rest: str, segment: str) -> None:
        head = rest.split(None, 1)[0]
        if "=" in head:  # TRACE_C:key=v1 v2 v3 / key=[a b c; …] / angles_rad=rotx:… roty:…
            key, body = rest.split("=", 1)
            key = key.strip()
        else:
            key, _, body = rest.partition(" ")
        tokens = [t for t in _SPLIT.split(body.strip()) if t]
        if not key or not tokens:
            self.warn(f"line {no}: no value for trace key {key or '?'!r}, kept aside")
            self.other.append((no, segment))
            return
        if "[" in body and "]" not in body:
            self.warn(f"line {no}: {key}: matrix without closing ']'")
        spec = self.pixel_specs.get(key)
        if spec is not None and len(tokens) != spec.arity:
            self.warn(f"line {no}: {key} has {len(tokens)} values, schema arity {spec.arity}")
        if self.start_key is None and key in self.block_ab:
            self.start_key = key
        if key == self.start_key:
            self.block += 1
            self.seen_in_block = {}
        if key in self.block_c:
            block, occ_from = -1, "once"
            rep = self.seen_once.get((impl, key), 0)
            self.seen_once[(impl, key)] = rep + 1
        else:
            block, occ_from = max(self.block, 0), "block"
            rep = self.seen_in_block.get((impl, key), 0)
            self.seen_in_block[(impl, key)] = rep + 1
        if rep:
            where = "the pixel" if block < 0 else f"block {block}"
            self.warn(f"line {no}: {key} repeated within {where} (kept as repeat {rep})")
        for comp, tok in enumerate(tokens):
            self.values.append([impl, "pixel", key, comp, 0, 0, 0, -1, rep, block, occ_from,
                                self.token_value(no, key, tok), tok, no])

    def token_value(self, no: int, key: str, tok: str) -> float:
        val = _number(tok)
        if val is None and ":" in tok:  # rotx:0.1 style
            val = _number(tok.rsplit(":", 1)[1])
        if val is None:
            self.warn(f"line {no}: {key}: unparseable value {tok[:40]!r} (kept as NaN)")
            return float("nan")
        return val

    def phi_line(self, no: int, impl: str, rest: str, segment: str) -> None:
        fields, idx = [], {}
        for tok in rest.split():
            name, eq, raw = tok.partition("=")
            if not eq or not name:
                self.warn(f"line {no}: per-φ token without '=': {tok[:40]!r}")
                continue
            if name in _PHI_INDEX:
                val = _number(raw)
                if val is None or val != val or val != int(val):
                    self.warn(f"line {no}: per-φ index {name}={raw[:20]!r} is not an integer")
                else:
                    idx[name] = int(val)
            else:
                fields.append((name, raw))
        if not fields:
            self.warn(f"line {no}: per-φ line without values, kept aside")
            self.other.append((no, segment))
            return
        if "phi_tic" not in idx:
            self.warn(f"line {no}: per-φ line without phi_tic (kept with phi_tic -1)")
        tic = idx.get("phi_tic", -1)
        block = max(self.block, 0)
        if all(k in idx for k in ("layer", "subS", "subF")):
            occ, occ_from = (idx["layer"], idx["subS"], idx["subF"]), "fields"
        else:
            occ, occ_from = (0, 0, 0), "block"
        where = occ if occ_from == "fields" else ("block", block)
        for name, raw in fields:
            rep = self.seen_phi.get((impl, where, tic, name), 0)
            self.seen_phi[(impl, where, tic, name)] = rep + 1
            if rep:
                self.warn(f"line {no}: per-φ {name} at phi_tic {tic} repeated (kept as repeat {rep})")
            self.values.append([impl, "phi", name, 0, *occ, tic, rep, block, occ_from,
                                self.token_value(no, name, raw), raw, no])

    def config_line(self, no: int, impl: str, rest: str) -> None:
        for tok in rest.split():
            key, eq, body = tok.partition("=")
            if not eq or not key:
                self.warn(f"line {no}: config token without '=': {tok[:40]!r}")
                continue
            rep = self.seen_config.get((impl, key), 0)
            self.seen_config[(impl, key)] = rep + 1
            if rep:
                self.warn(f"line {no}: config key {key} echoed again (kept as repeat {rep})")
            is_str = self.schema.has(key, "config") and self.schema.spec(key, "config").type == "str"
            for comp, part in enumerate(body.split(",")):
                val = _number(part)
                if val is None:
                    val = float("nan")
                    if not (is_str or part.isidentifier()):
                        self.warn(f"line {no}: config {key}: unparseable value {part[:40]!r}")
                self.config.append([impl, key, comp, rep, val, part, no])


def _block_map(p: _Parser, config, warnings: list[str]) -> tuple[dict[int, tuple], str]:
    """block index -> (layer, subS, subF), and how it was obtained."""
    blocks = sorted({r[9] for r in p.values if r[10] == "block"})
    if not blocks:
        return {}, "single"

    def echoed(key):
        rows = config[(config["key"] == key) & (config["component"] == 0)]
        vals = [v for v in rows["value"] if v == v]
        return int(vals[0]) if vals else None

    os_, nt = echoed("oversample"), echoed("detector_thicksteps")
    if os_ is not None:
        nt = nt or 1
        if blocks[-1] >= os_ * os_ * nt:
            warnings.append(f"{blocks[-1] + 1} sub-pixel blocks but the config echo implies {os_ * os_ * nt}")
        return {k: _decompose(k, os_, nt) for k in blocks}, "config"
    seen = {}
    for r in p.values:
        if r[10] == "fields" and r[9] >= 0:
            seen.setdefault(r[9], (r[4], r[5], r[6]))
    if seen:
        os_ = max(max(o[1], o[2]) for o in seen.values()) + 1
        mapping = {k: seen.get(k, _decompose(k, os_, 1)) for k in blocks}
        if any(k not in seen for k in blocks):
            warnings.append("some blocks have no per-φ occurrence fields; their occurrence was inferred")
        return mapping, "phi-fields"
    if len(blocks) == 1 and blocks[0] == 0:
        return {0: (0, 0, 0)}, "single"
    warnings.append("no config echo and no per-φ occurrence fields: block k is reported as occurrence (0, 0, k)")
    return {k: (0, 0, k) for k in blocks}, "fallback"


def parse_trace(text: str | bytes, source: str | None = None) -> TraceFrames:
    """Parse trace text of any family/legacy variant into TraceFrames (never raises on content)."""
    import pandas as pd

    warnings: list[str] = []
    decoded, binary = _decode(text, warnings)
    p = _Parser(load_schema())
    p.warnings = warnings
    lines = decoded.split("\n")
    for no, line in enumerate(lines, start=1):
        for segment in line.split("\r"):  # progress meters that return the carriage
            if segment.strip():
                p.line(no, segment)

    config = pd.DataFrame(p.config, columns=CONFIG_COLUMNS).astype(
        {"component": "int64", "repeat": "int64", "value": "float64", "line": "int64"})
    mapping, occ_source = _block_map(p, config, warnings)
    for r in p.values:
        if r[10] == "block":
            r[4], r[5], r[6] = mapping.get(r[9], (0, 0, r[9]))
    values = pd.DataFrame(p.values, columns=VALUE_COLUMNS).astype(
        {"component": "int64", "layer": "int64", "subS": "int64", "subF": "int64", "phi_tic": "int64",
         "repeat": "int64", "block": "int64", "value": "float64", "line": "int64"})
    other = pd.DataFrame(p.other, columns=OTHER_COLUMNS).astype({"line": "int64"})

    truncation = None
    if decoded and not decoded.endswith("\n") and lines[-1].strip():
        truncation = f"the final line {len(lines)} has no end-of-line (truncated output?)"
    elif (values["section"] == "pixel").any() and "floatimage_accumulated" not in set(values["key"]):
        last = int(values["line"].max())
        truncation = f"the trace ends (last value at line {last}) before floatimage_accumulated"
    if truncation:
        warnings.append(f"truncated: {truncation}")
    return TraceFrames(values=values, config=config, other=other, truncated=truncation is not None,
                       truncation=truncation, binary=binary, warnings=warnings,
                       occurrence_source=occ_source, source=source, n_lines=len(lines))


def load_trace(path, label: str = "trace", *, allow_truncated: bool = False) -> TraceFrames:
    """Read and parse a trace log; missing, unreadable, empty, binary or truncated files raise UsageError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{label} log {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{label} log {path}: is a directory") from None
    except OSError as exc:
        raise UsageError(f"{label} log {path}: cannot read ({exc.strerror or exc})") from None
    if not data.strip():
        raise UsageError(f"{label} log {path}: empty file")
    frames = parse_trace(data, source=str(path))
    if frames.binary:
        raise UsageError(f"{label} log {path}: binary data (NUL bytes), not a trace log")
    if frames.truncated and not allow_truncated:
        raise UsageError(f"{label} log {path}: truncated: {frames.truncation}")
    return frames
