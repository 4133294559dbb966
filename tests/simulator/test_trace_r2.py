"""The R2 setup echo (simulator/trace_r2.py): printed on the R2 line only, under R2's keys, with the
values the setup computed (the recordings in ../shared check every value; this runs without them)."""

import pytest

from simulator.api import run
from simulator.tracing import f17

ARGV = ("-cell 50 60 70 90 90 90 -lambda 1 -default_F 100 -N 4 -distance 100 -pixel 0.5 -detpixels 6 "
        "-oversample 1 -nonoise -nopgm -misset 10 -5 20").split()


def traced(mode, extra=()):
    return run(ARGV + list(extra), trace_pixel=(2, 3), quirks=mode)


def echo_lines(res):
    return [ln for ln in res.trace_lines if ln.startswith(("TRACE_PY:", "TRACE:", "DETECTOR_"))
            and not ln.startswith("TRACE_PY: ")]


@pytest.mark.parametrize("mode", ["c", "spec", "c-r2,+C-ARGV-001"])
def test_no_echo_off_the_r2_line(mode):
    assert echo_lines(traced(mode)) == []


def test_r2_line_prints_the_setup_values():
    res = traced("c-r2")
    s, lines = res.setup, echo_lines(res)
    assert res.trace_lines == traced("c,-C-ARGV-001").trace_lines
    assert f"DETECTOR_PIX0_VECTOR {' '.join(f17(x) for x in s.pix0)}" in lines
    assert f"TRACE_PY:pix0_vector={' '.join(f17(x) for x in s.pix0)}" in lines   # BEAM pivot block
    assert sum(ln.startswith("TRACE_PY:fdet_after_rotz=") for ln in lines) == 2
    assert f"TRACE_PY:fdet_after_twotheta={' '.join(f17(x) for x in s.fdet)}" in lines
    a0 = s.a0
    assert (f"TRACE:   a0 = [{f17(a0[0])}, {f17(a0[1])}, {f17(a0[2])}] |a0| = "
            f"{f17(sum(x * x for x in a0) ** 0.5)} meters") in lines
    assert "TRACE:   misset angles = [10, -5, 20] degrees" in lines
    # echo lines come before the per-pixel lines, as R2 prints them during setup
    first_pixel = next(i for i, ln in enumerate(res.trace_lines) if ln.startswith("TRACE_PY: "))
    assert res.trace_lines.index(lines[-1]) < first_pixel


def test_sample_pivot_block():
    lines = echo_lines(run(ARGV + ["-xds", "-ORGX", "3.2", "-ORGY", "2.9"], trace_pixel=(2, 3), quirks="c-r2"))
    keys = [ln.split("=", 1)[0] for ln in lines if ln.startswith("TRACE_PY:")]
    assert keys[:4] == ["TRACE_PY:detector_convention", "TRACE_PY:angles_rad", "TRACE_PY:beam_center_m",
                        "TRACE_PY:initial_fdet"]
    assert "TRACE_PY:detector_convention=XDS" in lines and "TRACE_PY:pix0_before_rotation" in keys
    assert "TRACE_PY:Rx" not in keys and keys.count("TRACE_PY:fdet_after_rotz") == 1
