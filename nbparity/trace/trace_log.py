"""Reader for TRACE_* line logs: our two sides, instrumented nanoBragg builds (`TRACE_C: key v…`,
`TRACE_C:key=v1 v2`, `key=[a b c; …]`, `angles_rad=rotx:… roty:…`, text values), per-φ lines
(`TRACE_C_PHI k=v …`), environment-gated extra prefixes (`TRACE_C_TAP5:`, `TRACE_C_TAP5_HKL:`,
`TRACE_C_SOURCE2:`, `TRACE_PY_…`: each its own section), interleaved with any other output.

    read_trace_log(text, source=None, *, phi_only=False, format_name="trace-log") -> TraceFrames

Occurrences. Block A/B keys get the block index k = number of times block A's first key (normally
`pix0_vector_meters`) has been seen, minus one; k becomes (layer, subS, subF) with the C loop nesting
(layer outer, then subS, then subF) using the config echo's oversample / detector_thicksteps. Without an
echo, the layer/subS/subF fields of the block's per-φ lines are used; without those, (0, 0, k) and a
warning. Block C keys (printed once per pixel) get (0, 0, 0). Per-φ lines use their own fields when
printed, else the surrounding block's occurrence. Extra-section lines use their own index fields
(`phi_tic=`, `subpixel=S F`) when printed, else (0, 0, 0) with a repeat count.

Truncation: only a final line that starts like a trace record and has no end-of-line is evidence of a
cut; that line is kept aside (not compared) and everything before it is read. A trace that simply stops
early (a scaling-factor subset, no floatimage_accumulated) is a partial trace, not a truncated one.
"""

from __future__ import annotations

import re

from nbparity.schema import load_schema
from nbparity.trace.aliases import AliasLog
from nbparity.trace.frames import TraceFrames, build_frames, decompose
from nbparity.trace.layouts import read_body
from nbparity.trace.numbers import is_placeholder, is_template, labelled_number, number
from nbparity.trace.setup_lines import SetupReader
from nbparity.trace.units import conversion

# TRACE_<impl>[_FAMILY] followed by ':' or a space. `TRACE:` does not match; `TRACE_CONFIG:` banners
# match with impl CONFIG and are kept aside.
_LINE = re.compile(r"^TRACE_(?P<impl>[A-Za-z0-9]+)(?P<fam>_[A-Za-z0-9_]+?)?(?:[: ]|$)(?P<rest>.*)$")
_MIDLINE = re.compile(r"TRACE_[A-Za-z0-9]+(?:_[A-Za-z0-9_]+?)?[: ]")
_SPLIT = re.compile(r"[\s;,\[\]]+")
_PHI_INDEX = ("phi_tic", "layer", "subS", "subF")
_MAX_WARNINGS = 200


def decode(text, warnings: list[str]) -> tuple[str, bool]:
    """bytes/str -> (text, has NUL bytes); undecodable bytes become U+FFFD with a warning."""
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

    def __init__(self, schema, aliases: AliasLog, phi_only: bool):
        self.schema, self.aliases, self.phi_only = schema, aliases, phi_only
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
        self.seen_extra: dict[tuple, int] = {}
        self.setup = SetupReader()
        self.seen_setup: dict[str, int] = {}

    def warn(self, msg: str) -> None:
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(msg)
        elif len(self.warnings) == _MAX_WARNINGS:
            self.warnings.append("… further warnings suppressed")

    def aside(self, no: int, segment: str, why: str | None = None) -> None:
        if why:
            self.warn(f"line {no}: {why}")
        self.other.append((no, segment))

    # --- families -----------------------------------------------------------------------------------
    def line(self, no: int, segment: str) -> None:
        stripped = segment.strip()
        if not self.phi_only and (stripped.startswith("TRACE:") or stripped.startswith("DETECTOR_")):
            self.setup_line(no, segment)
            return
        m = _LINE.match(stripped)
        if m is None or m["impl"] == "CONFIG":
            mid = _MIDLINE.search(stripped) if m is None else None
            if mid is not None and mid.start() > 0 and not stripped[:mid.start()].isspace():
                # e.g. nanoBragg's "WARNING: further warnings will not be printed! " has no newline, so
                # the next trace line is glued to it: keep the text aside, parse the trace line.
                self.warn(f"line {no}: trace line glued to preceding text {stripped[:mid.start()][:60]!r}")
                self.other.append((no, stripped[:mid.start()]))
                self.line(no, stripped[mid.start():])
                return
            self.other.append((no, segment))
            return
        impl, fam, rest = m["impl"], (m["fam"] or ""), m["rest"].strip()
        if not rest:
            self.aside(no, segment, None if fam else "trace prefix without content")
        elif fam == "_CONFIG":
            self.config_line(no, impl, rest) if not self.phi_only else self.aside(no, segment)
        elif fam == "_PHI":
            self.phi_line(no, impl, rest, segment)
        elif self.phi_only:
            self.other.append((no, segment))
        elif fam:
            self.extra_line(no, impl, fam[1:].lower(), rest, segment)
        else:
            self.pixel_line(no, impl, rest, segment)

    @staticmethod
    def key_body(rest: str) -> tuple[str, str]:
        head = rest.split(None, 1)[0]
        if "=" in head:  # TRACE_C:key=v1 v2 v3 / key=[a b c; …] / angles_rad=rotx:… roty:…
            key, body = rest.split("=", 1)
            return key.strip(), body.strip()
        key, _, body = rest.partition(" ")
        return key, body.strip()

    def tokens(self, key: str, body: str, numeric: bool) -> list[tuple[str, float]]:
        """(raw, value) per component. A key our schema does not declare numeric whose body is not all
        numbers is one text value (compared as text); a numeric key keeps its tokens (an unreadable one
        stays NaN and fails)."""
        toks = [t for t in _SPLIT.split(body) if t]
        vals = [labelled_number(t) for t in toks]
        if not numeric and any(v is None for v in vals):
            return [(body, float("nan"))]
        return [(t, float("nan") if v is None else v) for t, v in zip(toks, vals)]

    def numeric_key(self, key: str, section: str = "pixel") -> bool:
        spec = self.pixel_specs.get(key) if section == "pixel" else None
        if spec is None and self.schema.has(key, section):
            spec = self.schema.spec(key, section)
        return spec is not None and spec.type != "str"

    def pixel_line(self, no: int, impl: str, rest: str, segment: str) -> None:
        key, body = self.key_body(rest)
        if not key or not body:
            self.aside(no, segment, f"no value for trace key {key or '?'!r}, kept aside")
            return
        if is_placeholder(body) or is_template(body):
            self.aside(no, segment, f"{key}: placeholder {body[:30]!r}, key treated as not printed")
            return
        key, factor = self.aliases.resolve("pixel", key)
        if "[" in body and "]" not in body:
            self.warn(f"line {no}: {key}: matrix without closing ']'")
        numeric = self.numeric_key(key)
        items = read_body(body)
        if items[0].text:   # not numbers: one text value, or (a numeric key) its tokens, unreadable ones NaN
            parts = self.tokens(key, body, numeric)
        else:
            parts = items[0].parts
            factor *= self.unit_factor(no, key, items[0].unit)
        self.pixel_values(no, impl, key, parts, factor, numeric)
        for it in items[1:]:   # `|a_m| = 1e-08` after the vector: a value of its own
            name, f2 = self.aliases.resolve("pixel", it.name)
            if not it.text:
                self.pixel_values(no, impl, name, it.parts, f2 * self.unit_factor(no, name, it.unit), False)

    def unit_factor(self, no: int, key: str, unit: str, section: str = "pixel") -> float:
        if not unit:
            return 1.0
        spec = self.schema.spec(key, section) if self.schema.has(key, section) else None
        factor, note = conversion(unit, spec.unit if spec is not None else None)
        if note:
            self.warn(f"line {no}: {key}: {note}")
        return factor

    def pixel_values(self, no: int, impl: str, key: str, parts: list, factor: float, numeric: bool) -> None:
        spec = self.pixel_specs.get(key)
        if spec is not None and len(parts) != spec.arity:
            self.warn(f"line {no}: {key} has {len(parts)} values, schema arity {spec.arity}")
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
        for comp, (tok, val) in enumerate(parts):
            if val != val and numeric:
                self.warn(f"line {no}: {key}: unparseable value {tok[:40]!r} (kept as NaN)")
            self.values.append([impl, "pixel", key, comp, 0, 0, 0, -1, rep, block, occ_from, val * factor, tok, no])

    def setup_line(self, no: int, segment: str) -> None:
        """`TRACE:` free text and `DETECTOR_*` lines -> section 'setup' (nbparity/trace/setup_lines.py)."""
        stripped = segment.strip()
        if stripped.startswith("TRACE:"):
            got = self.setup.line(stripped[len("TRACE:"):].rstrip())
        else:
            got = self.setup.detector(stripped)
        if not got:
            self.other.append((no, segment))
            return
        for key, parts, unit in got:
            factor = self.unit_factor(no, key, unit, "setup")
            rep = self.seen_setup.get(key, 0)
            self.seen_setup[key] = rep + 1
            for comp, (tok, val) in enumerate(parts):
                self.values.append(["", "setup", key, comp, 0, 0, 0, -1, rep, -1, "once", val * factor, tok, no])

    def fields(self, no: int, rest: str, section: str):
        """`k=v k=v …` (a value may span tokens: `subpixel=0 0 hkl_frac=a b c`) -> [(key, factor, [tokens])],
        names mapped through the declared aliases of this source."""
        out: list[tuple[str, float, list[str]]] = []
        for tok in rest.split():
            name, eq, raw = tok.partition("=")
            if eq and name:
                out.append((*self.aliases.resolve(section, name), [raw] if raw else []))
            elif out:
                out[-1][2].append(tok)
            else:
                self.warn(f"line {no}: token without '=': {tok[:40]!r}")
        return [o for o in out if o[2]]

    def phi_line(self, no: int, impl: str, rest: str, segment: str) -> None:
        fields, idx = [], {}
        pairs = self.fields(no, rest, "phi")
        if any(is_template(t) for _, _, toks in pairs for t in toks):
            self.aside(no, segment, "per-φ line with <placeholders> (printed instructions), kept aside")
            return
        for name, factor, toks in pairs:
            raw = toks[0]
            if name in _PHI_INDEX:
                val = number(raw)
                if val is None or val != val or val != int(val):
                    self.warn(f"line {no}: per-φ index {name}={raw[:20]!r} is not an integer")
                else:
                    idx[name] = int(val)
            else:
                fields.append((name, factor, " ".join(toks)))
        if not fields:
            self.aside(no, segment, "per-φ line without values, kept aside")
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
        for name, factor, raw in fields:
            rep = self.seen_phi.get((impl, where, tic, name), 0)
            self.seen_phi[(impl, where, tic, name)] = rep + 1
            if rep:
                self.warn(f"line {no}: per-φ {name} at phi_tic {tic} repeated (kept as repeat {rep})")
            val = number(raw)
            if val is None:
                if self.numeric_key(name, "phi"):
                    self.warn(f"line {no}: {name}: unparseable value {raw[:40]!r} (kept as NaN)")
                val = float("nan")
            self.values.append([impl, "phi", name, 0, *occ, tic, rep, block, occ_from, val * factor, raw, no])

    def extra_line(self, no: int, impl: str, section: str, rest: str, segment: str) -> None:
        """An extra prefix (TAP5, TAP5_HKL, SOURCE2, …): its own section, its own index fields."""
        head = rest.split(None, 1)[0]
        if "=" in head and not head.startswith("["):
            pairs = self.fields(no, rest, section)
        elif head[:1] in "[(" and "=" not in rest:   # `TRACE_PY_TRICUBIC_H_COORDS: [1, 2, 3, 4]`: the prefix names it
            pairs = [(section, 1.0, [rest])]
        else:
            key, body = self.key_body(rest)
            key, factor = self.aliases.resolve(section, key) if key else (key, 1.0)
            pairs = [(key, factor, [body])] if key and body else []
        occ, tic, indexed = (0, 0, 0), -1, False
        kept = []
        for name, factor, toks in pairs:
            nums = [number(t) for t in toks]
            if name == "phi_tic" and len(nums) == 1 and nums[0] is not None:
                tic, indexed = int(nums[0]), True
            elif name == "subpixel" and len(nums) == 2 and None not in nums:
                occ, indexed = (0, int(nums[0]), int(nums[1])), True
            else:
                kept.append((name, factor, " ".join(toks)))
        if not kept:
            self.aside(no, segment, f"{section} line without values, kept aside")
            return
        occ_from = "fields" if indexed else "once"
        for name, factor, body in kept:
            ident = (impl, section, name, occ, tic)
            rep = self.seen_extra.get(ident, 0)
            self.seen_extra[ident] = rep + 1
            items = read_body(body)
            parts = self.tokens(name, body, False) if items[0].text else items[0].parts
            factor *= 1.0 if items[0].text else self.unit_factor(no, name, items[0].unit, section)
            for comp, (tok, val) in enumerate(parts):
                self.values.append([impl, section, name, comp, *occ, tic, rep, -1, occ_from, val * factor, tok, no])

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
                val = number(part)
                if val is None:
                    val = float("nan")
                    if not (is_str or part.isidentifier()):
                        self.warn(f"line {no}: config {key}: unparseable value {part[:40]!r}")
                self.config.append([impl, key, comp, rep, val, part, no])


def _block_map(p: _Parser, config_rows: list, warnings: list[str]) -> tuple[dict[int, tuple], str]:
    """block index -> (layer, subS, subF), and how it was obtained."""
    blocks = sorted({r[9] for r in p.values if r[10] == "block"})
    if not blocks:
        return {}, "single"

    def echoed(key):
        vals = [r[4] for r in config_rows if r[1] == key and r[2] == 0 and r[4] == r[4]]
        return int(vals[0]) if vals else None

    os_, nt = echoed("oversample"), echoed("detector_thicksteps")
    if os_ is not None:
        nt = nt or 1
        if blocks[-1] >= os_ * os_ * nt:
            warnings.append(f"{blocks[-1] + 1} sub-pixel blocks but the config echo implies {os_ * os_ * nt}")
        return {k: decompose(k, os_, nt) for k in blocks}, "config"
    seen = {}
    for r in p.values:
        if r[10] == "fields" and r[1] == "phi" and r[9] >= 0:
            seen.setdefault(r[9], (r[4], r[5], r[6]))
    if seen:
        os_ = max(max(o[1], o[2]) for o in seen.values()) + 1
        mapping = {k: seen.get(k, decompose(k, os_, 1)) for k in blocks}
        if any(k not in seen for k in blocks):
            warnings.append("some blocks have no per-φ occurrence fields; their occurrence was inferred")
        return mapping, "phi-fields"
    if len(blocks) == 1 and blocks[0] == 0:
        return {0: (0, 0, 0)}, "single"
    warnings.append("no config echo and no per-φ occurrence fields: block k is reported as occurrence (0, 0, k)")
    return {k: (0, 0, k) for k in blocks}, "fallback"


def read_trace_log(text, source: str | None = None, *, phi_only: bool = False,
                   format_name: str = "trace-log") -> TraceFrames:
    """Parse trace text into TraceFrames (never raises on content). phi_only: read only the per-φ lines."""
    warnings: list[str] = []
    decoded, binary = decode(text, warnings)
    p = _Parser(load_schema(), AliasLog(format_name), phi_only)
    p.warnings = warnings
    lines = decoded.split("\n")
    truncation = None
    last = lines[-1].strip()
    if last and last.startswith("TRACE_") and not decoded.endswith("\n"):
        truncation = (f"line {len(lines)} is cut mid-record (no end-of-line); it is not compared, "
                      "the values before it are")
        warnings.append(f"truncated: {truncation}")
    for no, line in enumerate(lines, start=1):
        if truncation and no == len(lines):
            p.other.append((no, line))
            break
        for segment in line.split("\r"):  # progress meters that return the carriage
            if segment.strip():
                p.line(no, segment)

    impls = [r[0] for r in p.values if r[1] in ("pixel", "phi")]
    own = max(set(impls), key=impls.count) if impls else "C"
    for r in p.values:   # `TRACE:` / `DETECTOR_*` carry no implementation: they are the log's own
        if r[1] == "setup":
            r[0] = own
    mapping, occ_source = _block_map(p, p.config, warnings)
    for r in p.values:
        if r[10] == "block":
            r[4], r[5], r[6] = mapping.get(r[9], (0, 0, r[9]))
    return build_frames(p.values, p.config, p.other, truncated=truncation is not None, truncation=truncation,
                        binary=binary, warnings=warnings, occurrence_source=occ_source, source=source,
                        n_lines=len(lines), format=format_name, aliases=p.aliases.applied())
