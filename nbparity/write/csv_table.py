"""A table as CSV, byte for byte what `df.to_csv(index=False, float_format="%.17g")` writes, but each float
column's distinct values are formatted once, and the rows go out in chunks.

    write_csv(df, fh)          into a binary file
    csv_text(df) -> str        the whole text (small tables: previews, per-step files)

Why: a traced pixel with millions of sub-pixel values makes a factors.csv of millions of rows; pandas
formats every float through Python one cell at a time (18 s of a 34 s `-oversample 100` compare), while
most of a trace's numbers repeat (the same vectors in every sub-pixel).
"""

from __future__ import annotations

import csv
import io

import numpy as np

CHUNK_ROWS = 1 << 16


def write_csv(df, fh) -> None:
    """Write the table (header, then every row) into the binary file `fh`."""
    for piece in _pieces(df):
        fh.write(piece.encode("utf-8"))


def csv_text(df) -> str:
    return "".join(_pieces(df))


def _pieces(df):
    yield _rows([[str(c) for c in df.columns]])
    for lo in range(0, len(df), CHUNK_ROWS):
        part = df.iloc[lo:lo + CHUNK_ROWS]
        columns = [_cells(part[c]) for c in part.columns]
        yield _joined(columns) if len(columns) > 1 and not any(map(_needs_quotes, columns)) \
            else _rows(zip(*columns))


def _rows(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)   # pandas' own settings: QUOTE_MINIMAL, '"'
    return out.getvalue()


def _needs_quotes(cells: list) -> bool:
    """A cell the csv writer would quote (QUOTE_MINIMAL: the delimiter, the quote, an end of line)."""
    text = "\0".join(cells)
    return any(c in text for c in ',"\n\r')


def _joined(columns: list) -> str:
    """The rows as the csv writer writes them when no cell needs quoting (and a row has several cells, so
    an empty cell stays empty): cells joined with ',', rows ended with '\\n' (a few times faster)."""
    return "".join(map("{}\n".format, map(",".join, zip(*columns))))


def _cells(column) -> list:
    """The column's cells as pandas writes them: floats with %.17g, NaN and None empty, the rest str()."""
    import pandas as pd

    na = pd.NA
    values = column.to_numpy()
    if values.dtype.kind == "f":
        bits = values.astype(np.float64).view(np.int64)   # by bits: -0.0 and 0.0 print differently
        codes, uniq = pd.factorize(bits)
        floats = uniq.view(np.float64)
        text = ["" if f != f else "%.17g" % f for f in floats.tolist()]
        return np.array(text, dtype=object)[codes].tolist() if len(text) else [""] * len(values)
    if values.dtype.kind in "iub":
        return values.astype(str).tolist()
    if pd.api.types.infer_dtype(values, skipna=True) == "string":   # str or missing: each distinct one once
        codes, uniq = pd.factorize(values)   # (not for other objects: 1, 1.0 and True are one key there)
        return np.array(uniq.tolist() + [""], dtype=object)[codes].tolist()   # code -1: missing
    return ["" if v is None or v is na or (isinstance(v, float) and v != v) else str(v) for v in values.tolist()]
