"""Hand-built Setups for unit tests of the kernel (no argv parsing, no files): a cubic crystal in a
MOSFLM-like geometry, small enough to render in milliseconds, with Bragg spots on the detector."""

from __future__ import annotations

import numpy as np

from simulator.model import Setup


def toy_setup(n=24, pixel=1e-4, distance=0.1, cell=50.0, N=5, **kw) -> Setup:
    """n×n detector, beam along +x (MOSFLM axes), cubic cell `cell` Å, N cells per axis."""
    fbeam = sbeam = (n / 2 + 0.5) * pixel
    f, s, o, b = (0.0, 0.0, 1.0), (0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (1.0, 0.0, 0.0)
    pix0 = tuple(-fbeam * f[k] - sbeam * s[k] + distance * b[k] for k in range(3))
    a = cell * 1e-10
    hk = 4
    grid = np.zeros((2 * hk + 2,) * 3)
    rng = np.random.default_rng(7)
    grid[:-1, :-1, :-1] = rng.uniform(10, 100, size=(2 * hk + 1,) * 3)
    base = dict(
        fpixels=n, spixels=n, pixel=pixel, detsize_f=n * pixel, detsize_s=n * pixel,
        distance=distance, close_distance=distance, pix0=pix0, fdet=f, sdet=s, odet=o,
        curved_det=False, point_pixel=False, oversample=1, oversample_thick=False,
        oversample_polar=False, oversample_omega=False, thicksteps=1, thickstep=0.0,
        detector_thick=0.0, mu=0.0, roi=(0, n, 0, n), mask=None, convention="MOSFLM", pivot="BEAM",
        Fbeam=fbeam, Sbeam=sbeam, Fclose=fbeam, Sclose=sbeam, Xbeam=sbeam, Ybeam=fbeam,
        ORGX=fbeam / pixel + 0.5, ORGY=sbeam / pixel + 0.5, dials_origin=(0.0, 0.0, 0.0),
        twotheta=0.0, twotheta_axis=(0.0, 0.0, -1.0),
        lambda0=1e-10, fluence=1.25932015286227086e29, polar_K=0.0, nopolar=False,
        polar_vector=(0.0, 0.0, 1.0), beam=b, source_dirs=[(-1.0, 0.0, 0.0)], source_lambdas=[1e-10],
        dmin=0.0, water_size=0.0,
        a0=(a, 0.0, 0.0), b0=(0.0, a, 0.0), c0=(0.0, 0.0, a),
        a_star=(1 / cell, 0.0, 0.0), b_star=(0.0, 1 / cell, 0.0), c_star=(0.0, 0.0, 1 / cell),
        Na=float(N), Nb=float(N), Nc=float(N), xtal_shape="SQUARE", fudge=1.0,
        spindle=(0.0, 0.0, 1.0), phi0=0.0, phistep=0.0, phisteps=1, osc=0.0,
        mosaic_spread=0.0, mosaic_umats=[(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)],
        hkl_grid=grid, h_min=-hk, h_max=hk, k_min=-hk, k_max=hk, l_min=-hk, l_max=hk,
        hkls=(2 * hk + 1) ** 3, default_F=0.0, interpolate=0, steps=1,
        floatfile="floatimage.bin", intfile="intimage.img", pgmfile="image.pgm",
        noisefile="noiseimage.img", write_pgm=False, write_noise=False, scale=0.0, pgmscale=0.0,
        adc=40.0, seed=-1, rng_state=((0,) * 32, 0), printout=False, printout_pixel=(-1, -1),
        progress=False,
    )
    base.update(kw)
    if "steps" not in kw:
        base["steps"] = (len(base["source_dirs"]) * len(base["mosaic_umats"]) * base["phisteps"]
                         * base["oversample"] ** 2)
    return Setup(**base)
