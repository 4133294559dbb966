"""Per-distinct work broadcast back to rows: a function of a few columns computed once per distinct tuple of
values instead of once per row (an aligned table has millions of rows but a few hundred distinct keys).

    codes, first = distinct_codes(*columns)    # codes: row -> group (numbered in order of first appearance),
                                               # first: the first row of each group
    per_distinct(fn, *columns, dtype=object)   # ndarray: fn(*values of the row) for every row

Columns are Series, Index, numpy arrays or lists, all of one length. Values are grouped by equality
(pandas.factorize) but never across kinds of missing value (None, NaN, pd.NA stay apart) nor across the
sign of a float zero; fn must otherwise give equal results for equal values (1, 1.0 and True are one value).
fn receives the values that iterating the column would give (str, Python scalars of a Series, numpy scalars
of an array) and is called in the order the distinct tuples first appear.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _as_column(col):
    """A Series or ndarray for `col`; a list becomes an object Series (its tuples stay cells)."""
    if isinstance(col, (pd.Series, np.ndarray)):
        return col
    if isinstance(col, pd.Index):
        return col.to_series(index=pd.RangeIndex(len(col)))
    return pd.Series(list(col), dtype=object)


def _split(col) -> np.ndarray:
    """Codes of one column: pandas' factorize codes, refined so that kinds of missing value and ±0.0 stay apart."""
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    codes = codes.astype(np.int64)
    values = col.to_numpy() if isinstance(col, pd.Series) else col
    if values.dtype.kind == "f":
        codes = codes * 2 + np.signbit(values)
    elif values.dtype == object and pd.isna(np.asarray(uniques, dtype=object)).any():
        missing = np.flatnonzero(pd.isna(values))   # few rows: their kind (NoneType, float, NAType) by type
        kinds = pd.factorize(np.array([id(type(v)) for v in values[missing]], dtype=np.int64))[0]
        extra = np.zeros(len(codes), dtype=np.int64)
        extra[missing] = kinds + 1
        codes = pd.factorize(codes * (int(kinds.max(initial=0)) + 2) + extra)[0].astype(np.int64)
    return codes


def distinct_codes(*columns) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first): each row's group, numbered 0.. in order of first appearance, and each group's first row."""
    cols = [_as_column(c) for c in columns]
    n = len(cols[0])
    if any(len(c) != n for c in cols):
        raise ValueError("columns of different lengths")
    codes = np.zeros(n, dtype=np.int64)
    for col in cols:
        own = _split(col)
        # both codes < n after each factorize: the combination fits an int64 for any table that fits memory
        codes = pd.factorize(codes * (int(own.max(initial=0)) + 1) + own)[0].astype(np.int64)
    # factorize numbers groups in order of first appearance: a group starts where the running max rises
    seen = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.concatenate(([True], seen[1:] > seen[:-1]))) if n else np.zeros(0, np.int64)
    return codes, first


def per_distinct(fn, *columns, dtype=object) -> np.ndarray:
    """fn(*values) for every row of the columns, computed once per distinct tuple of values."""
    cols = [_as_column(c) for c in columns]
    codes, first = distinct_codes(*cols)
    picked = [list(c.iloc[first]) if isinstance(c, pd.Series) else list(c[first]) for c in cols]
    results = [fn(*vals) for vals in zip(*picked)]
    if dtype is object:
        table = np.fromiter(results, dtype=object, count=len(results))   # tuples stay cells
    else:
        table = np.array(results, dtype=dtype)
    return table[codes]
