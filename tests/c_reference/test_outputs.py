"""(c) Output files: SMV int image and noise image headers, PGM layout, noise reproducibility."""
import re

import numpy as np

from .helpers import read_float_image

ARGS = ["-cell", 60, 60, 60, "-N", 4, "-default_F", 20, "-detpixels", 16, "-pixel", 0.1,
        "-distance", 40, "-oversample", 1, "-roi", 1, 14, 2, 13]
KEYS = ["HEADER_BYTES", "DIM", "BYTE_ORDER", "TYPE", "SIZE1", "SIZE2", "PIXEL_SIZE", "DISTANCE",
        "WAVELENGTH", "BEAM_CENTER_X", "BEAM_CENTER_Y", "ADXV_CENTER_X", "ADXV_CENTER_Y",
        "MOSFLM_CENTER_X", "MOSFLM_CENTER_Y", "DENZO_X_BEAM", "DENZO_Y_BEAM", "DIALS_ORIGIN",
        "XDS_ORGX", "XDS_ORGY", "CLOSE_DISTANCE", "PHI", "OSC_START", "OSC_RANGE", "TWOTHETA",
        "DETECTOR_SN", "BEAMLINE"]


def header_keys(raw):
    text = raw[:512].decode()
    assert text.startswith("{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n")
    body, pad = text.split("}\f", 1)
    assert set(pad) <= {" "} and len(body) + 2 + len(pad) == 512
    lines = body.split("\n")[1:-1]
    for ln in lines:
        assert ln.endswith(";") or ln.startswith("DIALS_ORIGIN=")  # §9.2: no ';' after DIALS_ORIGIN
    return [ln.split("=")[0] for ln in lines], dict(ln.rstrip(";").split("=", 1) for ln in lines)


def test_int_and_pgm_layout(run_nb):
    r = run_nb(ARGS + ["-nonoise", "-scale", 1000, "-adc", 10])
    assert r.rc == 0, r.err
    raw = (r.cwd / "intimage.img").read_bytes()
    assert len(raw) == 512 + 2 * 16 * 16
    keys, vals = header_keys(raw)
    assert keys == KEYS
    assert vals["SIZE1"] == "16" and vals["PIXEL_SIZE"] == "0.1" and vals["DISTANCE"] == "40"
    flt = read_float_image(r.cwd / "floatimage.bin", 16, 16)
    ints = np.frombuffer(raw[512:], dtype="<u2").reshape(16, 16)
    want = np.zeros((16, 16), dtype=np.uint16)
    v = flt[2:14, 1:15].astype(np.float64) * 1000 + 10
    v = np.clip(v, 0, 65535)
    want[2:14, 1:15] = np.floor((v + 0.5).astype(np.float32)).astype(np.uint16)
    assert np.array_equal(ints, want)
    assert ints[0, 0] == 0 and ints[2, 1] >= 10
    pgm = (r.cwd / "image.pgm").read_bytes()
    m = re.match(rb"P5\n16 16\n# pixels scaled by ([^\n]+)\n255\n", pgm)
    assert m, pgm[:60]
    assert len(pgm) == m.end() + 256
    scale = float(m.group(1))
    rmsd = float(re.search(r"rmsd= (\S+)", r.out).group(1))
    assert abs(scale - 250.0 / (5 * rmsd)) / scale < 1e-5


def test_noise_seed(run_nb, tmp_path):
    def noise(seed, name):
        r = run_nb(ARGS + ["-nopgm", "-seed", seed, "-noisefile", name, "-fluence", 1e32])
        assert r.rc == 0, r.err
        assert re.search(r"^\d+ photons on noise image \(\d+ overloads\)$", r.out, re.M)
        raw = (tmp_path / name).read_bytes()
        keys, _ = header_keys(raw)
        assert keys == KEYS
        return np.frombuffer(raw[512:], dtype="<u2").reshape(16, 16)
    a, b, c = noise(5, "n5a.img"), noise(5, "n5b.img"), noise(6, "n6.img")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a[0, 0] == 0 and (a[2:14, 1:15] >= 40).all()
    flt = read_float_image(tmp_path / "floatimage.bin", 16, 16)
    # Poisson counts scatter around the mean
    assert abs((a[2:14, 1:15].astype(float) - 40).sum() - flt.sum()) < 6 * np.sqrt(flt.sum()) + 5
