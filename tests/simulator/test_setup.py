"""derive(): spec facts with their exact numbers (§3.1, §3.3, §4.3, §4.5, §5.2, §5.5, §11)."""

import math
import os
from pathlib import Path

import pytest

from simulator.argv import parse_argv
from simulator.cparse import RTD
from simulator.geometry import dot, magnitude
from simulator.model import UsageExit
from simulator.setup import derive
from nbparity.cases import SUPERVISOR_ARGS as SUPERVISOR_COMMAND

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("NBPARITY_SHARED", REPO.parent / "shared"))
SUPERVISOR = SHARED / "data" / "supervisor"

SUPERVISOR_ARGS = SUPERVISOR_COMMAND.split()   # spec §11, one definition in nbparity.cases


def D(args, tmp_path, quirks=("C-CELL-001", "C-PIX0-001", "C-RANDROT-001"), **kw):
    return derive(parse_argv(args.split()), quirks=frozenset(quirks), cwd=str(tmp_path), **kw)


def _angles(s):
    a, b, c = s.a0, s.b0, s.c0

    def ang(u, v):
        return math.degrees(math.acos(dot(u, v) / magnitude(u) / magnitude(v)))
    return ang(b, c), ang(c, a), ang(a, b)


def test_triclinic_cell_c_quirk_angles(tmp_path):
    s = D("-cell 70 80 90 85 95 100 -default_F 1 -N 5", tmp_path)
    al, be, ga = _angles(s)
    assert (round(al, 6), round(be, 6), round(ga, 6)) == (84.994472, 95.005528, 100.000812)
    assert round(s.cell_volume, 3) == 493120.196


def test_triclinic_cell_spec_mode_has_requested_angles(tmp_path):
    s = D("-cell 70 80 90 85 95 100 -default_F 1 -N 5", tmp_path, quirks=())
    assert [round(x, 9) for x in _angles(s)] == [85.0, 95.0, 100.0]
    assert [round(magnitude(v) * 1e10, 9) for v in (s.a0, s.b0, s.c0)] == [70.0, 80.0, 90.0]


@pytest.mark.parametrize("flag,fb,conv", [("-mosflm", 0.0513, "MOSFLM"), ("-denzo", 0.05125, "DENZO"),
                                          ("-adxv", 0.05125, "ADXV"), ("-xds", 0.0512, "XDS"),
                                          ("-dials", 0.0512, "DIALS"), ("-spindle_axis 0 0 1", 0.0512, "CUSTOM")])
def test_default_beam_centre_per_convention(tmp_path, flag, fb, conv):
    s = D(f"-cell 70 80 90 -default_F 1 -N 5 {flag}", tmp_path)
    assert s.convention == conv
    assert round(s.Fbeam, 12) == fb and round(s.Sbeam, 12) == fb


def test_pivot_forced_by_named_convention(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -twotheta 10 -pivot sample", tmp_path)
    assert s.pivot == "BEAM" and "pivoting detector around direct beam spot" in s.messages
    assert D("-cell 70 80 90 -default_F 1 -beam_vector 1 0 0 -twotheta 0", tmp_path).pivot == "SAMPLE"


def test_twotheta_r_quirk(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -detpixels 4 -distance 100 -twotheta 10", tmp_path)
    assert "%g" % s.distance == "0.0984808" and "%g" % s.Sbeam == "0.000563811"
    assert s.r_factor == math.cos(0.0)  # r = b·o ignores two-theta


def test_hdivrange_ceil_in_radians(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -hdivrange 0.28 -hdivstep 0.02 -oversample 1", tmp_path)
    assert len(s.source_dirs) == 14 and s.steps == 14


def test_divergence_elliptical_trim_and_dispersion(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -divergence 1 -divsteps 3 -dispersion 10 -oversample 1", tmp_path)
    assert len(s.source_dirs) == 5 * 2 and s.steps == 10
    assert s.source_lambdas[:2] == [1e-10 * (1.0 + 0.1 * 0 - 0.1 / 2.0), 1e-10 * (1.0 + 0.1 * 1 - 0.1 / 2.0)]
    assert all(abs(magnitude(v) - 1.0) < 1e-15 for v in s.source_dirs)
    assert len(D("-cell 70 80 90 -default_F 1 -N 5 -divergence 1 -divsteps 3 -square_div",
                 tmp_path).source_dirs) == 9


def test_fluence_from_flux(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -flux 1e18 -exposure 1 -beamsize 1.0", tmp_path)
    assert "%.17g" % s.fluence == "9.9999999999999998e+23"


def test_random_misset_seed5(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -misset random -misset_seed 5", tmp_path)
    assert ["%.6f" % (m * RTD) for m in s.misset] == ["142.144470", "55.074207", "35.266329"]
    off = D("-cell 70 80 90 -default_F 1 -N 5 -misset random -misset_seed 5", tmp_path, quirks=())
    assert off.misset != s.misset  # double-precision angle differs from the float32 one


def test_misset_seed_acts_as_misset(tmp_path):
    s = D("-cell 70 70 70 90 90 90 -default_F 1 -misset_seed 5 -N 1", tmp_path)
    assert s.misset == (5 / RTD, 0.0, 1 / RTD)


def test_mosaic_domains_and_identity_domain0(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -mosaic 1 -oversample 1", tmp_path)
    assert s.mosaic_domains == 10 and len(s.mosaic_umats) == 10 and s.steps == 10
    assert s.mosaic_umats[0] == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    u = s.mosaic_umats[1]
    assert u != s.mosaic_umats[2] and abs(u[0] * u[0] + u[1] * u[1] + u[2] * u[2] - 1) < 1e-15


def test_phi_and_thickness_steps(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -osc 0.1 -phisteps 10 -detector_thick 100", tmp_path)
    assert (s.phisteps, s.phistep) == (10, (0.1 / RTD) / 10)
    assert s.thicksteps == 2 and s.thickstep == 100 * 1e-6 / 2.0 and s.mu == 1 / (100 * 1e-6)
    s = D("-cell 70 80 90 -default_F 1 -N 5 -osc 1 -phistep 0.3", tmp_path)
    assert s.phisteps == 4


def test_auto_interpolation_and_oversample(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -xtalsize 0.01", tmp_path)
    assert s.interpolate == 0  # auto-on (N=1 as parsed) then forced off: no HKL data
    assert "auto-selected tricubic interpolation of structure factors" in s.messages
    assert s.Na == math.ceil(1e-5 / 70e-10) and s.oversample == 301  # ceil(300.09)
    assert "auto-selected 301-fold oversampling" in s.messages


def test_usage_exit(tmp_path):
    with pytest.raises(UsageExit) as e:
        D("-cell 70 80 90", tmp_path)
    assert e.value.exit_code == 9
    with pytest.raises(UsageExit):
        D("-default_F 1", tmp_path)


def test_hkl_writes_fdump_and_is_reused(tmp_path):
    (tmp_path / "t.hkl").write_text("0 0 0 10\n1 2 3 20.5\n-1 0 2 7\n")
    s = D("-cell 70 80 90 -N 5 -hkl t.hkl", tmp_path)
    assert (s.hkls, s.h_min, s.h_max, s.k_max, s.l_max) == (3, -1, 1, 2, 3)
    assert s.hkl_grid[2, 2, 3] == 20.5 and s.hkl_grid.shape == (4, 4, 5)
    assert (tmp_path / "Fdump.bin").exists()
    s2 = D("-cell 70 80 90 -N 5", tmp_path)
    assert s2.hkl_source == "dump" and s2.hkls == 3 * 3 * 4 and (s2.hkl_grid == s.hkl_grid).all()
    D("-cell 70 80 90 -N 5 -hkl t.hkl -dump other.bin", tmp_path, write_fdump=False)
    assert not (tmp_path / "other.bin").exists()


def test_pix0_spec_mode_honours_vector(tmp_path):
    args = "-cell 70 80 90 -default_F 1 -N 5 -detpixels 10 -pix0_vector_mm 100 5 -5"
    c = D(args, tmp_path)
    spec = D(args, tmp_path, quirks=())
    assert c.pix0 != (0.1, 0.005, -0.005)
    assert spec.pix0 == (0.1, 0.005, -0.005) and spec.close_distance == 0.1
    assert spec.Fclose == -dot(spec.pix0, spec.fdet) and spec.ORGX == spec.Fclose / spec.pixel + 0.5


def test_rendered(tmp_path):
    s = D("-cell 70 80 90 -default_F 1 -N 5 -detpixels 10 -roi 2 4 3 5", tmp_path)
    assert s.roi == (2, 4, 3, 5) and s.rendered(3, 2) == (True, "rendered")
    assert not s.rendered(2, 2)[0] and not s.rendered(3, 10)[0]
    assert D("-cell 70 80 90 -default_F 1 -N 5 -detpixels 10", tmp_path).roi == (0, 10, 0, 10)


def test_overrides_are_differentiable(tmp_path):
    torch = pytest.importorskip("torch")
    d = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(70.0, dtype=torch.float64, requires_grad=True)
    rx = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    s = D("-cell 70 80 90 -default_F 1 -N 5 -detpixels 10 -misset 1 0 0", tmp_path, overrides={"distance": d, "cell_a": a, "misset_x": rx})
    s.pix0[0].backward()
    assert d.grad is not None and float(d.grad) == 1.0
    (s.a0[0] + s.b0[1] + s.c0[2]).backward()
    assert a.grad is not None and rx.grad is not None
    f = D("-cell 70 80 90 -default_F 1 -N 5 -detpixels 10 -distance 200 -misset 5.729577951308232 0 0",
          tmp_path)
    assert s.pix0[0].detach().item() == f.pix0[0]


@pytest.mark.skipif(not (SUPERVISOR / "A.mat").exists(), reason="shared supervisor data absent")
def test_supervisor_geometry_bit_exact():
    s = derive(parse_argv(SUPERVISOR_ARGS), quirks=frozenset({"C-PIX0-001", "C-CELL-001"}),
               cwd=str(SUPERVISOR), write_fdump=False)
    assert (s.convention, s.pivot, s.fpixels, s.spixels, s.steps) == ("CUSTOM", "SAMPLE", 2463, 2527, 10)
    assert s.r_factor == 0.99998774665491319
    assert s.close_distance == 0.23127182611178124
    assert s.pix0 == (-0.21647583620483582, 0.21634305049221492, -0.2301924143005375)
    assert (s.Fclose, s.Sclose) == (0.21774240361302546, 0.21390719056038643)
    assert s.distance == 0.23127466000000005
    assert (s.Fbeam, s.Sbeam) == (0.21788853918604012, 0.21504272990380877)
    assert (s.ORGX, s.ORGY) == (1266.4442070524738, 1244.1464567464329)
    assert s.odet == (-8.8528281364449429e-05, 0.0049136190727112642, -0.99998792418226323)
    assert s.fdet == (0.99998200487391231, -0.005998000029234252, -0.00011800000057513199)
    assert s.sdet == (-0.0059979996566955022, -0.999969942765222, -0.0049129997187970995)
    assert s.beam == (0.00051387949409249778, 0.0, -0.99999986796392404)
    assert s.a0 == (-1.4356269033539893e-09, -2.187179284538168e-09, -5.5820208349866117e-10)
    assert s.b0 == (-1.1498696843250773e-09, 7.1732003099026606e-11, -2.91132147806318e-09)
    assert s.c0 == (2.1069950032017902e-09, -2.4389296247076639e-09, -9.752651665053266e-10)
    assert s.cell_volume == 24682.256630111344 and s.hkls == 64333
    assert s.phistep == 1.7453292519943296e-4 and s.fluence == 1e24 and s.lambda0 == 9.7680000000000005e-11
    assert "WARNING: auto-generating odet_vector" in s.messages
    assert ["%.3f" % x for x in s.dials_origin] == ["-230.192", "216.343", "216.476"]
