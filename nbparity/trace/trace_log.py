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

import numpy as np

from nbparity.schema import load_schema
from nbparity.trace.aliases import AliasLog
from nbparity.trace.columns import ValueColumns, expand, word_code
from nbparity.trace.fast_block import read_block
from nbparity.trace.lines import LineSource
from nbparity.trace.occurrences import assign_occurrences
from nbparity.trace.frames import TraceFrames, build_frames
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


class _Parser:
    """One pass over the lines; builds plain row lists, then the frames."""

    def __init__(self, schema, aliases: AliasLog, phi_only: bool):
        self.schema, self.aliases, self.phi_only = schema, aliases, phi_only
        self.pixel_specs = {s.key: s for s in schema.specs.values() if s.section == "pixel"}
        self.block_ab = {s.key for s in self.pixel_specs.values() if s.id and s.id[0] in "AB"}
        self.block_c = {s.key for s in self.pixel_specs.values() if s.id and s.id[0] == "C"}
        self.values = ValueColumns()
        self.plain_keys: dict[str, tuple] = {}   # printed key -> (our key, factor, numeric), for _PLAIN lines
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
        self.pixel_values(no, impl, key, *_split_parts(parts), factor, numeric)
        for it in items[1:]:   # `|a_m| = 1e-08` after the vector: a value of its own
            name, f2 = self.aliases.resolve("pixel", it.name)
            if not it.text:
                self.pixel_values(no, impl, name, *_split_parts(it.parts), f2 * self.unit_factor(no, name, it.unit),
                                  False)

    def plain_pixel_line(self, no: int, impl: str, key: str, body: str) -> None:
        """`TRACE_<impl>: key n n n` with plain numbers (see _PLAIN): what pixel_line makes of it, directly."""
        known = self.plain_keys.get(key)
        if known is None:
            name, factor = self.aliases.resolve("pixel", key)
            known = self.plain_keys[key] = (name, factor, self.numeric_key(name))
        toks = body.split(" ")
        self.pixel_values(no, impl, known[0], toks, list(map(float, toks)), known[1], known[2])

    def unit_factor(self, no: int, key: str, unit: str, section: str = "pixel") -> float:
        if not unit:
            return 1.0
        spec = self.schema.spec(key, section) if self.schema.has(key, section) else None
        factor, note = conversion(unit, spec.unit if spec is not None else None)
        if note:
            self.warn(f"line {no}: {key}: {note}")
        return factor

    def pixel_values(self, no: int, impl: str, key: str, toks: list, vals: list, factor: float,
                     numeric: bool) -> None:
        spec = self.pixel_specs.get(key)
        if spec is not None and len(toks) != spec.arity:
            self.warn(f"line {no}: {key} has {len(toks)} values, schema arity {spec.arity}")
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
        if numeric:
            for tok, val in zip(toks, vals):
                if val != val:
                    self.warn(f"line {no}: {key}: unparseable value {tok[:40]!r} (kept as NaN)")
        self.values.add_line(impl, "pixel", key, 0, 0, 0, -1, rep, block, occ_from, no, toks, vals, factor)

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
            self.values.add("", "setup", key, 0, 0, 0, -1, rep, -1, "once", no, parts, factor)

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
            self.values.add_line(impl, "phi", name, *occ, tic, rep, block, occ_from, no, [raw], [val], factor)

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
            self.values.add(impl, section, name, *occ, tic, rep, -1, occ_from, no, parts, factor)

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


def _split_parts(parts: list) -> tuple[list, list]:
    return [t for t, _ in parts], [v for _, v in parts]


# `TRACE_C: key 1 2.5e-3 -0`: the line shape of nearly every line of a big trace, read without the general
# layouts (it reads exactly as they would: a key, then plain numbers separated by single spaces).
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PLAIN = re.compile(rf"TRACE_([A-Za-z0-9]+): ([A-Za-z_][A-Za-z0-9_]*) ({_NUMBER}(?: {_NUMBER})*)")


def _one_line(p: _Parser, no: int, line: str) -> None:
    m = None if p.phi_only else _PLAIN.fullmatch(line)
    if m is not None and m[1] != "CONFIG":
        p.plain_pixel_line(no, m[1], m[2], m[3])
        return
    for segment in line.split("\r"):  # progress meters that return the carriage
        if segment.strip():
            p.line(no, segment)


def _parse_lines(p: _Parser, source: LineSource, fast: bool = True) -> str | None:
    """Feed every line to the parser (fast: whole blocks over columns, nbparity/trace/fast_block.py); returns
    the truncation reason when the last line is a cut record."""
    for first, lines, data, whole in source.blocks():
        if whole and fast:
            read_block(p, first, lines, data, _one_line)
            continue
        for no, line in enumerate(lines, first):
            if not whole and line.strip().startswith("TRACE_"):
                p.other.append((no, line))
                return (f"line {no} is cut mid-record (no end-of-line); it is not compared, "
                        "the values before it are")
            _one_line(p, no, line)
    return None


def read_trace_log(text, source: str | None = None, *, phi_only: bool = False,
                   format_name: str = "trace-log", fast: bool = True) -> TraceFrames:
    """Parse trace text (str, bytes or an open binary file, read line by line) into TraceFrames (never
    raises on content). phi_only: read only the per-φ lines. fast=False: every line one at a time (the
    reference the block reader is tested against)."""
    lines = LineSource(text)
    p = _Parser(load_schema(), AliasLog(format_name), phi_only)
    truncation = _parse_lines(p, lines, fast)
    warnings = [w for w in (lines.decode_warning, truncation and f"truncated: {truncation}") if w]
    p.warnings[:0] = warnings
    table = p.values.line_table()
    own = p.values.code(_own_impl(table))   # `TRACE:` / `DETECTOR_*` lines are the log's own
    table["impl"][table["section"] == word_code(table, "setup")] = own
    occ_source = assign_occurrences(table, p.config, p.warnings)
    return build_frames(expand(table, p.values), p.config, p.other, truncated=truncation is not None,
                        truncation=truncation, binary=lines.binary, warnings=p.warnings,
                        occurrence_source=occ_source, source=source, n_lines=lines.n_lines,
                        format=format_name, aliases=p.aliases.applied())


def _own_impl(table: dict) -> str:
    """The implementation most values of the pixel and per-φ lines belong to ('C' when there are none)."""
    words = list(table["vocab"])
    mine = (table["section"] == word_code(table, "pixel")) | (table["section"] == word_code(table, "phi"))
    impl = table["impl"][mine]
    values = np.bincount(impl, table["count"][mine], len(words)).tolist()
    counts = {words[c]: values[c] for c in np.flatnonzero(np.bincount(impl, minlength=len(words))).tolist()}
    return max(sorted(counts), key=counts.get) if counts else "C"
