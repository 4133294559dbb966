"""Output files and statistics of a run (spec §9): raw float image, SMV int image with the exact
512-byte header, PGM, noise image, and the statistics / stdout lines of §9.1–§9.5."""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from .constants import A_PER_M, MM_PER_M, RTD


def g(x) -> str:
    """C printf("%g") with glibc's spelling of NaN."""
    x = float(x)
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return "%g" % x


# ------------------------------------------------------------------------------- statistics

def statistics(setup, image: np.ndarray, rendered: np.ndarray, in_roi: np.ndarray) -> dict:
    """§9.5: max_I (strict >, row-major, starting at 0) with the Fdet/Sdet of the last sub-pixel,
    mean and rms over rendered pixels, rmsd over all ROI pixels (masked ones included)."""
    v = image.reshape(-1)
    r = rendered.reshape(-1)
    every = bool(r.all())             # the common full frame: no boolean gather
    vals = v.astype(np.float64) if every else v[r].astype(np.float64)   # a one-pixel ROI: no frame-sized copy
    max_I, max_x, max_y = 0.0, 0.0, 0.0
    if vals.size:
        i = int(np.argmax(vals))
        if vals[i] > 0.0:
            max_I = float(vals[i])
            flat = i if every else int(np.nonzero(r)[0][i])
            sp, fp = divmod(flat, int(setup.fpixels))
            os_ = int(setup.oversample)
            sub = float(setup.pixel) / os_
            max_x = sub * (fp * os_ + os_ - 1) + sub / 2.0
            max_y = sub * (sp * os_ + os_ - 1) + sub / 2.0
    n = vals.size
    total = float(np.sum(vals))
    sumsqr = float(np.sum(vals * vals))
    mean = total / max(n, 1)
    rms = math.sqrt(sumsqr / (max(n, 2) - 1))
    roi = in_roi.reshape(-1)
    roi_vals = vals if every and bool(roi.all()) else v[roi].astype(np.float64)
    m = roi_vals.size
    with np.errstate(invalid="ignore", over="ignore"):   # inf/NaN images give NaN statistics, as in C
        rmsd = math.sqrt(float(np.sum((roi_vals - mean) ** 2)) / (max(m, 2) - 1))
    return dict(max_I=max_I, max_I_x=max_x, max_I_y=max_y, mean=mean, rms=rms, rmsd=rmsd,
                sum=total, n=n, nonzero=int(np.count_nonzero(vals)))


def intfile_scale(setup, stats) -> float:
    scale = float(setup.scale)
    if scale <= 0.0:
        scale = 55000.0 / stats["max_I"] if stats["max_I"] > 0.0 else 1.0
    return scale


# ----------------------------------------------------------------------------------- files

def write_float(path, image: np.ndarray) -> None:
    image.astype("<f4").tofile(path)


def smv_header(setup) -> bytes:
    s = setup
    mm = lambda x: float(x) * MM_PER_M  # noqa: E731
    order = "little_endian" if sys.byteorder == "little" else "big_endian"
    pixel = float(s.pixel)
    lines = [
        "{", "HEADER_BYTES=512;", "DIM=2;", f"BYTE_ORDER={order};", "TYPE=unsigned_short;",
        f"SIZE1={int(s.fpixels)};", f"SIZE2={int(s.spixels)};",
        f"PIXEL_SIZE={g(pixel * MM_PER_M)};", f"DISTANCE={g(mm(s.distance))};",
        f"WAVELENGTH={g(float(s.lambda0) * A_PER_M)};",
        f"BEAM_CENTER_X={g(mm(s.Xbeam))};", f"BEAM_CENTER_Y={g(mm(s.Ybeam))};",
        f"ADXV_CENTER_X={g(mm(s.Fbeam))};", f"ADXV_CENTER_Y={g(mm(float(s.detsize_s) - float(s.Sbeam)))};",
        f"MOSFLM_CENTER_X={g(mm(float(s.Sbeam) - pixel / 2))};",
        f"MOSFLM_CENTER_Y={g(mm(float(s.Fbeam) - pixel / 2))};",
        f"DENZO_X_BEAM={g(mm(s.Sbeam))};", f"DENZO_Y_BEAM={g(mm(s.Fbeam))};",
        "DIALS_ORIGIN=" + ",".join(g(x) for x in s.dials_origin),   # no ';' (C quirk, §9.2)
        f"XDS_ORGX={g(s.ORGX)};", f"XDS_ORGY={g(s.ORGY)};",
        f"CLOSE_DISTANCE={g(mm(s.close_distance))};",
        f"PHI={g(float(s.phi0) * RTD)};", f"OSC_START={g(float(s.phi0) * RTD)};",
        f"OSC_RANGE={g(float(s.osc) * RTD)};", f"TWOTHETA={g(float(s.twotheta) * RTD)};",
        "DETECTOR_SN=000;", "BEAMLINE=fake;",
    ]
    text = ("\n".join(lines) + "\n}\f").encode("ascii")
    return text + b" " * max(0, 512 - len(text))


def int_pixels(image: np.ndarray, in_roi: np.ndarray, scale: float, adc: float) -> np.ndarray:
    """ROI pixels: v = float·scale + adc, clipped to [0, 65535], stored floorf(float(v + 0.5))."""
    v = image.astype(np.float64) * scale + adc
    v = np.clip(v, 0.0, 65535.0)
    out = np.floor((v + 0.5).astype(np.float32)).astype(np.uint16)
    return np.where(in_roi, out, np.uint16(0)).astype(np.uint16)


def write_smv(path, setup, pixels: np.ndarray) -> None:
    with open(path, "wb") as fh:
        fh.write(smv_header(setup))
        fh.write(pixels.astype("=u2").tobytes())


def pgm_scale(setup, int_scale: float, stats) -> float:
    if float(setup.pgmscale) > 0.0:
        return float(setup.pgmscale)
    return 250.0 / (5.0 * stats["rmsd"]) if stats["rmsd"] > 0.0 else int_scale


def write_pgm(path, image: np.ndarray, in_roi: np.ndarray, scale: float) -> None:
    v = np.minimum(255.0, image.astype(np.float64) * scale)
    b = np.where(in_roi, np.clip(v, 0.0, 255.0).astype(np.uint8), 0).astype(np.uint8)
    f_n, s_n = image.shape[1], image.shape[0]
    with open(path, "wb") as fh:
        fh.write(f"P5\n{f_n} {s_n}\n# pixels scaled by {g(scale)}\n255\n".encode("ascii"))
        fh.write(b.tobytes())


# ------------------------------------------------------------------------------ orchestration

def stat_lines(setup, stats, omega_sum: float) -> list[str]:
    steps = int(setup.steps)
    return ["", f"solid angle subtended by detector = {g(omega_sum / steps)} steradian "
                f"( {g(100 * omega_sum / steps / 4 / math.pi)}% sphere)"]


def write_outputs(setup, image: np.ndarray, rendered: np.ndarray, in_roi: np.ndarray, stats: dict,
                  cwd=".", write=True) -> list[str]:
    """Write the files the C writes (when `write`) and return the stdout lines, in C order."""
    join = lambda name: os.path.join(cwd, name)  # noqa: E731
    out = [f"writing {setup.floatfile} as {image.size} 4-byte floats"]
    if write:
        write_float(join(setup.floatfile), image)
    out.append(f"max_I = {g(stats['max_I'])}  at {g(stats['max_I_x'])} {g(stats['max_I_y'])}")
    out.append(f"mean= {g(stats['mean'])} rms= {g(stats['rms'])} rmsd= {g(stats['rmsd'])}")
    scale = intfile_scale(setup, stats)
    out.append(f"intfile_scale = {g(scale)}")
    out.append(f"writing {setup.intfile} as 2-byte integers")
    if write:
        write_smv(join(setup.intfile), setup, int_pixels(image, in_roi, scale, float(setup.adc)))
    if setup.write_pgm:
        ps = pgm_scale(setup, scale, stats)
        out.append(f"writing {setup.pgmfile} as 1-byte integers")
        if write:
            write_pgm(join(setup.pgmfile), image, in_roi, ps)
    if setup.write_noise and write:   # the noise generator is sequential and slow: only when writing
        from . import rng
        noise, total, overloads = rng.noise_image(image, (setup.seed, setup.rng_state), float(setup.adc),
                                                  tuple(int(x) for x in setup.roi))
        out.append(f"{total:.0f} photons on noise image ({overloads} overloads)")
        out.append(f"writing {setup.noisefile} as 2-byte integers")
        if write:
            write_smv(join(setup.noisefile), setup, noise)
    return out
