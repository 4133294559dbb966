"""nbparity.phi_pivot: the numpy per-φ frame is the per-row loop's frame (values, dtypes, column order)."""

import math

import numpy as np
import pandas as pd
import pandas.testing as pdt

from nbparity.phi import _ordered, _steps_loop, failing_mask, per_phi_table
from nbparity.phi_pivot import steps

NAN, INF = float("nan"), float("inf")


def _table():
    # (layer, subS, subF, phi_tic, key, c, py, side, status); steps (0,0,0)/0, (0,0,1)/0, (0,0,0)/1 interleaved
    rows = [
        (0, 0, 0, 0, "phi_deg", 0.0, 0.0, "both", "pass"),
        (0, 0, 0, 0, "F_latt", 2.0, 2.5, "both", "FAIL"),
        (0, 0, 1, 0, "phi_deg", 0.0, 1e-3, "both", "FAIL"),        # c == 0: rel inf
        (0, 0, 0, 0, "k_frac", NAN, NAN, "both", "non-finite"),
        (0, 0, 1, 0, "extra", 5.0, NAN, "C", "one-sided"),
        (0, 0, 0, 1, "phi_deg", 0.1, 0.1, "both", "pass"),
        (0, 0, 1, 0, "I_term", INF, INF, "both", "non-finite"),
        (0, 0, 0, 1, "late", NAN, 7.0, "PY", "FAIL"),              # structural: fails, not compared
        (0, 0, 0, 1, "F_latt", 4.0, 3.0, "both", "pass"),
        (0, 0, 1, 0, "other", -0.0, 0.0, "both", "pass"),
        (0, 0, 1, 0, "F_cell", 1.0, NAN, "both", "FAIL"),          # unreadable torch value: Δ NaN
        (0, 0, 0, 1, "h_frac", INF, 1.0, "both", "FAIL"),          # Δ -inf: non-finite, not in the max
    ]
    cols = ["layer", "subS", "subF", "phi_tic", "key", "c", "py", "side", "status"]
    t = pd.DataFrame(rows, columns=cols)
    return t.assign(section="phi")


def test_numpy_frame_is_the_loops_frame():
    t = _table()
    fail = failing_mask(t)
    loop = _ordered(_steps_loop(t, fail, "c", "py"))
    fast = steps(t, fail.to_numpy(dtype=bool))
    assert fast is not None
    pdt.assert_frame_equal(_ordered(fast), loop, check_exact=True)
    pdt.assert_frame_equal(per_phi_table(t), loop, check_exact=True)


def test_numbers_of_the_steps():
    got = per_phi_table(_table())
    assert got["occurrence"].tolist() == ["0,0,0", "0,0,1", "0,0,0"]
    assert got["phi_tic"].tolist() == [0, 0, 1]
    assert got["status"].tolist() == ["fail", "fail", "fail"]
    assert got["failing"].tolist() == ["F_latt", "phi_deg F_cell", "late h_frac"]
    assert got["non_finite"].tolist() == ["k_frac", "I_term F_cell", "h_frac"]
    assert got["one_sided_fields"].tolist() == ["", "extra", "late"]
    assert got["compared"].tolist() == [3, 4, 3]
    assert got["max_rel_delta"].tolist() == [0.25, INF, 0.25]
    assert got["F_latt_delta"].tolist()[0] == 0.5 and math.isnan(got["F_latt_c"].iloc[1])
    assert math.copysign(1.0, got["other_c"].iloc[1]) == -1.0
    # columns of keys first seen after the first step follow its 'status', as the loop's dicts put them
    cols = got.columns.tolist()
    assert cols.index("status") < cols.index("extra_c") < cols.index("other_c") < cols.index("late_c")


def test_tables_the_loop_takes():
    t = _table()
    twice = pd.concat([t, t.iloc[[0]]], ignore_index=True)     # a field printed twice in one step
    assert steps(twice, failing_mask(twice).to_numpy(dtype=bool)) is None
    renamed = t.rename(columns={"c": "c_value", "py": "py_value"})
    assert steps(renamed, failing_mask(renamed).to_numpy(dtype=bool)) is None
    assert per_phi_table(renamed)["failing"].tolist() == ["F_latt", "phi_deg F_cell", "late h_frac"]
    assert np.array_equal(per_phi_table(twice)["compared"].to_numpy(), [4, 4, 3])
