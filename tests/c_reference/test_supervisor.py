"""(a) The supervisor command of spec §11 against the facts measured on the original."""
import hashlib
import re

import numpy as np
import pytest

from .conftest import shared_dir
from .helpers import check_trace

SUP = shared_dir() / "data" / "supervisor" if shared_dir() else None
pytestmark = pytest.mark.skipif(SUP is None or not (SUP / "A.mat").exists(),
                                reason="shared supervisor inputs absent")


def sup_args():
    return ["-mat", SUP / "A.mat", "-floatfile", "img.bin", "-hkl", SUP / "scaled.hkl", "-nonoise",
            "-nointerpolate", "-oversample", 1, "-exposure", 1, "-flux", 1e18, "-beamsize", 1.0,
            "-spindle_axis", -1, 0, 0, "-Xbeam", 217.742295, "-Ybeam", 213.907080,
            "-distance", 231.274660, "-lambda", 0.976800, "-pixel", 0.172,
            "-detpixels_x", 2463, "-detpixels_y", 2527,
            "-odet_vector", -0.000088, 0.004914, -0.999988,
            "-sdet_vector", -0.005998, -0.999970, -0.004913,
            "-fdet_vector", 0.999982, -0.005998, -0.000118,
            "-pix0_vector_mm", -216.336293, 215.205512, -230.200866,
            "-beam_vector", 0.00051387949, 0.0, -0.99999986,
            "-Na", 36, "-Nb", 47, "-Nc", 29, "-osc", 0.1, "-phi", 0, "-phisteps", 10,
            "-detector_rotx", 0, "-detector_roty", 0, "-detector_rotz", 0, "-twotheta", 0]


@pytest.fixture(scope="module")
def full_frame(nb_bin, tmp_path_factory):
    import subprocess
    from .conftest import Run
    d = tmp_path_factory.mktemp("supervisor")
    p = subprocess.run([str(nb_bin)] + [str(a) for a in sup_args()], cwd=d, capture_output=True,
                       text=True, timeout=600)
    return Run(p, d)


def test_full_frame_md5_and_stats(full_frame):
    r = full_frame
    assert r.rc == 0, r.err
    data = (r.cwd / "img.bin").read_bytes()
    assert hashlib.md5(data).hexdigest() == "129c18f78c65eb0eacf9c108e6ec0d5a"
    img = np.frombuffer(data, dtype="<f4").reshape(2527, 2463)
    assert abs(float(img.astype(np.float64).sum()) - 6490.820208632) < 1e-6
    assert int((img != 0).sum()) == 6175476
    m = re.search(r"^max_I = (\S+)  at (\S+) (\S+)$", r.out, re.M)
    assert m and m.group(1) == "446.254"
    # the location is the last sub-pixel's (Fdet, Sdet) in metres: pixel centre of (685, 1039)
    assert round(float(m.group(2)) / 0.000172 - 0.5) == 685
    assert round(float(m.group(3)) / 0.000172 - 0.5) == 1039
    assert "mean= 0.00104287 rms= 0.334386 rmsd= 0.334384" in r.out
    assert "intfile_scale = 123.248" in r.out
    assert "WARNING: auto-generating odet_vector" in r.out
    assert "pivoting detector around sample" in r.out
    assert "custom convention selected." in r.out
    assert r.out.count("% done") > 20
    header = (r.cwd / "intimage.img").read_bytes()[:512].decode()
    for kv in ("DISTANCE=231.275;", "BEAM_CENTER_X=217.742;", "BEAM_CENTER_Y=213.907;",
               "ADXV_CENTER_X=217.889;", "MOSFLM_CENTER_X=214.957;", "MOSFLM_CENTER_Y=217.803;",
               "XDS_ORGX=1266.44;", "XDS_ORGY=1244.15;", "CLOSE_DISTANCE=231.272;",
               "OSC_RANGE=0.1;", "TWOTHETA=0;", "DIALS_ORIGIN=-230.192,216.343,216.476\n"):
        assert "\n" + kv in header
    assert (r.cwd / "image.pgm").exists() and (r.cwd / "Fdump.bin").exists()


@pytest.mark.parametrize("s,f,roi,value", [
    (1000, 1006, (1006, 1010, 1000, 1001), "2.1429571139077188e-08"),
    (1000, 1009, (1006, 1010, 1000, 1001), "1.3821171727729723e-07"),
    (1000, 1010, (1006, 1010, 1000, 1001), "2.0311125396453425e-07"),
    (1001, 1008, (1006, 1010, 1000, 1001), "4.8720180899983961e-08"),
    (1000, 1010, (1010, 1010, 1000, 1000), "2.1897613364953175e-07"),  # rendered first
])
def test_pixel_doubles(run_nb, s, f, roi, value):
    r = run_nb(sup_args() + ["-roi", *roi, "-trace_pixel", s, f])
    assert r.rc == 0, r.err
    check_trace(r, s, f, "img.bin")
    assert dict(r.pixel)["I_pixel_final"] == [value]
    c = r.config
    assert c["convention"] == "CUSTOM" and c["pivot"] == "SAMPLE" and c["steps"] == "10"
    assert c["fluence"] == "9.9999999999999998e+23"
    assert c["pix0"] == "-0.21647583620483582,0.21634305049221492,-0.2301924143005375"
    assert c["close_distance_m"] == "0.23127182611178124"
    assert c["odet"] == "-8.8528281364449429e-05,0.0049136190727112642,-0.99998792418226323"
    assert c["a0"] == "-1.4356269033539893e-09,-2.187179284538168e-09,-5.5820208349866117e-10"
    assert c["c0"] == "2.1069950032017902e-09,-2.4389296247076639e-09,-9.752651665053266e-10"
    assert (c["Fbeam_m"], c["Sbeam_m"]) == ("0.21788853918604012", "0.21504272990380877")
    assert c["distance_m"] == "0.23127466000000005"
