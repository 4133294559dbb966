"""nbparity.distinct: per-distinct computation broadcast back to rows, the same as a per-row loop."""

import math

import numpy as np
import pandas as pd

from nbparity.distinct import distinct_codes, per_distinct


def test_one_call_per_distinct_tuple_in_order_of_first_appearance():
    keys = pd.Series(["a", "b", "a", "c", "b", "a"])
    sections = ["phi", "pixel", "phi", "phi", "phi", "phi"]
    calls = []

    def fn(k, s):
        calls.append((k, s))
        return f"{s}.{k}"

    got = per_distinct(fn, keys, sections)
    assert got.tolist() == ["phi.a", "pixel.b", "phi.a", "phi.c", "phi.b", "phi.a"]
    assert calls == [("a", "phi"), ("b", "pixel"), ("c", "phi"), ("b", "phi")]
    codes, first = distinct_codes(keys, sections)
    assert codes.tolist() == [0, 1, 0, 2, 3, 0]
    assert first.tolist() == [0, 1, 3, 4]


def test_result_dtype_and_tuple_results():
    ks = pd.Series(["x", "y", "x"])
    assert per_distinct(lambda k: k == "x", ks, dtype=bool).tolist() == [True, False, True]
    assert per_distinct(lambda k: len(k) * 0.5, ks, dtype=float).dtype == np.float64
    pairs = per_distinct(lambda k: (k, 1.5), ks)
    assert pairs.shape == (3,) and pairs.tolist() == [("x", 1.5), ("y", 1.5), ("x", 1.5)]


def test_missing_values_and_signed_zeros_stay_apart():
    mixed = np.array(["a", None, float("nan"), None, pd.NA, "a"], dtype=object)
    kinds = per_distinct(lambda v: type(v).__name__, mixed)
    assert kinds.tolist() == ["str", "NoneType", "float", "NoneType", "NAType", "str"]
    zeros = np.array([0.0, -0.0, 1.0, -0.0, float("nan")])
    signs = per_distinct(lambda v: math.copysign(1.0, v), zeros, dtype=float)
    assert signs.tolist() == [1.0, -1.0, 1.0, -1.0, 1.0]
    strs = pd.Series(["n", np.nan, "n", np.nan])   # pandas' str dtype: NaN is its missing value
    assert per_distinct(lambda v: v != v, strs, dtype=bool).tolist() == [False, True, False, True]


def test_values_are_those_iteration_gives():
    floats = np.array([1.0, 2.0, 1.0])
    assert [type(v) for v in per_distinct(lambda v: v, floats)] == [type(v) for v in floats]
    series = pd.Series([1.0, 2.0, 1.0])
    assert [type(v) for v in per_distinct(lambda v: v, series)] == [type(v) for v in series]


def test_empty_columns_call_nothing():
    calls = []
    got = per_distinct(lambda k: calls.append(k), pd.Series([], dtype="str"), [], dtype=bool)
    assert got.tolist() == [] and got.dtype == bool and calls == []
