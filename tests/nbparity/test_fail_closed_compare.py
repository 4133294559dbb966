"""A compare can only pass on what it compared: hostile sides (real runs, then broken the way a bad build
or port breaks them) never exit 0, and the reason names what was missing."""

from __future__ import annotations

import pytest

from nbparity.flows.compare import run_compare
from nbparity.request import CaseSpec, CompareRequest, CSpec, OutputSpec, TorchSpec
from nbparity.sides import CSide, SimulatorSide
from tests.nbparity.fakes import NAN, HostileC, HostileTorch, always, cut_after, nan_values

ARGS = ("-cell 50 60 70 90 90 90 -default_F 100 -distance 100 -pixel 0.5 -oversample 1 -nonoise -nopgm "
        "-lambda 1 -N 4 -detpixels 32")
PIXEL = (16, 16)


@pytest.fixture(scope="module")
def c_side(c_reference_binary):
    return CSide(c_reference_binary)


def _run(tmp_path, c, torch):
    req = CompareRequest(pixel=PIXEL, case=CaseSpec(args=ARGS), c=CSpec(binary=str(c.binary)),
                         torch=TorchSpec(quirks="c"), output=OutputSpec(out=str(tmp_path)))
    return run_compare(req, sides=(c, torch))


SIM = SimulatorSide(quirks="c")


def test_honest_sides_are_identical(tmp_path, c_side):
    r = _run(tmp_path, c_side, SIM)
    assert (r.verdict, r.exit_code) == ("identical", 0)
    assert r.pixel_values["c_float"] == r.pixel_values["torch_float"] == pytest.approx(42.08556365966797)


def test_port_writing_a_zero_image_is_divergent(tmp_path, c_side):
    r = _run(tmp_path, c_side, HostileTorch(SIM, pixel=always(0.0)))
    assert (r.verdict, r.exit_code) == ("divergent", 1)
    assert "traced pixel C=42.08556365966797 torch=0.0" in r.judgement.reason


def test_c_writing_a_zero_image_is_divergent(tmp_path, c_side):
    r = _run(tmp_path, HostileC(c_side, pixel=always(0.0)), SIM)
    assert (r.verdict, r.exit_code) == ("divergent", 1)


def test_port_writing_no_image_is_incomplete(tmp_path, c_side):
    r = _run(tmp_path, c_side, HostileTorch(SIM, pixel=always(None)))
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert "missing from the torch image" in r.judgement.reason


def test_pixel_nan_on_both_sides_is_incomplete(tmp_path, c_side):
    r = _run(tmp_path, HostileC(c_side, pixel=always(NAN)), HostileTorch(SIM, pixel=always(NAN)))
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert "not finite on both sides" in r.judgement.reason


def test_trace_cut_after_hkl_frac_is_incomplete(tmp_path, c_side):
    r = _run(tmp_path, c_side, HostileTorch(SIM, trace=lambda t: cut_after(t, "hkl_frac")))
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert "I_pixel_final" in r.judgement.reason


def test_final_value_nan_on_both_sides_is_incomplete(tmp_path, c_side):
    keys = {"I_pixel_final", "floatimage_accumulated"}
    r = _run(tmp_path, HostileC(c_side, trace=lambda t: nan_values(t, keys)),
             HostileTorch(SIM, trace=lambda t: nan_values(t, keys)))
    assert (r.verdict, r.exit_code) == ("incomplete", 1)
    assert "not finite on both sides" in r.judgement.reason
