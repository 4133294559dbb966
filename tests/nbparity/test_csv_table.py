"""The bundle's CSV writer writes exactly what pandas' `to_csv(index=False, float_format="%.17g")` writes
(each float column's distinct values formatted once): for every dtype the tables hold, and for the aligned
tables of a real compare."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from nbparity.write import csv_table
from nbparity.write.csv_table import csv_text, write_csv


def _pandas(df) -> str:
    return df.to_csv(index=False, float_format="%.17g")


def test_every_dtype_as_pandas_writes_it(monkeypatch):
    monkeypatch.setattr(csv_table, "CHUNK_ROWS", 1000)   # several chunks
    rng = np.random.default_rng(1)
    n = 5000
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n)
    x[::7], x[::11], x[::13], x[::17], x[::19], x[::23] = 0.1, -0.0, np.nan, np.inf, -np.inf, 5e-324
    x[::29] = 0.0
    df = pd.DataFrame({
        "section": np.where(np.arange(n) % 3 == 0, "pixel", 'phi "x", y'),
        "key": ["k\n1" if i % 5 == 0 else "key" for i in range(n)],
        "value": x, "f32": np.float32(1) / np.arange(1, n + 1, dtype=np.float32), "i": np.arange(n) - 7,
        "u": np.arange(n, dtype=np.uint8), "b": np.arange(n) % 2 == 0,
        "obj": pd.Series([[None, 1.5, "s", np.nan][i % 4] for i in range(n)], dtype=object),
        "s": pd.array(["a", None, "c,d", ""] * (n // 4), dtype="str")})
    expected = _pandas(df)
    assert csv_text(df) == expected
    assert "-0," in expected and ",0," in expected   # -0.0 and 0.0 are told apart
    assert csv_text(df.iloc[:0]) == _pandas(df.iloc[:0]) and csv_text(df[["i"]]) == _pandas(df[["i"]])
    plain = df[["value", "f32", "i", "u", "b", "obj"]]   # no cell to quote: cells joined without the csv writer
    assert csv_text(plain) == _pandas(plain)


def test_the_aligned_tables_of_a_compare(tmp_path, monkeypatch):
    from nbparity.pipeline import compare_pixel

    monkeypatch.setitem(os.environ, "NBPARITY_TEST_PERTURB", "default_F:1.01")
    res = compare_pixel(4, 4, quirks="c", attribute=False, out=str(tmp_path), write_bundle=False,
                        args="-cell 50 60 70 90 90 90 -distance 100 -pixel 0.5 -nonoise -nopgm -lambda 1 -N 4 "
                             "-detpixels 8 -default_F 100 -oversample 3 -phisteps 2 -osc 0.1")
    for table in (res.comparison.table, res.comparison.per_phi):
        assert len(table) >= 18   # 9 sub-pixels × 2 φ steps at least
        expected = _pandas(table)
        assert csv_text(table) == expected
        path = tmp_path / "t.csv"
        with open(path, "wb") as fh:
            write_csv(table, fh)
        assert path.read_text() == expected
