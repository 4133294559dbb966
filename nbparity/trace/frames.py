"""TraceFrames: what every trace reader returns (one frame layout whatever the source format).

TraceFrames fields:
    values   DataFrame, one row per printed value, columns VALUE_COLUMNS:
             impl (str: 'C', 'PY' or another prefix), section ('pixel' | 'phi' | an extra prefix's own
             section such as 'tap5', 'tap5_hkl', 'source2'), key, component (int, 0 for scalars and text),
             layer, subS, subF (int occurrence), phi_tic (int, -1 off the φ lines),
             repeat (int, 0 unless the same key repeats inside one occurrence: never "last value wins"),
             block (int, the block index counted from repeats of block A's first key; -1 for block C),
             occ_from ('block' | 'fields' | 'once': where the occurrence came from),
             value (float; NaN for text or an unparseable token), raw (the token or text as printed),
             line (1-based line, or record number for JSON),
             digits (int: significant digits the value was printed with, read from every token its key
             printed: %g's 6, %.17g's 17, or those a `%.6f` leaves; 0 for text and for zero under %f),
             half_unit (float: half a unit of the last printed digit, in the value's unit; 0 when exact)
    config   DataFrame of the *_CONFIG echo, columns CONFIG_COLUMNS: impl, key, component, repeat,
             value (float; NaN for words), raw (the word / token), line
    other    DataFrame of lines kept aside, not compared: line, text
    truncated (bool) and truncation (str reason or None: only a record cut mid-line); binary (bool: NUL
    bytes); warnings (list[str]);
    occurrence_source: 'config' | 'phi-fields' | 'fallback' | 'single' (how blocks became (layer,subS,subF))
    source, n_lines
    format   the reader that produced the frames ('trace-log', 'phi-log', 'phi-json', 'phi-table')
    format_reason  why that reader was chosen (detected from the content, or '--format')
    aliases  list of dicts {source, name, key, section, factor, meaning}: the declared aliases applied
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

VALUE_COLUMNS = ["impl", "section", "key", "component", "layer", "subS", "subF", "phi_tic", "repeat",
                 "block", "occ_from", "value", "raw", "line", "digits", "half_unit"]
CONFIG_COLUMNS = ["impl", "key", "component", "repeat", "value", "raw", "line"]
OTHER_COLUMNS = ["line", "text"]
VALUE_TYPES = {"component": "int64", "layer": "int64", "subS": "int64", "subF": "int64", "phi_tic": "int64",
               "repeat": "int64", "block": "int64", "value": "float64", "line": "int64", "digits": "int64",
               "half_unit": "float64"}
CONFIG_TYPES = {"component": "int64", "repeat": "int64", "value": "float64", "line": "int64"}


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
    format: str = "trace-log"
    format_reason: str = ""
    aliases: list[dict] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.source or "trace"

    def impls(self) -> list[str]:
        return sorted(set(self.values["impl"]) | set(self.config["impl"]))

    def has_values(self) -> bool:
        """True when the input held at least one trace value (per-pixel, per-φ, extra section or echo)."""
        return len(self.values) > 0 or len(self.config) > 0

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
        occ = [decompose(int(k), oversample, thicksteps) for k in values.loc[mask, "block"]]
        if occ:
            values.loc[mask, ["layer", "subS", "subF"]] = occ
        return replace(self, values=values, occurrence_source="config")


def decompose(k: int, oversample: int, thicksteps: int) -> tuple[int, int, int]:
    # C loop nesting: layer (outer) -> subS -> subF (inner)
    os_ = max(int(oversample), 1)
    return (k // (os_ * os_), (k // os_) % os_, k % os_)


def _family(row, by_key: bool) -> tuple:
    """Rows one printf format printed: a table's column (by_key), else a log's line kind: the setup echo's
    `TRACE:` text (%g) apart from its `DETECTOR_*` lines, each section of each implementation on its own."""
    if by_key:
        return (row[0], row[1], row[2])
    return (row[0], row[1], row[2].startswith("DETECTOR_"))


def with_precision(values: list, exact: bool = False, by_key: bool = False) -> list:
    """Append (digits, half_unit) to each row (nbparity/trace/numbers.py). A key whose tokens are evidently
    `%.<d>f` is fixed-point; otherwise the significant digits are the most any token of its family shows
    (%g strips trailing zeros, so one short token says nothing), and a family showing fewer than 6 is taken
    as printed exactly (never looser than the evidence). exact=True: the source prints the double (JSON)."""
    from nbparity.trace.numbers import FULL_DIGITS, fixed_point, half_unit, number, printed_digits, sig_digits

    keys: dict[tuple, list[str]] = {}
    families: dict[tuple, int] = {}
    for r in values:
        keys.setdefault((r[0], r[1], r[2]), []).append(str(r[12]))
        fam = _family(r, by_key)
        families[fam] = max(families.get(fam, 0), sig_digits(str(r[12])))
    proven: dict[tuple, set] = {}   # decimals a printout showed to be %.<d>f (a trailing zero), per line kind
    for k, toks in keys.items():
        d = fixed_point(toks)
        if d is not None:
            proven.setdefault(_family((*k, *[None] * 10), False), set()).add(d)
    fixed = {k: fixed_point(toks, frozenset(proven.get(_family((*k, *[None] * 10), False), ())))
             for k, toks in keys.items()} if not exact else {}
    out = []
    for r in values:
        printed = number(str(r[12]).rsplit(":", 1)[-1].strip())
        if exact or printed is None or printed != printed:
            out.append([*r, FULL_DIGITS if printed is not None else 0, 0.0])
            continue
        d = fixed[(r[0], r[1], r[2])]
        n = families[_family(r, by_key)]
        mode, n = ("fixed", d) if d is not None else ("general", n if n >= 6 else FULL_DIGITS)
        scale = abs(r[11] / printed) if printed != 0.0 and r[11] == r[11] else 1.0
        out.append([*r, printed_digits(printed, mode, n), half_unit(printed, mode, n) * scale])
    return out


def build_frames(values: list, config: list, other: list, exact: bool = False, by_key: bool = False,
                 **kw) -> TraceFrames:
    """Frames from plain row lists (each reader collects 14-field rows, then calls this; the printed
    precision columns are added here)."""
    import pandas as pd

    values = with_precision(values, exact, by_key)
    return TraceFrames(values=pd.DataFrame(values, columns=VALUE_COLUMNS).astype(VALUE_TYPES),
                       config=pd.DataFrame(config, columns=CONFIG_COLUMNS).astype(CONFIG_TYPES),
                       other=pd.DataFrame(other, columns=OTHER_COLUMNS).astype({"line": "int64"}), **kw)
