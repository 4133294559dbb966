"""Per-value closeness (issue 24, item 5): ulps, digits of agreement and the rtol that would pass."""

import math
from pathlib import Path

import numpy as np

from nbparity.agreement import ulps_between
from nbparity.compare import compare_traces
from nbparity.traces import parse_trace

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "golden"
C_TEXT = (GOLDEN / "basic_c.log").read_text()
PY_TEXT = (GOLDEN / "basic_py.log").read_text()


def test_ulps_count_representable_numbers_in_the_printed_dtype():
    one = 1.0
    up3 = np.nextafter(np.nextafter(np.nextafter(one, 2.0), 2.0), 2.0)
    f32_up = float(np.nextafter(np.float32(1.0), np.float32(2.0)))
    tiny = 5e-324
    got = ulps_between([one, one, -tiny, 0.0, one, one], [up3, f32_up, tiny, -0.0, f32_up, math.nan],
                       np.array([False, True, False, False, False, False]))
    assert got[:5].tolist() == [3.0, 1.0, 2.0, 0.0, 2.0 ** 29]   # float32 ulp = 2^29 float64 ulps at 1
    assert math.isnan(got[5])


def _row(r, key, component=0):
    t = r.table
    return t[(t["key"] == key) & (t["component"] == component)].iloc[0]


def test_compare_table_and_root_causes_carry_ulps_digits_and_needed_rtol():
    lines = PY_TEXT.split("\n")
    i = next(i for i, l in enumerate(lines) if l.startswith("TRACE_PY: R_distance_meters "))
    c_val = float(lines[i].split()[2])
    moved = c_val * (1 + 3e-9)
    lines[i] = f"TRACE_PY: R_distance_meters {moved!r}"
    py = "\n".join(lines)
    r = compare_traces(parse_trace(C_TEXT, "c"), parse_trace(py, "py"))
    row = _row(r, "R_distance_meters")
    assert row["status"] == "FAIL"
    assert row["ulps"] == ulps_between([c_val], [moved], np.array([False]))[0] > 1e6
    assert abs(row["digits"] - 8.52) < 0.01                       # -log10(3e-9)
    assert math.isclose(row["rtol_needed"], (abs(moved - c_val) - row["atol"]) / c_val, rel_tol=1e-12)
    root = next(x for x in r.root_causes if x["key"] == "R_distance_meters")
    assert root["ulps"] == int(row["ulps"]) and root["digits"] == row["digits"]
    same = _row(r, "fdet_vec")
    assert same["ulps"] == 0 and same["digits"] == 17 and same["rtol_needed"] == 0
    assert math.isnan(_row(r, "steps")["rtol_needed"])            # exact keys: no tolerance applies


def _config_py(key, value):
    """The golden torch trace with one configuration value changed."""
    import re

    return re.sub(rf"(TRACE_PY_CONFIG .*\b{key}=)(\S+)", lambda m: m.group(1) + value, PY_TEXT, count=1)


def test_float32_hint_names_the_option_a_port_holds_in_float32():
    from nbparity.prove.float32 import float32_hints

    argv = ["-distance", "100.1", "-fdet_vector", "0", "0.3", "1"]
    py = _config_py("distance_m", repr(float(np.float32(100.1)) / 1000))
    r = compare_traces(parse_trace(C_TEXT.replace("distance_m=0.10000000000000001 ", "distance_m=0.1001 "),
                                   "c"), parse_trace(py, "py"))
    hints = float32_hints(r, argv)
    assert [h["node"] for h in hints] == ["config.distance_m"]
    assert hints[0]["meaning"].startswith("the port appears to hold -distance in float32")
    # a difference that is not float32 rounding of the argv value is no float32 hint
    py = _config_py("distance_m", repr(100.1 / 1000 * (1 + 1e-9)))
    r = compare_traces(parse_trace(C_TEXT.replace("distance_m=0.10000000000000001 ", "distance_m=0.1001 "),
                                   "c"), parse_trace(py, "py"))
    assert float32_hints(r, argv) == []
