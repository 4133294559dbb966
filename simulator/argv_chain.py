"""The C option chain (spec §1.2–§1.12), in its fixed order, one group of options per function.

Every group sees the same token; a group returns True where the C `continue`s (the rest of the chain is
skipped for that token). Values are read with C atof/atoi from the following tokens, which are not
consumed; an option whose arguments are missing is skipped silently."""

from __future__ import annotations

import math

from .constants import (A_PER_M, CM3_PER_M3, HC_EV_ANGSTROM, M_PER_A, M_PER_UM, MM_PER_M, MRAD_PER_RAD,
                        PERCENT, RTD, UM_PER_M)
from .cparse import atof, atoi
from .geometry import div


class Token:
    """One '-' token at args[i] (args[0] is the program), with the C's look-ahead tests and readers."""

    def __init__(self, tok: str, i: int, args: list, put):
        self.tok, self.i, self.args, self.put = tok, i, args, put
        self.n = len(tok)
        self.has1, self.has2, self.has3, self.has4 = (self.has(k) for k in (1, 2, 3, 4))
        self.nxt = args[i + 1] if self.has1 else ""

    def has(self, k: int) -> bool:
        """argc > i + k: the k-th following token exists."""
        return len(self.args) > self.i + k

    def arg(self, k: int = 1) -> str:
        return self.args[self.i + k]

    def f(self, k: int = 1) -> float:
        return atof(self.args[self.i + k])

    def d(self, k: int = 1) -> int:
        return atoi(self.args[self.i + k])

    def vec3(self) -> tuple:
        return (self.f(1), self.f(2), self.f(3))


def parse_token(t: Token, r1: bool = True) -> None:
    """One token against the whole option chain, in the fixed C order."""
    for group in CHAIN:
        if group(t, r1):
            return


def _crystal_size(t: Token, r1: bool) -> bool:
    """Crystal size in cells: these options end the chain."""
    if "-Na" in t.tok and t.has1:
        t.put(Na=t.d())
        return True
    if "-Nb" in t.tok and t.has1:
        t.put(Nb=t.d())
        return True
    if "-Nc" in t.tok and t.has1:
        t.put(Nc=t.d())
        return True
    if t.tok == "-N" and t.has1:
        t.put(Na=t.d(), Nb=t.d(), Nc=t.d())
        return True
    return False


def _cell_and_files(t: Token, r1: bool) -> bool:
    """Cell, misset, matrix and structure-factor inputs; -misset random ends the chain."""
    # -cell: up to six values, stopping at a missing token or one that starts with '-'
    if "-cell" in t.tok and t.has1:
        t.put(user_cell=True)
        names = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
        for k, name in enumerate(names, start=1):
            if not t.has(k) or t.arg(k).startswith("-"):
                break
            value = t.f(k)
            t.put(**{name: value if k <= 3 else value / RTD})
    # misset (R1: substring, so -misset_seed also fires here; R2: the exact token)
    is_misset = "-misset" in t.tok if r1 else t.tok == "-misset"
    if is_misset and t.has1 and "rand" in t.nxt:
        t.put(misset_mode="random")
        return True
    if is_misset and t.has3:
        t.put(misset_mode="angles", misset_x=t.f(1) / RTD, misset_y=t.f(2) / RTD, misset_z=t.f(3) / RTD)
    if "-misset_seed" in t.tok and t.has1:
        t.put(misset_seed=-t.d())
    if "-mat" in t.tok and t.has1:
        t.put(matfile=t.nxt)
    if "-hkl" in t.tok and t.has1:
        t.put(hklfile=t.nxt)
    if r1 and "-dump" in t.tok and t.has1:  # R1 only: -dump_pixel also renames the cache
        t.put(dumpfile=t.nxt)
    if "-default_F" in t.tok and t.has1:
        t.put(default_F=t.f())
    if "-interpolate" in t.tok:
        t.put(interpolate=1)
    if "-nointerpolate" in t.tok:
        t.put(interpolate=0)
    return False


def _sample(t: Token, r1: bool) -> bool:
    """Sample size, density, crystal shape and fudge."""
    if ("-xtalsize" in t.tok or "-xtal_size" in t.tok or "-samplesize" in t.tok or "-sample_size" in t.tok) and t.has1:
        s = t.f() / MM_PER_M
        t.put(sample_x=s, sample_y=s, sample_z=s)
    if ("-xtal_thick" in t.tok or "-xtal_x" in t.tok or "-sample_thick" in t.tok or "-sample_x" in t.tok) and t.has1:
        t.put(sample_x=t.f() / MM_PER_M)
    if ("-xtal_width" in t.tok or "-xtal_y" in t.tok or "-sample_width" in t.tok or "-sample_y" in t.tok
            or "-width" in t.tok) and t.has1:
        t.put(sample_y=t.f() / MM_PER_M)
    if ("-xtal_heigh" in t.tok or "-xtal_z" in t.tok or "-sample_heigh" in t.tok or "-sample_z" in t.tok
            or "-heigh" in t.tok) and t.has1:
        t.put(sample_z=t.f() / MM_PER_M)
    if ("-density" in t.tok or "-sample_den" in t.tok) and t.has1:
        t.put(density=t.f() * CM3_PER_M3)
    if (t.tok == "-MW" or "-molec" in t.tok) and t.has1:
        t.put(molecular_weight=t.f())
    if "-square_xtal" in t.tok:
        t.put(xtal_shape="SQUARE")
    if "-round_xtal" in t.tok:
        t.put(xtal_shape="ROUND")
    if "-gauss_xtal" in t.tok:
        t.put(xtal_shape="GAUSS")
    if "-binary_spots" in t.tok or "-tophat_spots" in t.tok:
        t.put(xtal_shape="TOPHAT")
    if "-fudge" in t.tok and t.has1:
        t.put(fudge=t.f())
    return False


def _beam(t: Token, r1: bool) -> bool:
    """Wavelength, dispersion, divergence, polarization, fluence and water."""
    if ("-lambda" in t.tok or "-wave" in t.tok) and t.has1:
        t.put(lambda0=t.f() / A_PER_M)
    if "-energy" in t.tok and t.has1:
        t.put(lambda0=div(HC_EV_ANGSTROM, t.f()) / A_PER_M)   # -energy 0 gives inf, as in C
    if "-dispersion" in t.tok and t.has1:
        t.put(dispersion=t.f() / PERCENT)
    if "-dispsteps" in t.tok and t.has1:
        t.put(dispsteps=t.d())
    if "-divergence" in t.tok and t.has1:
        t.put(hdivrange=t.f() / MRAD_PER_RAD, vdivrange=t.f() / MRAD_PER_RAD)
    if "-hdivrange" in t.tok and t.has1:
        t.put(hdivrange=t.f() / MRAD_PER_RAD)
    if "-vdivrange" in t.tok and t.has1:
        t.put(vdivrange=t.f() / MRAD_PER_RAD)
    if "-hdivstep" in t.tok and t.n == 9 and t.has1:
        t.put(hdivstep=t.f() / MRAD_PER_RAD)
    if "-vdivstep" in t.tok and t.n == 9 and t.has1:
        t.put(vdivstep=t.f() / MRAD_PER_RAD)
    if "-hdivsteps" in t.tok and t.has1:
        t.put(hdivsteps=t.d())
    if "-vdivsteps" in t.tok and t.has1:
        t.put(vdivsteps=t.d())
    if "-divsteps" in t.tok and t.has1:
        t.put(hdivsteps=t.d(), vdivsteps=t.d())
    if "-round_div" in t.tok:
        t.put(round_div=True)
    if "-square_div" in t.tok:
        t.put(round_div=False)
    if "-sourcefile" in t.tok and t.has1:
        t.put(sourcefile=t.nxt)
    if "-polar" in t.tok and t.n == 6 and t.has1:
        t.put(polar_K=t.f(), nopolar=False)
    if "-nopolar" in t.tok:
        t.put(nopolar=True)
    if "-polar_vector" in t.tok and t.has3:
        t.put(polar_vector=t.vec3(), convention="CUSTOM")
    if "-beam_vector" in t.tok and t.has3:
        t.put(beam_vector=t.vec3(), convention="CUSTOM")
    if "-fluence" in t.tok and t.has1:
        t.put(fluence=t.f())
    if "-flux" in t.tok and t.has1:
        t.put(flux=t.f())
    if "-exposure" in t.tok and t.has1:
        t.put(exposure=t.f())
    if "-beamsize" in t.tok and t.has1:
        t.put(beamsize=t.f() / MM_PER_M)
    if "-water" in t.tok and t.has1:
        t.put(water_size=t.f() / UM_PER_M)
    if "-coherent" in t.tok:
        t.put(coherent=True)
    return False


def _detector(t: Token, r1: bool) -> bool:
    """Detector size, distances, beam centre, rotations, vectors and thickness."""
    if "-pixel" in t.tok and t.has1:
        t.put(pixel=t.f() / MM_PER_M)
    if "-detpixels" in t.tok and t.n == 10 and t.has1:
        t.put(fpixels=t.d(), spixels=t.d())
    if ("-detpixels_f" in t.tok or "-detpixels_x" in t.tok) and t.has1:
        t.put(fpixels=t.d())
    if ("-detpixels_s" in t.tok or "-detpixels_y" in t.tok) and t.has1:
        t.put(spixels=t.d())
    if "-detsize" in t.tok and t.n == 8 and t.has1:
        t.put(detsize_f=t.f() / MM_PER_M, detsize_s=t.f() / MM_PER_M)
    if "-detsize_f" in t.tok and t.has1:
        t.put(detsize_f=t.f() / MM_PER_M)
    if "-detsize_s" in t.tok and t.has1:
        t.put(detsize_s=t.f() / MM_PER_M)
    if "-distance" in t.tok and t.has1:
        t.put(distance=t.f() / MM_PER_M, pivot="BEAM")
    if "-close_distance" in t.tok and t.has1:
        t.put(close_distance=t.f() / MM_PER_M, pivot="SAMPLE")
    if "-Xbeam" in t.tok and t.has1:
        t.put(Xbeam=t.f() / MM_PER_M, pivot="BEAM")
    if "-Ybeam" in t.tok and t.has1:
        t.put(Ybeam=t.f() / MM_PER_M, pivot="BEAM")
    if "-Xclose" in t.tok and t.has1:
        t.put(Xclose=t.f() / MM_PER_M, pivot="SAMPLE")
    if "-Yclose" in t.tok and t.has1:
        t.put(Yclose=t.f() / MM_PER_M, pivot="SAMPLE")
    if "-ORGX" in t.tok and t.has1:
        t.put(ORGX=t.f(), pivot="SAMPLE")
    if "-ORGY" in t.tok and t.has1:
        t.put(ORGY=t.f(), pivot="SAMPLE")
    if "-detector_rotx" in t.tok and t.has1:
        t.put(detector_rotx=t.f() / RTD)
    if "-detector_roty" in t.tok and t.has1:
        t.put(detector_roty=t.f() / RTD)
    if "-detector_rotz" in t.tok and t.has1:
        t.put(detector_rotz=t.f() / RTD)
    if "-twotheta" in t.tok and t.has1:  # -twotheta_axis fires here too (§1.12)
        t.put(twotheta=t.f() / RTD, pivot="SAMPLE")
    if "-twotheta_axis" in t.tok and t.has3:
        t.put(twotheta_axis=t.vec3(), convention="CUSTOM")
    if "-fdet_vector" in t.tok and t.has3:
        t.put(fdet_vector=t.vec3(), convention="CUSTOM")
    if "-sdet_vector" in t.tok and t.has3:
        t.put(sdet_vector=t.vec3(), convention="CUSTOM")
    if "-odet_vector" in t.tok and t.has3:
        t.put(odet_vector=t.vec3(), convention="CUSTOM")
    if "-pix0_vector" in t.tok and t.has3:  # -pix0_vector_mm by substring; record which one came last
        t.put(pix0_vector=t.vec3(), pix0_vector_mm="-pix0_vector_mm" in t.tok, convention="CUSTOM")
    if "-curved_det" in t.tok and t.has1:  # C checks argc > i+1: ignored as the last token
        t.put(curved_det=True)
    if "-point_pixel" in t.tok:
        t.put(point_pixel=True)
    if "-detector_abs" in t.tok and t.has1:  # C: argc >= i+1 (reads NULL at the end); we skip instead
        if "inf" in t.nxt or atof(t.nxt) == 0.0:
            t.put(detector_thick=0.0, detector_mu=0.0)
        else:
            t.put(detector_mu=div(1.0, atof(t.nxt) * M_PER_UM))   # a tiny value underflows to 0: inf
    if "-detector_thick" in t.tok and t.n == 15 and t.has1:
        t.put(detector_thick=t.f() * M_PER_UM)
    if ("-detector_thicksteps" in t.tok or "-thicksteps" in t.tok) and t.has1:
        t.put(detector_thicksteps=t.d())
    return False


def _conventions_and_rotation(t: Token, r1: bool) -> bool:
    """Conventions and pivot, then φ rotation and mosaicity."""
    if "-mosflm" in t.tok:
        t.put(convention="MOSFLM", pivot="BEAM")
    if "-xds" in t.tok:
        t.put(convention="XDS", pivot="SAMPLE")
    if "-adxv" in t.tok:
        t.put(convention="ADXV", pivot="BEAM")
    if "-denzo" in t.tok:
        t.put(convention="DENZO", pivot="BEAM")
    if "-dials" in t.tok:
        t.put(convention="DIALS", pivot="SAMPLE")
    if "-pivot" in t.tok and t.has1:
        if "sample" in t.nxt:
            t.put(pivot="SAMPLE")
        if "beam" in t.nxt:
            t.put(pivot="BEAM")
    if "-phi" in t.tok and t.n == 4 and t.has1:
        t.put(phi0=t.f() / RTD)
    if "-osc" in t.tok and t.has1:
        t.put(osc=t.f() / RTD)
    if "-phistep" in t.tok and t.n == 8 and t.has1:
        t.put(phistep=t.f() / RTD)
    if "-phisteps" in t.tok and t.has1:
        t.put(phisteps=t.d())
    if "-spindle_axis" in t.tok and t.has3:
        t.put(spindle_axis=t.vec3(), convention="CUSTOM")
    if (t.tok == "-mosaic" or "-mosaici" in t.tok or "-mosaic_spr" in t.tok) and t.has1:
        t.put(mosaic_spread=t.f() / RTD)
    if "-mosaic_dom" in t.tok and t.has1:
        t.put(mosaic_domains=t.d())
    if "-mosaic_seed" in t.tok and t.has1:
        t.put(mosaic_seed=-t.d())
    return False


def _sampling(t: Token, r1: bool) -> bool:
    """Oversampling (the three flags end the chain so -oversample does not read a value), ROI, dmin."""
    if "-oversample_thick" in t.tok:
        t.put(oversample_thick=True)
        return True
    if "-oversample_polar" in t.tok:
        t.put(oversample_polar=True)
        return True
    if "-oversample_omega" in t.tok:
        t.put(oversample_omega=True)
        return True
    if "-oversample" in t.tok and t.has1:
        t.put(oversample=t.d())
    if "-roi" in t.tok and t.has4:
        t.put(roi=(t.d(1), t.d(2), t.d(3), t.d(4)))
    if "-dmin" in t.tok and t.has1:
        t.put(dmin=t.f() * M_PER_A)
    return False


def _outputs_and_misc(t: Token, r1: bool) -> bool:
    """Output files, noise, scaling, headers, printout, stol tables, trace pixel."""
    if ("-floatfile" in t.tok or "-floatimage" in t.tok) and t.has1:
        t.put(floatfile=t.nxt)
    if ("-intfile" in t.tok or "-intimage" in t.tok) and t.has1:
        t.put(intfile=t.nxt)
    if ("-pgmfile" in t.tok or "-pgmimage" in t.tok) and t.has1:
        t.put(pgmfile=t.nxt, write_pgm=True)
    if ("-noisefile" in t.tok or "-noiseimage" in t.tok) and t.has1:
        t.put(noisefile=t.nxt, write_noise=True)
    if "-nonoise" in t.tok:
        t.put(write_noise=False)
    if "-nopgm" in t.tok:
        t.put(write_pgm=False)
    if "-scale" in t.tok and t.has1:
        t.put(scale=t.f())
    if "-pgmscale" in t.tok and t.has1:
        t.put(pgmscale=t.f(), write_pgm=True)
    if "-adc" in t.tok and t.has1:
        t.put(adc=t.f())
    if "-stolout" in t.tok and t.n > 7 and t.has1:
        t.put(stolout=t.nxt)
    if "-seed" in t.tok and t.has1:
        t.put(seed=-t.d())
    if "-img" in t.tok and t.has1:
        t.put(img_file=t.nxt)
    if "-mask" in t.tok and t.has1:
        t.put(mask_file=t.nxt)
    if "-printout" in t.tok:
        t.put(printout=True)
    if "-printout_pixel" in t.tok and t.has2:
        t.put(printout_pixel=(t.d(1), t.d(2)), printout=True)
    if "-noprogress" in t.tok:
        t.put(progress=False)
    if "-progress" in t.tok:
        t.put(progress=True)
    if "-stol" in t.tok and t.n == 5 and t.has1:
        t.put(stolfile=t.nxt, stol_mult=A_PER_M)
    if "-4stol" in t.tok and t.n == 6 and t.has1:
        t.put(stolfile=t.nxt, stol_mult=A_PER_M / 4)
    if "-Q" in t.tok and t.n == 2 and t.has1:
        t.put(stolfile=t.nxt, stol_mult=A_PER_M / math.pi / 4)
    if ("-trace_pixel" in t.tok or (not r1 and "-dump_pixel" in t.tok)) and t.has2:  # (slow, fast)
        t.put(trace_pixel=(t.d(1), t.d(2)))
    return False


CHAIN = (_crystal_size, _cell_and_files, _sample, _beam, _detector, _conventions_and_rotation, _sampling,
         _outputs_and_misc)
