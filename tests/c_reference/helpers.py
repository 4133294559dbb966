"""Independent re-derivations used to check the C trace for internal consistency."""
import math

import numpy as np

R_E_SQR = 7.94079248018965e-30
RTD = 180.0 * (1.0 / math.pi)


def dot(u, v):
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def norm(u):
    return math.sqrt(dot(u, u))


def cross(u, v):
    return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]


def sincg(x, n):
    return n if x == 0.0 else math.sin(x * n) / math.sin(x)


def sinc3(x):
    return 1.0 if x == 0.0 else 3.0 * (math.sin(x) / x - math.cos(x)) / (x * x)


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def read_float_image(path, fpixels, spixels):
    return np.fromfile(path, dtype="<f4").reshape(spixels, fpixels)


def check_trace(r, s, f, image_name="floatimage.bin"):
    """Assertions every traced run must satisfy (trace taken from the computation itself)."""
    cfg = r.cfg
    assert len([1 for line in r.out.splitlines() if line.startswith("TRACE_C_CONFIG ")]) == 5
    assert cfg("r_e_sqr") == R_E_SQR
    os_ = cfg("oversample")
    assert cfg("steps") == cfg("sources") * cfg("mosaic_domains") * cfg("phisteps") * os_ * os_
    blocks = r.blocks()
    assert len(blocks) == cfg("detector_thicksteps") * os_ * os_
    for b in blocks:
        pos = b["pixel_pos_meters"]
        R = b["R_distance_meters"][0]
        assert rel(R, norm(pos)) <= 2e-16
        d = b["diffracted_vec"]
        for j in range(3):
            assert abs(d[j] - pos[j] / R) <= 2e-16
        assert b["obliquity_factor"][0] == b["close_distance_meters"][0] / R
        assert b["close_distance_meters"][0] == cfg("close_distance_m")
        assert b["pix0_vector_meters"] == cfg("pix0")
        assert b["fdet_vec"] == cfg("fdet") and b["sdet_vec"] == cfg("sdet")
        lam = b["lambda_meters"][0]
        assert b["lambda_angstroms"][0] == lam * 1e10
        inc = b["incident_vec"]
        q = b["scattering_vec_A_inv"]
        for j in range(3):
            assert q[j] == (d[j] - inc[j]) / lam
        if "hkl_frac" in b:
            hkl = b["hkl_frac"]
            qn = norm(q) * 1e-10
            for j, key in enumerate(("rot_a_angstroms", "rot_b_angstroms", "rot_c_angstroms")):
                v = b[key]
                assert abs(hkl[j] - dot(v, q) * 1e-10) <= 1e-14 * norm(v) * qn + 1e-300
                assert b["hkl_rounded"][j] == math.ceil(hkl[j] - 0.5)
            Ns = (cfg("Na"), cfg("Nb"), cfg("Nc"))
            for j, key in enumerate(("F_latt_a", "F_latt_b", "F_latt_c")):
                want = sincg(math.pi * hkl[j], Ns[j]) if Ns[j] > 1 else 1.0
                assert rel(b[key][0], want) <= 1e-15
            if cfg("xtal_shape") == "SQUARE":
                assert b["F_latt"][0] == b["F_latt_a"][0] * b["F_latt_b"][0] * b["F_latt_c"][0]
    I = r.one("I_before_scaling")
    fluence = r.one("fluence_photons_per_m2")
    assert fluence == cfg("fluence")
    assert r.one("r_e_sqr") == R_E_SQR
    assert r.one("steps") == cfg("steps")
    val = R_E_SQR * fluence * I / cfg("steps")
    # block C prints the loop's variables; the final value uses those whose -oversample_* flag is off
    for key in ("thick", "polar", "omega"):
        if not r.one("oversample_" + key):
            val = val * r.one({"thick": "capture_fraction", "polar": "polar", "omega": "omega_pixel"}[key])
    final = r.one("I_pixel_final")
    assert rel(final, val) <= 1e-15
    acc = r.one("floatimage_accumulated")
    assert acc == float(np.float32(final))
    img = read_float_image(r.cwd / image_name, cfg("fpixels"), cfg("spixels"))
    assert float(img[s, f]) == acc
    return blocks


def phi_terms_sum(r, I_bg=0.0):
    """Sequential Σ I_term over the per-φ lines, the loop's own addition order."""
    acc = I_bg
    for p in r.phi:
        if "I_term" in p:
            acc += float(p["I_term"])
    return acc
