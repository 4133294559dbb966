"""Parser rules of spec §1 (substring matching, collisions, last-one-wins, missing arguments)."""

import math

import pytest
from hypothesis import given, settings, strategies as st

from simulator.argv import Options, parse_argv
from simulator.cparse import RTD, atof, atoi


def P(s):
    return parse_argv(s.split())


@pytest.mark.parametrize("tok,val", [
    ("1.5", 1.5), ("  -2e3xyz", -2000.0), ("0x1.8p1", 3.0), ("-0X10", -16.0), ("inf", math.inf),
    ("-Infinity", -math.inf), ("abc", 0.0), ("", 0.0), ("1e", 1.0), (".5.5", 0.5), ("+.25e+1", 2.5),
    ("0x", 0.0), ("1e400", math.inf),
])
def test_atof(tok, val):
    assert atof(tok) == val


def test_atof_nan():
    assert math.isnan(atof("nan(123)")) and math.isnan(atof("-NaN"))


@pytest.mark.parametrize("tok,val", [("1e3", 1), ("2.9", 2), ("-7x", -7), (" +4", 4), ("x", 0), ("", 0),
                                     ("4294967297", 1)])
def test_atoi(tok, val):
    assert atoi(tok) == val


def test_rtd_is_product_with_reciprocal():
    assert RTD == 57.29577951308232 and RTD.hex() == "0x1.ca5dc1a63c1f8p+5"


def test_defaults():
    o = P("")
    assert o == Options() and o.convention == "MOSFLM" and o.pivot == "BEAM"
    assert o.mosaic_seed == -12345678 and o.fluence == 1.25932015286227086e29 and math.isnan(o.Xbeam)


def test_twotheta_axis_also_sets_twotheta_and_pivot():
    o = P("-twotheta_axis 5 0 0")
    assert o.twotheta == 5 / RTD and o.pivot == "SAMPLE" and o.convention == "CUSTOM"
    assert o.twotheta_axis == (5.0, 0.0, 0.0)
    assert P("-twotheta 3 -twotheta_axis 1 0 0").twotheta == 1 / RTD
    assert P("-twotheta_axis 1 0 0 -twotheta 3").twotheta == 3 / RTD


def test_misset_seed_also_acts_as_misset_r1():
    o = P("-cell 70 70 70 90 90 90 -misset_seed 5 -N 1")
    assert o.misset_mode == "angles" and o.misset_seed == -5
    assert (o.misset_x, o.misset_y, o.misset_z) == (5 / RTD, 0.0, 1 / RTD)  # atof("-N") = 0
    o = P("-misset_seed random")  # the random branch ends the chain: the seed is never read
    assert o.misset_mode == "random" and o.misset_seed is None


def test_misset_random_then_angles_last_wins():
    assert P("-misset random -misset 1 2 3").misset_mode == "angles"
    assert P("-misset 1 2 3 -misset random").misset_mode == "random"


def test_printout_pixel_turns_printout_on_and_pix0_mm_recorded():
    o = P("-printout_pixel 3 4")
    assert o.printout and o.printout_pixel == (3, 4)
    o = P("-pix0_vector_mm 1 2 3")
    assert o.pix0_vector == (1.0, 2.0, 3.0) and o.pix0_vector_mm and o.convention == "CUSTOM"
    o = P("-pix0_vector_mm 1 2 3 -pix0_vector 4 5 6")
    assert o.pix0_vector == (4.0, 5.0, 6.0) and not o.pix0_vector_mm


def test_last_pivot_and_convention_win():
    assert P("-distance 100 -twotheta 0").pivot == "SAMPLE"
    assert P("-twotheta 0 -Xbeam 10").pivot == "BEAM"
    assert P("-xds -pivot beam").pivot == "BEAM" and P("-pivot beam -xds").pivot == "SAMPLE"
    assert P("-fdet_vector 1 0 0 -mosflm").convention == "MOSFLM"
    assert P("-mosflm -spindle_axis 1 0 0").convention == "CUSTOM"


def test_exact_length_options():
    o = P("-hdivstep 0.02 -hdivsteps 3")
    assert o.hdivstep == 0.02 / 1000 and o.hdivsteps == 3
    assert P("-detpixels 10").fpixels == 10 and P("-detpixels_x 10").spixels == 0
    assert P("-detsize 50").detsize_f == 0.05 and P("-detsize_f 50").detsize_s == 0.1024
    assert P("-phi 10").phi0 == 10 / RTD and P("-phistep 1").phistep == 1 / RTD
    assert P("-phisteps 4").phistep == -1.0
    assert P("-polar 0.5").polar_K == 0.5 and P("-polar_vector 0 1 0").polar_K == 0.0
    assert P("-detector_thick 100").detector_thick == 100 * 1e-6  # a product, as C
    assert P("-detector_thicksteps 3").detector_thick == 0.0


def test_non_collisions():
    o = P("-pgmscale 2 -nointerpolate -close_distance 50 -mosaic_seed 3 -hdivsteps 2 -nopolar")
    assert o.scale == 0.0 and o.pgmscale == 2.0 and o.interpolate == 0 and o.distance == 0.1
    assert o.seed is None and o.mosaic_seed == -3 and o.vdivsteps == -1 and o.polar_K == 0.0
    assert o.pivot == "SAMPLE" and o.nopolar


def test_chain_enders():
    o = P("-oversample_thick 3")
    assert o.oversample_thick and o.oversample == -1
    o = P("-Na 3 -Nb 4 -Nc 5")
    assert (o.Na, o.Nb, o.Nc) == (3, 4, 5)
    assert (P("-N 2").Na, P("-N 2").Nc) == (2, 2)
    assert P("-Nx 2").Na == 1  # -N is an exact match


def test_missing_arguments_skip_silently():
    assert P("-distance").distance == 0.1
    assert P("-curved_det").curved_det is False and P("-curved_det -x").curved_det
    assert P("-beam_vector 1 0").beam_vector is None and P("-beam_vector 1 0").convention == "MOSFLM"
    assert P("-roi 1 2 3").roi == (-1, -1, -1, -1)
    assert P("-detector_abs").detector_mu == -1.0


def test_cell_stops_at_dash_token():
    o = P("-cell 70 80 -90 1 2 3")
    assert (o.cell_a, o.cell_b, o.cell_c, o.cell_alpha) == (70.0, 80.0, 0.0, 0.0)
    assert P("-cell -N 3").user_cell and P("-cell -N 3").cell_a == 0.0


def test_trace_pixel_is_slow_fast_and_fires_nothing_else():
    o = P("-trace_pixel 12 34")
    assert o.trace_pixel == (12, 34)
    assert o.given == frozenset({"trace_pixel"})


def test_torch_only_options_are_ignored():
    o = P("-device cuda -dtype float32 -quirks spec,+C-CELL-001")
    assert o.given == frozenset()


def test_header_fields_and_units():
    o = P("-lambda 1.5 -energy 12398.42 -dispersion 10 -water 100 -beamsize 0.1 -dmin 2")
    assert o.lambda0 == (12398.42 / 12398.42) / 1e10 and o.dispersion == 0.1
    assert o.water_size == 100 / 1e6 and o.beamsize == 1e-4 and o.dmin == 2e-10
    assert P("-detector_abs inf").detector_mu == 0.0 and P("-detector_abs 500").detector_mu == 1 / (500e-6)


def test_pgm_noise_last_one_wins():
    assert P("-nonoise -noisefile n.img").write_noise and not P("-noisefile n.img -nonoise").write_noise
    assert P("-nopgm -pgmscale 2").write_pgm and not P("-pgmfile x -nopgm").write_pgm


_tokens = st.sampled_from(["-cell", "-mat", "-misset", "random", "-N", "-Na", "-twotheta_axis", "-roi",
                           "-pix0_vector_mm", "-detector_abs", "inf", "-printout_pixel", "-trace_pixel",
                           "-oversample_omega", "-pivot", "sample", "1", "-2.5", "0x1p3", "nan", "",
                           "-", "--", "-detpixels", "-img", "-phi", "-curved_det", "-seed", "abc"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_tokens, st.text(max_size=6)), max_size=12))
def test_fuzz_never_raises(tokens):
    o = parse_argv(tokens)
    assert isinstance(o, Options) and o.given <= frozenset(f for f in Options.__dataclass_fields__)
