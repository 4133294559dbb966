"""Conformance with the instrumented nanoBragg (issue 12; ../shared/data/conformance/README.md).

For every recorded configuration and traced pixel, c_reference and the simulator (c quirks on the
recordings' R2 line, float64) run argv.txt + `-trace_pixel S F`: `nbparity diff RECORDING OURS` must be
parity, and the float image of the run bit-identical to floatimage.bin.gz; the simulator's trace leaves
no value of the recording one-sided (it prints R2's setup echo, simulator/trace_r2.py). The simulator
in float32 must match the recorded image within the project's float32 image criterion. Skips without
../shared."""

from __future__ import annotations

import numpy as np
import pytest

from nbparity.commands.diff import diff_logs

from .recordings import FLOAT32_REL, R2_MODE, float32_worst, load_cases, run_simulator_float32, stage_inputs

CASES = load_cases()
NO_SHARED = pytest.mark.skip(reason="../shared/data/conformance not present")
PIXEL_PARAMS = [pytest.param(c, px, id=f"{c.name}-{px[0]}_{px[1]}") for c in CASES for px in c.pixels] or \
    [pytest.param(None, None, marks=NO_SHARED, id="no-shared")]
CASE_PARAMS = [pytest.param(c, id=c.name) for c in CASES] or [pytest.param(None, marks=NO_SHARED, id="no-shared")]
SIDES = ["c", "py"]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case,pixel", PIXEL_PARAMS)
def test_trace_conforms(runs, case, pixel, side):
    ours = runs.get(case, pixel, side)
    result = diff_logs(str(case.recorded_trace(*pixel)), str(ours.trace_log), dtype="float64")
    assert result.exit_code == 0, (case.name, pixel, side, result.first_divergence, result.root_causes[:3])


@pytest.mark.parametrize("case,pixel", PIXEL_PARAMS)
def test_simulator_prints_every_value_r2_prints(runs, case, pixel):
    """Issue 22 item 3: on the R2 line the simulator prints, under R2's keys, every value the recording
    holds (its setup echo, DETECTOR_* and SOURCE2 lines included): no C value is left one-sided, and
    the diff passes on them."""
    ours = runs.get(case, pixel, "py")
    result = diff_logs(str(case.recorded_trace(*pixel)), str(ours.trace_log), dtype="float64")
    c_only = [f"{sec}.{key}" for table in (result.table, result.config_table)
              for sec, key, side in zip(table["section"], table["key"], table["side"]) if side == "C"]
    assert not c_only, (case.name, pixel, sorted(set(c_only))[:8], len(c_only))
    setup = result.table[result.table["section"] == "setup"]
    assert (setup["side"] == "both").sum() > 100, (case.name, pixel, len(setup))
    assert result.exit_code == 0, (case.name, pixel, result.first_divergence, result.root_causes[:3])


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_image_bit_identical(runs, case, side):
    ref = case.recorded_image()
    for pixel in case.pixels:   # each traced run writes the full image
        got = runs.get(case, pixel, side).image
        assert got.shape == ref.shape, (case.name, side, got.shape, ref.shape)
        differ = int(np.count_nonzero(got.view(np.uint32) != ref.view(np.uint32)))
        assert differ == 0, (case.name, pixel, side, f"{differ} of {ref.size} pixels differ")


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_float32_image(runs, tmp_path, case):
    got = run_simulator_float32(case, stage_inputs(case, tmp_path / "f32"), R2_MODE)
    ref = case.recorded_image()
    assert got.shape == ref.shape
    worst = float32_worst(ref, got)
    assert worst <= FLOAT32_REL, (case.name, worst)
