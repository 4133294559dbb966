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


def build_frames(values, config: list, other: list, exact: bool = False, by_key: bool = False,
                 **kw) -> TraceFrames:
    """Frames from a reader's values: a dict of value columns (nbparity/trace/columns.py), or plain
    14-field rows; the printed precision columns are added here (nbparity/trace/precision.py)."""
    import pandas as pd

    from nbparity.trace.columns import from_rows
    from nbparity.trace.precision import precision_columns

    cols = values if isinstance(values, dict) else from_rows(values)
    cols["digits"], cols["half_unit"] = precision_columns(cols, exact, by_key)
    frame = pd.DataFrame({name: cols[name] for name in VALUE_COLUMNS}, copy=False)
    return TraceFrames(values=frame.astype(VALUE_TYPES),
                       config=pd.DataFrame(config, columns=CONFIG_COLUMNS).astype(CONFIG_TYPES),
                       other=pd.DataFrame(other, columns=OTHER_COLUMNS).astype({"line": "int64"}), **kw)
