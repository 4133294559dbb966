"""(b) One small case per option family, the crystal's and the beam's: cell, misset and -mat, HKL
and Fdump, crystal shapes, interpolation, mosaic, phi, water, dmin, divergence, dispersion, source file
and polarization. Each trace must be internally consistent and the configuration echo must reflect the
command line."""
import math

import numpy as np
import pytest

from .family_case import BASE, F, S
from .helpers import (R_E_SQR, check_trace, cross, dot, norm, phi_terms_sum, read_float_image, rel,
                      sinc3)


def hkl_text(lo=-7, hi=7):
    rows = []
    for h in range(lo, hi + 1):
        for k in range(lo, hi + 1):
            for l in range(lo, hi + 1):
                rows.append(f"{h} {k} {l} {10 + ((7 * h + 3 * k + l) % 13) * 1.5}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def hkl(tmp_path):
    p = tmp_path / "small.hkl"
    p.write_text(hkl_text())
    return p


def test_cell_misset(run_nb):
    plain = run_nb(BASE + ["-default_F", 10])
    r = run_nb(BASE + ["-default_F", 10, "-misset", 10, 20, 30])
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    # §3.5 imposes the direct lengths; the orientation changes
    for key, length in (("a0", 70e-10), ("b0", 80e-10), ("c0", 90e-10)):
        assert rel(norm(r.cfg(key)), length) < 1e-14
        assert r.cfg(key) != plain.cfg(key)
    assert r.cfg("hkl_count") == 0 and r.cfg("interpolate") == 0
    for (k, v) in r.pixel:
        if k == "F_cell":
            assert float(v[0]) == 10.0


def test_mat_hkl_and_fdump(run_nb, hkl, tmp_path):
    mat = tmp_path / "A.mat"
    # columns a*, b*, c* (lambda-scaled) of a 60x70x80 orthorhombic cell at 1.2 A
    mat.write_text("0.02 0.0 0.0\n0.0 0.0171428571 0.0\n0.0 0.0 0.015\n 0 0 0\n")
    args = ["-mat", mat, "-hkl", hkl, "-N", 5, "-detpixels", 24, "-pixel", 0.1, "-distance", 50,
            "-lambda", 1.2, "-oversample", 1, "-nonoise", "-nopgm", "-trace_pixel", S, F]
    r = run_nb(args)
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    assert r.cfg("hkl_count") == 15 ** 3
    assert [r.cfg(k) for k in ("h_min", "h_max", "k_min", "k_max", "l_min", "l_max")] == [-7, 7] * 3
    astar = [0.02 / 1.2, 0, 0]
    assert abs(dot(r.cfg("a0"), astar) * 1e10 - 1.0) < 1e-12
    assert (tmp_path / "Fdump.bin").exists()
    ref = read_float_image(tmp_path / "floatimage.bin", 24, 24).copy()
    # without -hkl the cache written above is read back and gives the same image
    r2 = run_nb([a for a in args if a not in ("-hkl", hkl)] + ["-floatfile", "again.bin"])
    assert r2.rc == 0, r2.err
    assert "reading Fs from Fdump.bin" in r2.out
    assert r2.cfg("hkl_count") == 15 ** 3  # range_h*range_k*range_l
    assert np.array_equal(read_float_image(tmp_path / "again.bin", 24, 24), ref)
    assert ref.max() > 0


@pytest.mark.parametrize("extra,nsrc", [
    (["-divergence", 2, "-divsteps", 3], 5),
    (["-divergence", 2, "-divsteps", 3, "-square_div"], 9),
    (["-hdivrange", 0.28, "-hdivstep", 0.02], 14),
])
def test_divergence(run_nb, extra, nsrc):
    r = run_nb(BASE + ["-default_F", 10] + extra)
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert r.cfg("sources") == nsrc
    assert f"created a total of {nsrc} sources" in r.out
    inc = blocks[0]["incident_vec"]
    assert abs(norm(inc) - 1) < 1e-15 and inc != [1.0, 0.0, 0.0]


def test_dispersion(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-dispersion", 10, "-dispsteps", 3])
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert r.cfg("sources") == 3
    lam0 = 1.2 / 1e10
    assert blocks[0]["lambda_meters"][0] == lam0 * (1.0 + 0.05 * 0 - 0.1 / 2.0)


def test_sourcefile(run_nb, tmp_path):
    src = tmp_path / "src.txt"
    # λ column is metres and is used; a comment line is a (bogus) source; blank lines skipped
    src.write_text("-10 0.01 0 1 1.3e-10\n\n   \n# comment line\n")
    r = run_nb(BASE + ["-default_F", 10, "-sourcefile", src])
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert r.cfg("sources") == 2
    assert blocks[0]["lambda_meters"][0] == 1.3e-10
    n = math.sqrt(100 + 0.0001)
    want = [10 / n, -0.01 / n, 0.0]
    assert max(abs(a - b) for a, b in zip(blocks[0]["incident_vec"], want)) < 1e-16


@pytest.mark.parametrize("extra", [[], ["-polar", 0.5], ["-polar", 1, "-polar_vector", 0, 1, 0], ["-nopolar"]])
def test_polarization(run_nb, extra):
    r = run_nb(BASE + ["-default_F", 10] + extra)
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    P = r.one("polar")
    if "-nopolar" in extra:
        assert P == 1.0 and r.cfg("nopolar") == 1
        return
    K = r.cfg("polarization_K")
    i, d, p = blocks[0]["incident_vec"], blocks[0]["diffracted_vec"], r.cfg("polar_axis")
    # the polarization call unitizes incident and diffracted in place before cos_2theta is printed (§6.6)
    unit = lambda v: [x / math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) for x in v]  # noqa: E731
    assert dot(unit(i), unit(d)) == r.one("cos_2theta")
    c = dot(i, d)
    psi = 0.0
    if K != 0:
        B = cross(p, i)
        B = [x / norm(B) for x in B]
        E = cross(i, B)
        E = [x / norm(E) for x in E]
        psi = -math.atan2(dot(d, B), dot(d, E))
    want = 0.5 * (1 + c * c - K * math.cos(2 * psi) * (1 - c * c))
    assert rel(P, want) < 1e-14
    if extra:
        assert K == float(extra[1])


def test_shapes(run_nb):
    for flag, name in (("-square_xtal", "SQUARE"), ("-round_xtal", "ROUND"),
                       ("-gauss_xtal", "GAUSS"), ("-tophat_spots", "TOPHAT")):
        r = run_nb(BASE + ["-default_F", 10, flag, "-fudge", 1.5])
        assert r.rc == 0, r.err
        blocks = check_trace(r, S, F)
        assert r.cfg("xtal_shape") == name and r.cfg("fudge") == 1.5
        N = 5.0
        astar = r.values("rot_a_star_A_inv")[0], r.values("rot_b_star_A_inv")[0], r.values("rot_c_star_A_inv")[0]
        for b in blocks:
            hkl, h0 = b["hkl_frac"], b["hkl_rounded"]
            dh = [x - y for x, y in zip(hkl, h0)]
            FL = b["F_latt"][0]
            dr = [dh[0] * astar[0][j] + dh[1] * astar[1][j] + dh[2] * astar[2][j] for j in range(3)]
            rho = dot(dr, dr) * N ** 6
            if name == "ROUND":
                hrad = dh[0] ** 2 * N * N + dh[1] ** 2 * N * N + dh[2] ** 2 * N * N
                assert rel(FL, N ** 3 * 0.723601254558268 * sinc3(math.pi * math.sqrt(hrad * 1.5))) < 1e-12
            elif name == "GAUSS":
                assert rel(FL, N ** 3 * math.exp(-(rho / 0.63 * 1.5))) < 1e-12
            elif name == "TOPHAT":
                assert FL == (N ** 3 if rho * 1.5 < 0.3969 else 0.0)


def _lagrange(xs, ys, x):
    tot = 0.0
    for m in range(4):
        num, den = ys[m], 1.0
        for n in range(4):
            if n != m:
                num *= (x - xs[n])
                den *= (xs[m] - xs[n])
        tot += num / den
    return tot


def test_interpolate_in_range(run_nb, hkl):
    r = run_nb(BASE + ["-hkl", hkl, "-interpolate"])
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert r.cfg("interpolate") == 1
    table = {}
    for line in hkl.read_text().splitlines():
        h, k, l, f = line.split()
        table[(int(h), int(k), int(l))] = float(f)
    hkl_frac = blocks[0]["hkl_frac"]
    assert all(-5 <= x <= 5 for x in hkl_frac)
    base = [math.floor(x) - 1 for x in hkl_frac]
    u = []
    for i in range(4):
        t = []
        for j in range(4):
            ys = [table[(base[0] + i, base[1] + j, base[2] + m)] for m in range(4)]
            t.append(_lagrange([base[2] + m for m in range(4)], ys, hkl_frac[2]))
        u.append(_lagrange([base[1] + j for j in range(4)], t, hkl_frac[1]))
    want = _lagrange([base[0] + i for i in range(4)], u, hkl_frac[0])
    assert rel(r.values("F_cell")[0][0], want) < 1e-12
    assert "out of range" not in r.out


def test_interpolate_out_of_range_fallback(run_nb, tmp_path):
    p = tmp_path / "tiny.hkl"
    p.write_text(hkl_text(-1, 1))
    # -N 2 auto-selects interpolation; every evaluation is out of range for a 3-wide grid
    r = run_nb(BASE + ["-hkl", p, "-N", 2])
    assert r.rc == 0, r.err
    blocks = check_trace(r, S, F)
    assert r.cfg("interpolate") == 1
    assert "auto-selected tricubic interpolation" in r.out
    assert "WARNING: out of range for three point interpolation" in r.out
    table = {tuple(map(int, ln.split()[:3])): float(ln.split()[3]) for ln in p.read_text().splitlines()}
    for b in blocks:
        h0 = tuple(int(x) for x in b["hkl_rounded"])
        assert r.values("F_cell")[0][0] == table.get(h0, 0.0)


def test_default_F(run_nb):
    r = run_nb(BASE + ["-default_F", 3.5, "-N", 2])
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    assert r.cfg("interpolate") == 0  # forced off without HKL data
    assert r.cfg("default_F") == 3.5
    assert all(float(v[0]) == 3.5 for k, v in r.pixel if k == "F_cell")


def test_mosaic(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-mosaic", 0.5, "-mosaic_dom", 4, "-mosaic_seed", 777])
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    assert r.cfg("mosaic_domains") == 4 and rel(r.cfg("mosaic_spread_deg"), 0.5) < 1e-15
    # domain 0 is the identity: rot_a equals a0 (no φ rotation here)
    assert r.values("rot_a_angstroms")[0] == [x * 1e10 for x in r.cfg("a0")]
    r10 = run_nb(BASE + ["-default_F", 10, "-mosaic", 0.5, "-floatfile", "m10.bin"])
    assert r10.cfg("mosaic_domains") == 10 and "upping to 10 mosaic domains" in r10.out
    a = read_float_image(r.cwd / "floatimage.bin", 24, 24)
    assert not np.array_equal(a, read_float_image(r.cwd / "m10.bin", 24, 24))


def test_phi_carry_over(run_nb):
    args = BASE + ["-default_F", 10, "-phi", 0, "-osc", 1, "-phisteps", 4]
    r = run_nb(args)
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    got = [float(p["phi_deg"]) for p in r.phi]
    assert [int(p["phi_tic"]) for p in r.phi] == [0, 1, 2, 3]
    assert max(abs(a - b) for a, b in zip(got, [0.0, 0.25, 0.5, 0.75])) < 1e-15
    assert r.cfg("phisteps") == 4 and rel(r.cfg("phistep_deg"), 0.25) < 1e-15
    # not the first rendered pixel: φ_tic 0 reuses the φ_last vectors (§8.3)
    assert r.phi[0]["k_frac"] == r.phi[3]["k_frac"] and r.phi[0]["h_frac"] == r.phi[3]["h_frac"]
    assert r.one("I_before_scaling") == phi_terms_sum(r)
    # the first rendered pixel sees the unrotated lattice at φ_tic 0
    first = run_nb(args + ["-roi", F, F + 1, S, S + 1, "-floatfile", "roi.bin"])
    check_trace(first, S, F, "roi.bin")
    assert first.phi[0]["k_frac"] != first.phi[3]["k_frac"]
    assert first.phi[1:] == r.phi[1:]
    assert first.values("rot_a_angstroms")[0] == [x * 1e10 for x in r.cfg("a0")]


def test_water(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-water", 50])
    assert r.rc == 0, r.err
    check_trace(r, S, F)
    w = 50 / 1e6
    I_bg = 2.57 * 2.57 * R_E_SQR * r.cfg("fluence") * w * w * w * 1e6 * 6.02214179e23 / 18
    assert r.one("I_before_scaling") == phi_terms_sum(r, I_bg)
    assert r.cfg("water_size_m") == w


def test_dmin_cuts_everything(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-dmin", 1000, "-water", 50])
    assert r.rc == 0, r.err
    assert r.values("pixel_pos_meters") and not r.values("hkl_frac") and not r.phi
    assert r.one("I_pixel_final") == 0.0  # P stays 0: even the water term vanishes (§6.5)
    assert read_float_image(r.cwd / "floatimage.bin", 24, 24).max() == 0.0


def _angle(u, v):
    return math.degrees(math.acos(dot(u, v) / (norm(u) * norm(v))))


@pytest.mark.parametrize("cell,angles", [
    ((70, 80, 90, 85, 95, 100), (84.994472, 95.005528, 100.000812)),
    ((50, 50, 50, 80, 80, 80), (79.958355, 79.958355, 79.987652)),
    ((50, 60, 70, 80, 95, 90), (80.001166, 94.999408, 89.999794)),
])
def test_triclinic_cell_quirk(run_nb, cell, angles):
    # §3.1: c*_z = (sin γ/sin γ*)/c, so the angles come out slightly off (measured on the original)
    r = run_nb(["-cell", *cell, "-default_F", 1, "-detpixels", 4, "-oversample", 1, "-nonoise", "-nopgm",
                "-trace_pixel", 0, 0])
    a, b, c = r.cfg("a0"), r.cfg("b0"), r.cfg("c0")
    got = (_angle(b, c), _angle(c, a), _angle(a, b))
    assert max(abs(x - y) for x, y in zip(got, angles)) < 2e-6


def test_random_misset_and_misset_seed_collision(run_nb):
    r = run_nb(BASE + ["-default_F", 10, "-misset_seed", 5, "-misset", "random"])
    assert "random orientation misset angles: 142.144470 55.074207 35.266329 deg" in r.out
    # R1: -misset_seed N with three following tokens also acts as -misset N x y (5° about x here)
    plain = run_nb(BASE + ["-default_F", 10, "-misset", 5, 0, 0])
    coll = run_nb(BASE + ["-default_F", 10, "-misset_seed", 5, "0", "0"])
    assert coll.cfg("a0") == plain.cfg("a0") and coll.cfg("c0") == plain.cfg("c0")
    assert coll.cfg("b0") != run_nb(BASE + ["-default_F", 10]).cfg("b0")
