"""Trace emission (docs/contracts.md §1): the config echo from the Setup and the per-pixel lines from
the values the kernel's taps recorded for the traced pixel (taps.py), never recomputed afterwards."""

from __future__ import annotations

import math

import numpy as np

from .constants import A_PER_M, R_E_SQR, RTD


def f17(x) -> str:
    """C printf("%.17g") for a double, glibc spelling of the non-finite values ('-nan', '-0')."""
    x = float(x)
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return "%.17g" % x


def _v(vec) -> str:
    return ",".join(f17(c) for c in vec)


def config_lines(setup, prefix="TRACE_PY_CONFIG") -> list[str]:
    s = setup
    has = bool(s.hkls)
    rng = [s.h_min, s.h_max, s.k_min, s.k_max, s.l_min, s.l_max] if has else [0] * 6
    roi = ",".join(str(int(x)) for x in s.roi)
    deg = lambda x: f17(float(x) * RTD)  # noqa: E731
    lines = [
        f"convention={s.convention} pivot={s.pivot} fpixels={int(s.fpixels)} spixels={int(s.spixels)} "
        f"pixel_size_m={f17(s.pixel)} distance_m={f17(s.distance)} close_distance_m={f17(s.close_distance)} "
        f"Fbeam_m={f17(s.Fbeam)} Sbeam_m={f17(s.Sbeam)} Fclose_m={f17(s.Fclose)} Sclose_m={f17(s.Sclose)}",
        f"lambda0_m={f17(s.lambda0)} fluence={f17(s.fluence)} r_e_sqr={f17(R_E_SQR)} steps={int(s.steps)} "
        f"sources={len(s.source_dirs)} mosaic_domains={len(s.mosaic_umats)} "
        f"mosaic_spread_deg={deg(s.mosaic_spread)} phisteps={int(s.phisteps)} phi0_deg={deg(s.phi0)} "
        f"phistep_deg={deg(s.phistep)} osc_deg={deg(s.osc)} oversample={int(s.oversample)} "
        f"oversample_thick={int(bool(s.oversample_thick))} oversample_polar={int(bool(s.oversample_polar))} "
        f"oversample_omega={int(bool(s.oversample_omega))} detector_thicksteps={int(s.thicksteps)} "
        f"detector_thick_m={f17(s.detector_thick)} detector_mu={f17(s.mu)} "
        f"water_size_m={f17(s.water_size)} dmin_m={f17(s.dmin)}",
        f"Na={f17(s.Na)} Nb={f17(s.Nb)} Nc={f17(s.Nc)} xtal_shape={str(s.xtal_shape).upper()} "
        f"fudge={f17(s.fudge)} interpolate={int(s.interpolate)} default_F={f17(s.default_F)} "
        f"hkl_count={int(s.hkls)} h_min={int(rng[0])} h_max={int(rng[1])} k_min={int(rng[2])} "
        f"k_max={int(rng[3])} l_min={int(rng[4])} l_max={int(rng[5])}",
        f"polarization_K={f17(s.polar_K)} nopolar={int(bool(s.nopolar))} point_pixel={int(bool(s.point_pixel))} "
        f"curved_det={int(bool(s.curved_det))} roi={roi}",
        f"fdet={_v(s.fdet)} sdet={_v(s.sdet)} odet={_v(s.odet)} beam={_v(s.beam)} spindle={_v(s.spindle)} "
        f"polar_axis={_v(s.polar_vector)} twotheta_axis={_v(s.twotheta_axis)} twotheta_deg={deg(s.twotheta)} "
        f"pix0={_v(s.pix0)} a0={_v(s.a0)} b0={_v(s.b0)} c0={_v(s.c0)}",
    ]
    return [f"{prefix} {ln}" for ln in lines]


class _Lines:
    """The trace lines of one pixel, in order; `out` is emptied as they are handed on (iter_pixel_lines)."""

    def __init__(self, prefix):
        self.prefix, self.out = prefix, []

    def __call__(self, key, *vals, ints=False):
        self.out.append(f"{self.prefix}: {key} " + " ".join(str(int(v)) if ints else f17(v) for v in vals))

    def drain(self):
        yield from self.out
        self.out.clear()


def pixel_lines(setup, keep: dict, os_: int, prefix="TRACE_PY") -> list[str]:
    """Blocks A/B per (layer, subS, subF), per-φ lines, then block C (contracts §1.2–1.3)."""
    return list(iter_pixel_lines(setup, keep, os_, prefix))


def iter_pixel_lines(setup, keep: dict, os_: int, prefix="TRACE_PY"):
    """pixel_lines one sub-pixel block at a time, for writing them as they are made (a pixel traced with
    a large -oversample prints millions of lines)."""
    k = {n: (tuple(np.asarray(x, dtype=np.float64) for x in v) if isinstance(v, tuple) else v)
         for n, v in keep.items()}
    for n in ("R", "omega_all", "omega_eff", "F_latt", "F_cell", "I_term", "phi"):
        k[n] = np.asarray(k[n], np.float64)   # omega_eff: Ω as the loop holds it (trace-format.md)
    k["surv"], k["evaluated"] = np.asarray(k["surv"]), np.asarray(k["evaluated"])
    line = _Lines(prefix)
    T, J = k["R"].shape
    for t in range(T):
        for j in range(J):
            _block_a(line, setup, k, t, j)
            if bool(k["surv"][t, j, 0]):
                _block_b(line, setup, k, t, j, os_)
            yield from line.drain()
    _block_c(line, setup, k)
    yield from line.drain()


def _block_a(line, setup, k, t, j):
    """Block A: the sub-pixel's geometry and scattering vector (first source)."""
    X, d, q, R = k["X"], k["d"], k["q"], k["R"]
    close = float(setup.close_distance)
    lam0 = float(k["lam"][0])
    line("pix0_vector_meters", *setup.pix0)
    line("fdet_vec", *setup.fdet)
    line("sdet_vec", *setup.sdet)
    line("pixel_pos_meters", *(X[c][t, j] for c in range(3)))
    line("R_distance_meters", R[t, j])
    line("omega_pixel_sr", k["omega_eff"][t, j])
    line("close_distance_meters", close)
    line("obliquity_factor", float(close) / float(R[t, j]))   # one IEEE division, as C
    line("diffracted_vec", *(d[c][t, j] for c in range(3)))
    line("incident_vec", *(float(c[0]) for c in k["inc"]))
    line("lambda_meters", lam0)
    line("lambda_angstroms", lam0 * A_PER_M)
    line("scattering_vec_A_inv", *(q[c][t, j, 0] for c in range(3)))
    line("omega_subpixel_sr", k["omega_all"][t, j])


def _block_b(line, setup, k, t, j, os_):
    """Block B: the lattice (first source, φ step 0, domain 0), then one line per φ step."""
    hkl, hkl0, Fabc, F_latt, F_cell = k["hkl"], k["hkl0"], k["F_abc"], k["F_latt"], k["F_cell"]
    lat = k["lat"]
    if k.get("first_run") is not None and tuple(k["first_run"]) == (t, j, 0):
        lat = k["lat_first"]
    for name, vec in zip(("rot_a_angstroms", "rot_b_angstroms", "rot_c_angstroms"), lat):
        line(name, *(float(vec[c][0, 0]) * A_PER_M for c in range(3)))
    for name, vec in zip(("rot_a_star_A_inv", "rot_b_star_A_inv", "rot_c_star_A_inv"),
                         (setup.a_star, setup.b_star, setup.c_star)):
        line(name, *vec)
    idx = (t, j, 0, 0, 0)
    line("hkl_frac", *(hkl[c][idx] for c in range(3)))
    line("hkl_rounded", *(hkl0[c][idx] for c in range(3)), ints=True)
    line("F_latt_a", Fabc[0][idx])
    line("F_latt_b", Fabc[1][idx])
    line("F_latt_c", Fabc[2][idx])
    line("F_latt", F_latt[idx])
    subS, subF = divmod(j, os_)
    for tic in range(k["phi"].shape[0]):
        i6 = (t, j, 0, tic, 0)
        parts = [f"phi_tic={tic}", f"phi_deg={f17(k['phi'][tic] * RTD)}", f"k_frac={f17(hkl[1][i6])}",
                 f"F_latt_b={f17(Fabc[1][i6])}", f"F_latt={f17(F_latt[i6])}",
                 f"h_frac={f17(hkl[0][i6])}", f"l_frac={f17(hkl[2][i6])}",
                 f"F_latt_a={f17(Fabc[0][i6])}", f"F_latt_c={f17(Fabc[2][i6])}"]
        if bool(k["evaluated"][i6]):   # I_term: the kernel's F_cell²·F_latt², as it accumulates it
            parts += [f"F_cell={f17(F_cell[i6])}", f"I_term={f17(k['I_term'][i6])}"]
        parts += [f"layer={t}", f"subS={subS}", f"subF={subF}"]
        # the step's rotated real basis, mosaic domain 0, in Å (one-sided keys rot_[abc]_[xyz])
        parts += [f"rot_{n}_{x}={f17(float(vec[ci][tic, 0]) * A_PER_M)}"
                  for n, vec in zip("abc", lat) for ci, x in enumerate("xyz")]
        line.out.append(f"{line.prefix}_PHI " + " ".join(parts))
        if tic == 0 and bool(k["evaluated"][idx]):
            line("F_cell", F_cell[idx])


def _block_c(line, setup, k):
    """Block C: the accumulation, scale factors and the final value of the pixel."""
    line("I_before_scaling", float(k["I"]))
    line("r_e_meters", math.sqrt(R_E_SQR))
    line("r_e_sqr", R_E_SQR)
    line("fluence_photons_per_m2", setup.fluence)
    line("steps", setup.steps, ints=True)
    line("oversample_thick", int(bool(setup.oversample_thick)), ints=True)
    line("oversample_polar", int(bool(setup.oversample_polar)), ints=True)
    line("oversample_omega", int(bool(setup.oversample_omega)), ints=True)
    # the loop's variables as it leaves them, whether or not the final value uses them
    line("capture_fraction", float(k["capture"]))
    line("polar", float(k["polar"]))
    line("omega_pixel", float(k["omega"]))
    i_end, d_end = (tuple(float(x) for x in v) for v in k["loop_end"])
    line("cos_2theta", i_end[0] * d_end[0] + i_end[1] * d_end[1] + i_end[2] * d_end[2])
    val = float(k["val"])
    line("I_pixel_final", val)
    line("floatimage_accumulated", float(np.float32(0.0 + val)))
