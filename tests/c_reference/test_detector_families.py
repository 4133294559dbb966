"""(b) One small case per option family, the detector's: conventions, rotations, two-theta and pivots,
curved detector, point pixel, oversampling, thickness, ROI, SMV header and mask. Each trace must be
internally consistent and the configuration echo must reflect the command line."""
import math

import numpy as np
import pytest

from .family_case import BASE, F, S
from .helpers import RTD, check_trace, cross, dot, norm, phi_terms_sum, read_float_image, rel


CONVENTIONS = {
    # flag: (beam, fdet, pivot, Fbeam_m, Sbeam_m) on a 24x24 0.1 mm detector
    "-mosflm": ([1, 0, 0], [0, 0, 1], "BEAM", 0.0013, 0.0013),
    "-denzo": ([1, 0, 0], [0, 0, 1], "BEAM", 0.00125, 0.00125),
    "-adxv": ([0, 0, 1], [1, 0, 0], "BEAM", 0.00125, 0.00125),
    "-xds": ([0, 0, 1], [1, 0, 0], "SAMPLE", 0.0012, 0.0012),
    "-dials": ([0, 0, 1], [1, 0, 0], "SAMPLE", 0.0012, 0.0012),
}


@pytest.mark.parametrize("flag", sorted(CONVENTIONS))
def test_named_conventions(run_nb, flag):
    beam, fdet, pivot, fb, sb = CONVENTIONS[flag]
    r = run_nb(BASE + ["-default_F", 10, flag])
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    assert r.cfg("convention") == flag[1:].upper()
    assert r.cfg("beam") == beam and r.cfg("fdet") == fdet and r.cfg("pivot") == pivot
    assert abs(r.cfg("Fbeam_m") - fb) < 1e-15 and abs(r.cfg("Sbeam_m") - sb) < 1e-15
    assert abs(r.cfg("distance_m") - 0.05) < 1e-15


def test_custom_convention(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-fdet_vector", 0, 0, 1, "-sdet_vector", 0, -1, 0,
                       "-odet_vector", 1, 0, 0, "-beam_vector", 1, 0, 0])
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    assert r.cfg("convention") == "CUSTOM" and r.cfg("pivot") == "BEAM"
    # no +0.5 pixel shift and no swap: the detector centre
    assert abs(r.cfg("Fbeam_m") - 0.0012) < 1e-15
    assert r.cfg("twotheta_axis") == [0, 1, 0]
    pix0 = r.cfg("pix0")
    want = [-r.cfg("Fbeam_m") * f - r.cfg("Sbeam_m") * s + r.cfg("distance_m") * b
            for f, s, b in zip(r.cfg("fdet"), r.cfg("sdet"), r.cfg("beam"))]
    assert max(abs(a - b) for a, b in zip(pix0, want)) < 1e-17


def test_rotations_and_twotheta(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-detector_rotx", 3, "-detector_roty", 2,
                       "-detector_rotz", 1, "-twotheta", 5])
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    assert r.cfg("pivot") == "BEAM"  # MOSFLM forces BEAM over -twotheta's SAMPLE
    assert rel(r.cfg("twotheta_deg"), 5.0) < 1e-15
    f, s, o = r.cfg("fdet"), r.cfg("sdet"), r.cfg("odet")
    assert abs(dot(f, s)) < 1e-15 and abs(norm(f) - 1) < 1e-15
    assert max(abs(a - b) for a, b in zip(cross(f, s), o)) < 1e-15
    assert f != [0, 0, 1]


def test_twotheta_distance_quirk(run_nb):
    # §4.5: r ignores two-theta, so the reported distance is 0.1*cos(10 deg)
    r = run_nb(["-cell", 70, 70, 70, "-default_F", 1, "-detpixels", 4, "-pixel", 0.1, "-distance", 100,
                "-twotheta", 10, "-nonoise", "-nopgm", "-oversample", 1, "-trace_pixel", 1, 1])
    assert r.rc == 0, r.err
    check_trace(r, 1, 1)
    assert abs(r.cfg("distance_m") - 0.1 * math.cos(10 / RTD)) < 1e-15
    assert abs(r.cfg("Sbeam_m") - 0.000563811) < 1e-9


@pytest.mark.parametrize("extra,pivot,tt", [
    (["-spindle_axis", 0, 0, 1, "-twotheta", 0], "SAMPLE", 0.0),
    (["-spindle_axis", 0, 0, 1, "-twotheta", 0, "-pivot", "beam"], "BEAM", 0.0),
    (["-spindle_axis", 0, 0, 1, "-pivot", "sample"], "SAMPLE", 0.0),
    (["-twotheta", 3, "-pivot", "sample"], "BEAM", 3.0),           # MOSFLM forces BEAM
    (["-twotheta_axis", 0, 1, 0], "SAMPLE", 0.0),                  # axis x=0 -> 0 deg
    (["-twotheta_axis", 2, 1, 0, "-twotheta", 1], "SAMPLE", 1.0),  # explicit angle later wins
    (["-twotheta", 1, "-twotheta_axis", 2, 1, 0], "SAMPLE", 2.0),  # axis x becomes the angle
])
def test_pivots(run_nb, extra, pivot, tt):
    r = run_nb(BASE + ["-default_F", 10] + extra)
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    assert r.cfg("pivot") == pivot
    assert abs(r.cfg("twotheta_deg") - tt) < 1e-14
    if pivot == "SAMPLE" and tt == 0.0:
        # SAMPLE: the near point is the (Xbeam-defaulted) centre at close_distance
        assert abs(r.cfg("Fclose_m") - 0.0012) < 1e-15
        assert abs(r.cfg("close_distance_m") - 0.05) < 1e-15


def test_curved_detector(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-curved_det", "-oversample", 2])
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert r.cfg("curved_det") == 1
    for b in blocks:
        assert rel(b["R_distance_meters"][0], abs(r.cfg("distance_m"))) < 1e-14


def test_curved_det_last_token_ignored(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-curved_det"])
    assert r.rc == 0 and r.cfg("curved_det") == 0


def test_point_pixel(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-point_pixel"])
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    R = blocks[0]["R_distance_meters"][0]
    assert r.one("omega_pixel") == 1.0 / R / R


@pytest.mark.parametrize("flag", [None, "-oversample_thick", "-oversample_polar", "-oversample_omega"])
def test_oversample(run_nb, flag):
    extra = ["-default_F", 10, "-oversample", 3, "-detector_thick", 50] + ([flag] if flag else [])
    r = run_nb(BASE + extra)
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert len(blocks) == 2 * 9
    name = flag[len("-oversample_"):] if flag else None
    for key in ("thick", "polar", "omega"):
        assert r.one("oversample_" + key) == (1 if key == name else 0)
    # sub-pixel positions step by pixel/3 along fdet
    p0, p1 = blocks[0]["pixel_pos_meters"], blocks[1]["pixel_pos_meters"]
    step = [b - a for a, b in zip(p0, p1)]
    assert abs(norm(step) - 0.0001 / 3) < 1e-15
    if name == "omega":
        # §6.10: the running sum is multiplied by Ω after every addition
        acc, it = 0.0, iter(r.phi)
        for b in blocks:
            for _ in range(r.cfg("phisteps")):
                p = next(it)
                acc += float(p["I_term"])
                acc *= b["omega_pixel_sr"][0]
        assert acc == r.one("I_before_scaling")
    if name is None:
        assert r.one("I_before_scaling") == phi_terms_sum(r)
        # Ω of the first sub-pixel of layer 0 is used for the whole pixel
        assert r.one("omega_pixel") == blocks[0]["omega_pixel_sr"][0]


def test_thickness_absorption(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-detector_thick", 100, "-detector_abs", 50,
                       "-detector_thicksteps", 3])
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert r.cfg("detector_thicksteps") == 3
    assert r.cfg("detector_thick_m") == 100 * 1e-6
    assert r.cfg("detector_mu") == 1.0 / (50 * 1e-6)
    step = 100e-6 / 2
    o = r.cfg("odet")
    for t, b in enumerate(blocks):
        for j in range(3):
            assert abs(b["pixel_pos_meters"][j] - (blocks[0]["pixel_pos_meters"][j] + t * step * o[j])) < 1e-17
    # capture fraction of the LAST layer is the one applied (§6.4 quirk)
    d = blocks[-1]["diffracted_vec"]
    rho = dot(d, o)
    mu = r.cfg("detector_mu")
    want = math.exp(-2 * step * mu / rho) - math.exp(-3 * step * mu / rho)
    assert rel(r.one("capture_fraction"), want) < 1e-14
    assert r.one("I_before_scaling") == phi_terms_sum(r)


def test_thickness_default_layers(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-detector_thick", 100])
    assert r.rc == 0
    check_trace(r, S, F)
    assert r.cfg("detector_thicksteps") == 2 and r.cfg("detector_mu") == 1.0 / 100e-6


def test_roi(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-roi", 2, 5, 3, 7])
    assert r.rc == 0, r.err
    assert r.cfg("roi") == [2, 5, 3, 7]
    assert r.pixel == [] and r.phi == []  # traced pixel outside the ROI
    img = read_float_image(r.cwd / "floatimage.bin", 24, 24)
    assert (img[3:8, 2:6] > 0).all()
    mask = np.ones_like(img, dtype=bool)
    mask[3:8, 2:6] = False
    assert (img[mask] == 0).all()
    full = run_nb(BASE + ["-default_F", 10])
    assert full.cfg("roi") == [0, 24, 0, 24]


def _smv(path, size1, size2, extra, data):
    head = "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
    head += f"SIZE1={size1};\nSIZE2={size2};\n" + extra + "}\f"
    path.write_bytes(head.encode().ljust(512, b" ") + data.astype("<u2").tobytes())


def test_img_header(run_nb, tmp_path):
    _smv(tmp_path / "in.img", 16, 20, "PIXEL_SIZE=0.2;\nDISTANCE=80;\nWAVELENGTH=1.5;\nPHI=2;\nOSC_RANGE=0.5;\n",
         np.zeros(16 * 20))
    r = run_nb(["-cell", 70, 80, 90, "-N", 5, "-default_F", 10, "-img", "in.img", "-oversample", 1,
                "-nonoise", "-nopgm", "-trace_pixel", 3, 4])
    assert r.rc == 0, r.err
    check_trace(r, 3, 4)
    assert (r.cfg("fpixels"), r.cfg("spixels")) == (16, 20)
    assert r.cfg("pixel_size_m") == 0.2 / 1000
    assert abs(r.cfg("distance_m") - 0.08) < 1e-15
    assert r.cfg("lambda0_m") == 1.5 / 1e10
    assert rel(r.cfg("phi0_deg"), 2) < 1e-15 and rel(r.cfg("osc_deg"), 0.5) < 1e-15
    # command line beats the header
    r2 = run_nb(["-cell", 70, 80, 90, "-N", 5, "-default_F", 10, "-img", "in.img", "-pixel", 0.1,
                 "-oversample", 1, "-nonoise", "-nopgm", "-trace_pixel", 3, 4])
    assert r2.cfg("pixel_size_m") == 0.1 / 1000 and r2.cfg("fpixels") == 16


def test_mask(run_nb, tmp_path):
    data = np.ones((24, 24))
    data[S, F] = 0
    data[0, 0:5] = 0
    _smv(tmp_path / "mask.img", 24, 24, "BEAM_CENTER_Y=1.0;\n", data)
    r = run_nb(BASE + ["-default_F", 10, "-mask", "mask.img"])
    assert r.rc == 0, r.err
    assert r.config and r.pixel == []  # traced pixel is masked
    img = read_float_image(tmp_path / "floatimage.bin", 24, 24)
    assert img[S, F] == 0 and (img[0, 0:5] == 0).all() and img[0, 5] > 0
    header = (tmp_path / "intimage.img").read_bytes()[:512].decode()
    assert "BEAM_CENTER_Y=1.4;" in header  # mask header Y is flipped: detsize_s - value
