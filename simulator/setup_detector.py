"""The detector part of the setup (spec §4): size, close-point defaults, ROI, convention vectors and
beam centre, normalization, thickness layers, and the placement of the rotated detector.

Each function is one step of spec §1.14 acting on the setup draft `st` (setup.py runs them in the C
order, with the beam, crystal and scan steps in between); `fields(st)` gives the Setup fields this
part owns."""

from __future__ import annotations

from .constants import DBL_MIN, MM_PER_M
from .geometry import ceil, cross, div, dot, isnan, magnitude, rotate, rotate_axis, unit, value
from .setup_scan import resolve_steps

# convention -> (beam, fdet, sdet, odet, twotheta_axis, polar, spindle), spec §4.3
CONVENTION_VECTORS = {
    "ADXV": ((0, 0, 1), (1, 0, 0), (0, -1, 0), (0, 0, 1), (-1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "MOSFLM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "DENZO": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "XDS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "DIALS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0), (0, 1, 0), (0, 1, 0)),
    # CUSTOM: the C declaration initial values, used for any vector the user did not give
    "CUSTOM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)),
}
FORCED_PIVOT = {"ADXV": "BEAM", "MOSFLM": "BEAM", "DENZO": "BEAM", "XDS": "SAMPLE", "DIALS": "SAMPLE"}


def fvec(v):
    return tuple(float(x) if isinstance(x, int) else x for x in v)


def size(st) -> None:
    """Step 1 (§4.1): pixel counts from the detector size, or the size from the counts."""
    o = st.o
    st.pixel = o.pixel
    st.detsize_f, st.detsize_s = o.detsize_f, o.detsize_s
    if o.fpixels != 0:
        st.detsize_f = st.pixel * o.fpixels
    if o.spixels != 0:
        st.detsize_s = st.pixel * o.spixels
    st.fpixels = ceil(div(st.detsize_f, st.pixel) - 0.5)
    st.spixels = ceil(div(st.detsize_s, st.pixel) - 0.5)


def close_point_and_roi(st) -> None:
    """Steps 3–4 (§4.2): close-point defaults, the beam centre starting there, and the ROI (inclusive;
    maxima default one past the last pixel, as the C stores them)."""
    o, pixel = st.o, st.pixel
    st.Fclose = (o.ORGX - 0.5) * pixel if not isnan(o.ORGX) else st.detsize_f / 2.0
    st.Sclose = (o.ORGY - 0.5) * pixel if not isnan(o.ORGY) else st.detsize_s / 2.0
    st.Xclose = st.Fclose if isnan(o.Xclose) else o.Xclose
    st.Yclose = st.Sclose if isnan(o.Yclose) else o.Yclose
    st.Fbeam, st.Sbeam = st.Fclose, st.Sclose
    xmin, xmax, ymin, ymax = o.roi
    st.roi = (0 if xmin < 0 else xmin, st.fpixels if xmax < 0 else xmax,
              0 if ymin < 0 else ymin, st.spixels if ymax < 0 else ymax)


def convention(st) -> None:
    """Step 5 (§4.3): pivot, the convention's vectors (beam, detector, two-theta axis, polarization,
    spindle) and the beam centre in that convention."""
    o = st.o
    conv = st.convention = o.convention
    st.pivot = FORCED_PIVOT.get(conv, o.pivot)
    defaults = CONVENTION_VECTORS[conv]
    if conv == "CUSTOM":
        given = (o.beam_vector, o.fdet_vector, o.sdet_vector, o.odet_vector, o.twotheta_axis,
                 o.polar_vector, o.spindle_axis)
        vecs = [fvec(g if g is not None else d) for g, d in zip(given, defaults)]
    else:
        vecs = [fvec(d) for d in defaults]
    st.beam, st.fdet, st.sdet, st.odet, st.twotheta_axis, st.polar_vector, st.spindle = vecs
    _beam_centre(st, conv)


def _beam_centre(st, conv) -> None:
    o, pixel = st.o, st.pixel
    Xbeam, Ybeam = o.Xbeam, o.Ybeam
    if conv in ("MOSFLM", "DENZO"):
        if isnan(Xbeam):
            Xbeam = (st.detsize_s + pixel) / 2.0
        if isnan(Ybeam):
            Ybeam = (st.detsize_f + pixel) / 2.0
        shift = 0.5 if conv == "MOSFLM" else 0.0
        st.Fbeam = Ybeam + shift * pixel
        st.Sbeam = Xbeam + shift * pixel
    elif conv == "ADXV":
        if isnan(Xbeam):
            Xbeam = (st.detsize_f + pixel) / 2.0
        if isnan(Ybeam):
            Ybeam = (st.detsize_s - pixel) / 2.0
        st.Fbeam = Xbeam
        st.Sbeam = st.detsize_s - Ybeam
    else:  # XDS, DIALS, CUSTOM
        if isnan(Xbeam):
            Xbeam = st.Xclose
        if isnan(Ybeam):
            Ybeam = st.Yclose
        st.Fbeam, st.Sbeam = Xbeam, Ybeam
        if conv == "CUSTOM":
            st.Fclose, st.Sclose = Xbeam, Ybeam
    st.Xbeam, st.Ybeam = Xbeam, Ybeam


def normalize(st) -> None:
    """Step 6 (§4.4): unit vectors; an odet that is not a unit vector is replaced by f × s."""
    st.beam, st.fdet, st.sdet = unit(st.beam), unit(st.fdet), unit(st.sdet)
    omag = magnitude(st.odet)
    st.odet = unit(st.odet)
    if omag != 1.0:
        st.say("WARNING: auto-generating odet_vector")
        st.odet = unit(cross(st.fdet, st.sdet))
    st.polar_vector, st.spindle = unit(st.polar_vector), unit(st.spindle)


def thickness(st) -> None:
    """Step 9, detector layers (§5.2 'thick', §6.4): layers, thickness, step, attenuation."""
    o = st.o
    st.thicksteps, st.detector_thick, st.thickstep = resolve_steps(o.detector_thicksteps, o.detector_thick,
                                                                   -1.0, "thick")
    st.mu = o.detector_mu
    if st.detector_thick > 0 and st.mu < 0:
        st.mu = 1.0 / st.detector_thick
        st.say(f"WARNING: detector attenuation depth not specified, assuming {value(st.mu):g} um")


def place(st) -> None:
    """Step 10 (§4.5): the rotated detector, P0 and the derived beam centre and distances."""
    o = st.o
    st.geo = place_detector(o, st.pivot, st.quirks, st.fdet, st.sdet, st.odet, st.beam, st.twotheta_axis,
                            o.twotheta, (o.detector_rotx, o.detector_roty, o.detector_rotz),
                            st.Fclose, st.Sclose, st.Fbeam, st.Sbeam, o.distance, o.close_distance, st.pixel)
    _echo_placement(st, st.geo["steps"])
    b, g = st.beam, st.geo
    st.say("XDS incident beam: %g %g %g" % (value(dot(b, g["fdet"])), value(dot(b, g["sdet"])),
                                            value(dot(b, g["odet"]))))


def _echo_placement(st, k) -> None:
    """Record the placement's intermediate values in R2's print order (simulator/trace_r2.py)."""
    o, echo = st.o, st.echo
    rots, fso, tau = (o.detector_rotx, o.detector_roty, o.detector_rotz), (st.fdet, st.sdet, st.odet), o.twotheta
    if st.pivot == "SAMPLE":
        echo.sample_block(st.convention, rots, tau, st.Xclose, st.Yclose, st.pixel, fso, st.Fclose, st.Sclose,
                          k["close_distance"], k["r"], k["distance"], k["terms"], k["P0_plane"],
                          k["P0_rot"], k["P0_twotheta"])
    echo.rotated_axes(k["fso_rot"], st.twotheta_axis, k["fso"])
    for name, v in zip(("FAST_AXIS", "SLOW_AXIS", "NORMAL_AXIS"), k["fso"]):
        echo.detector(name, v)
    if st.pivot == "BEAM":
        echo.beam_block(rots, tau, st.Xbeam, st.Ybeam, st.pixel, k["fso"], st.twotheta_axis, st.Fbeam,
                        st.Sbeam, k["distance"], k["terms"], k["P0_plane"])
    echo.detector("PIX0_VECTOR", st.geo["P0"])


def _terms(scalars, vectors):
    """(s0·v0, s1·v1, s2·v2) per component: the terms P0 is summed from (R2 prints them)."""
    return tuple(tuple(x * v[i] for i in range(3)) for x, v in zip(scalars, vectors))


def place_detector(o, pivot, quirks, f, s, o_vec, b, t2axis, tau, rots, Fclose, Sclose, Fbeam, Sbeam,
                   distance, close_distance, pixel):
    rx, ry, rz = rots
    o_r = rotate(o_vec, rx, ry, rz)
    r = dot(b, o_r)
    if r == 0:
        r = DBL_MIN
    if isnan(close_distance):
        close_distance = abs(r * distance)
    distance = close_distance / r
    steps = dict(r=r, close_distance=close_distance, distance=distance)
    P0 = None
    if pivot == "SAMPLE":   # a - b*c == a + (-b)*c exactly, so summing the terms is the C's sum
        terms = _terms((-Fclose, -Sclose, close_distance), (f, s, o_vec))
        P0 = tuple((terms[0][i] + terms[1][i]) + terms[2][i] for i in range(3))
        P0_rot = rotate(P0, rx, ry, rz)
        steps.update(terms=terms, P0_plane=P0, P0_rot=P0_rot)
        P0 = steps["P0_twotheta"] = rotate_axis(P0_rot, t2axis, tau)
    rotated = tuple(rotate(w, rx, ry, rz) for w in (f, s, o_vec))
    f, s, o_vec = (rotate_axis(w, t2axis, tau) for w in rotated)
    steps.update(fso_rot=rotated, fso=(f, s, o_vec))
    if pivot == "BEAM":
        terms = _terms((-Fbeam, -Sbeam, distance), (f, s, b))
        P0 = tuple((terms[0][i] + terms[1][i]) + terms[2][i] for i in range(3))
        steps.update(terms=terms, P0_plane=P0)
    if o.pix0_vector is not None and not quirks.pix0_ignored:
        # spec mode: the given P0 is used as given (mm for -pix0_vector_mm)
        P0 = tuple(x / MM_PER_M for x in o.pix0_vector) if o.pix0_vector_mm else tuple(o.pix0_vector)
    Fclose = -dot(P0, f)
    Sclose = -dot(P0, s)
    close_distance = dot(P0, o_vec)
    w = tuple(close_distance / r * b[i] - P0[i] for i in range(3))
    Fbeam = dot(f, w)
    Sbeam = dot(s, w)
    distance = close_distance / r
    ORGX = div(Fclose, pixel) + 0.5
    ORGY = div(Sclose, pixel) + 0.5
    dials = (MM_PER_M * P0[2], MM_PER_M * P0[1], -MM_PER_M * P0[0])
    return dict(P0=P0, fdet=f, sdet=s, odet=o_vec, r=r, Fclose=Fclose, Sclose=Sclose,
                close_distance=close_distance, Fbeam=Fbeam, Sbeam=Sbeam, distance=distance,
                ORGX=ORGX, ORGY=ORGY, dials_origin=dials, steps=steps)


def fields(st, mask_frame) -> dict:
    """The Setup fields of the detector part."""
    o, g = st.o, st.geo
    mask = mask_shape = None
    if mask_frame is not None:
        mask = mask_frame.data
        m1, m2 = mask_frame.value("SIZE1"), mask_frame.value("SIZE2")
        if not (isnan(m1) or isnan(m2)):
            mask_shape = (int(m2), int(m1))
    return dict(
        fpixels=st.fpixels, spixels=st.spixels, pixel=st.pixel, detsize_f=st.detsize_f, detsize_s=st.detsize_s,
        distance=g["distance"], close_distance=g["close_distance"], pix0=g["P0"],
        fdet=g["fdet"], sdet=g["sdet"], odet=g["odet"], curved_det=o.curved_det, point_pixel=o.point_pixel,
        thicksteps=st.thicksteps, thickstep=st.thickstep, detector_thick=st.detector_thick, mu=st.mu,
        roi=st.roi, mask=mask, mask_shape=mask_shape, convention=st.convention, pivot=st.pivot,
        Fbeam=g["Fbeam"], Sbeam=g["Sbeam"], Fclose=g["Fclose"], Sclose=g["Sclose"], Xbeam=st.Xbeam,
        Ybeam=st.Ybeam, ORGX=g["ORGX"], ORGY=g["ORGY"], dials_origin=g["dials_origin"],
        twotheta=o.twotheta, twotheta_axis=st.twotheta_axis, r_factor=g["r"],
    )
