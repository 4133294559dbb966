"""What the instrumented nanoBragg (the R2 C line, spec §10.4) prints while it sets up, printed by the
simulator when it emulates that line, so that a trace of ours can be compared with every value R2 prints.

R2 prints, during setup: `TRACE_C:key=value` geometry lines (detector placement), free-text `TRACE:` lines
(the crystal's reciprocal and real vectors through each step) and `DETECTOR_*` lines. The setup steps
record the values here as they compute them (`Echo`, filled by setup_detector.py and setup_crystal.py /
crystal.py); `Echo.lines()` prints them under R2's keys and headings, values at %.17g (R2 prints %.15g
and %g; the comparator judges a printed value at half a unit of its last digit). Nothing is recomputed
when printing.

When: `emulates_r2(quirks)`: a c-based quirk mode without C-ARGV-001 (`c-r2`, `c,-C-ARGV-001`), the R2
line as this project emulates it (harness: nbparity.cline.torch_mode). R1 (c_reference, `-quirks c`) and
spec mode print none of it.

R2's print quirks are emulated, not fixed (spec C-LOGGING-BUG-001): the BEAM-pivot block prints
"detector_convention=MOSFLM", MOSFLM initial vectors and a fixed convention_mapping text whatever the
convention; both pivot blocks print the beam centre divided by 1000; the `|v|` after a vector is the
C's stored magnitude slot, which its rotations leave stale.
"""

from __future__ import annotations

from .geometry import cos, sin


def emulates_r2(quirks) -> bool:
    """Whether a run's quirks emulate the R2 C line (and so print its setup echo)."""
    base = str(getattr(quirks, "mode", "") or "").split(",")[0].strip().lower()
    return base in ("c", "c-r2") and not quirks.r1_option_matching


def _f17(x) -> str:
    from .tracing import f17

    return f17(x)


_VEC = "{} {} {}"
_MAT = "[{} {} {}; {} {} {}; {} {} {}]"
_BRACKET = "[{}, {}, {}]"


class Echo:
    """The R2 setup echo of one run: (prefix, template, values) in R2's print order."""

    def __init__(self):
        self.items: list[tuple[str, str, tuple]] = []
        self.star_slots = None   # the C's stored |a*|, |b*|, |c*| (set where it sets them)

    def _put(self, prefix: str, template: str, *values) -> None:
        self.items.append((prefix, template, tuple(values)))

    def kv(self, key: str, template: str, *values) -> None:
        """A `TRACE_C:key=value` line (ours: TRACE_PY:key=value)."""
        self._put("TRACE_PY:", f"{key}={template}", *values)

    def vec(self, key: str, v) -> None:
        self.kv(key, _VEC, *v)

    def text(self, template: str, *values) -> None:
        """A free-text `TRACE:` line (same heading as R2's, so both sides key it alike)."""
        self._put("TRACE: ", template, *values)

    def detector(self, key: str, v) -> None:
        self._put("", f"DETECTOR_{key} {_VEC}", *v)

    def lines(self) -> list[str]:
        return [prefix + template.format(*(_f17(x) for x in values))
                for prefix, template, values in self.items]

    # --- detector (setup_detector.place_detector) -------------------------------------------------
    def angles(self, rots, twotheta) -> None:
        self.kv("angles_rad", "rotx:{} roty:{} rotz:{} twotheta:{}", *rots, twotheta)

    def initial(self, f, s, o) -> None:
        for name, v in zip(("initial_fdet", "initial_sdet", "initial_odet"), (f, s, o)):
            self.vec(name, v)

    def rotated_axes(self, after_rot, t2axis, after_twotheta) -> None:
        """The seven lines R2 prints after orienting the detector plane (and, in its BEAM block, again
        with the final vectors under both names)."""
        for name, v in zip(("fdet", "sdet", "odet"), after_rot):
            self.vec(f"{name}_after_rotz", v)
        self.vec("twotheta_axis", t2axis)
        for name, v in zip(("fdet", "sdet", "odet"), after_twotheta):
            self.vec(f"{name}_after_twotheta", v)

    def sample_block(self, conv, rots, twotheta, Xclose, Yclose, pixel, fso, Fclose, Sclose,
                     close_distance, ratio, distance, terms, P0, P0_rot, P0_twotheta) -> None:
        """R2's SAMPLE-pivot block, printed before the plane is oriented."""
        self.kv("detector_convention", conv)
        self.angles(rots, twotheta)
        self.kv("beam_center_m", "Xclose:{} Yclose:{} pixel_mm:{}", Xclose / 1000.0, Yclose / 1000.0,
                pixel * 1000.0)
        self.initial(*fso)
        self.kv("Fclose_m", "{}", Fclose)
        self.kv("Sclose_m", "{}", Sclose)
        self.kv("close_distance_m", "{}", close_distance)
        self.kv("ratio", "{}", ratio)
        self.kv("distance_m", "{}", distance)
        for name, v in zip(("term_fast_before_rot", "term_slow_before_rot", "term_close_before_rot"), terms):
            self.vec(name, v)
        self.vec("pix0_before_rotation", P0)
        self.vec("pix0_after_rotz", P0_rot)
        self.vec("pix0_after_twotheta", P0_twotheta)

    def beam_block(self, rots, twotheta, Xbeam, Ybeam, pixel, fso, t2axis, Fbeam, Sbeam, distance,
                   terms, P0) -> None:
        """R2's BEAM-pivot block (its convention, initial vectors and mapping text are fixed strings)."""
        self.kv("detector_convention", "MOSFLM")
        self.angles(rots, twotheta)
        self.kv("beam_center_m", "X:{} Y:{} pixel_mm:{}", Xbeam / 1000.0, Ybeam / 1000.0, pixel * 1000.0)
        self.initial((0.0, 0.0, 1.0), (0.0, -1.0, 0.0), (1.0, 0.0, 0.0))
        for name, m in zip(("Rx", "Ry", "Rz", "R_total"), rotation_matrices(*rots)):
            self.kv(name, _MAT, *(x for row in m for x in row))
        self.rotated_axes(fso, t2axis, fso)
        self.kv("convention_mapping", "Fbeam←Ybeam_mm(+0.5px),Sbeam←Xbeam_mm(+0.5px),beam_vec=[{} {} {}]",
                1.0, 0.0, 0.0)
        self.kv("Fbeam_m", "{}", Fbeam)
        self.kv("Sbeam_m", "{}", Sbeam)
        self.kv("distance_m", "{}", distance)
        for name, v in zip(("term_fast", "term_slow", "term_beam"), terms):
            self.vec(name, v)
        self.vec("pix0_vector", P0)

    # --- crystal (setup_crystal.orientation, crystal.real_space) ---------------------------------
    def star_vectors(self, stage: str, stars, mags=None) -> None:
        """`  a_star = [x, y, z] |a_star| = m` for a*, b*, c* (without `|…|` when mags is None)."""
        for name, v, m in zip(("a_star", "b_star", "c_star"), stars, mags or (None,) * 3):
            tail = "" if m is None else f" |{name}| = {{}}"
            self.text(f"{stage}{name} = {_BRACKET}{tail}", *v, *(() if m is None else (m,)))

    def matrix_read(self, raw, lambda0, factor, scaled, mags) -> None:
        self.text("Raw matrix values from file:")
        for name, v in zip(("a_star", "b_star", "c_star"), raw):
            self.text(f"  {name} (raw) = {_BRACKET}", *v)
        self.text("  lambda0 = {} Angstroms", lambda0 * 1e10)
        self.text("  scaling factor = 1e-10/lambda0 = {}", factor)
        self.text("After wavelength correction:")
        self.star_vectors("  ", scaled, mags)

    def misset(self, before, slots, angles_deg, after) -> None:
        self.text("Before misset rotation:")
        self.star_vectors("  ", before, slots)
        self.text("  misset angles = [{}, {}, {}] degrees", *angles_deg)
        self.text("After misset rotation:")
        self.star_vectors("  ", after, slots)   # rotate() leaves the stored magnitudes as they were

    def cross_products(self, stars, Pb, Pc, Pa, Vstar) -> None:
        self.text("Computing cross products of reciprocal vectors:")
        self.text("  Input vectors for cross products:")
        self.star_vectors("    ", stars)
        self.text("  Cross product results:")
        for name, v in (("a_star x b_star", Pb), ("b_star x c_star", Pc), ("c_star x a_star", Pa)):
            self.text(f"    {name} = {_BRACKET}", *v)
        self.text("Reciprocal cell volume calculation:")
        self.text("  V_star = a_star . (b_star x c_star) = {}", Vstar)

    def real_vectors(self, Pc, Pa, Pb, Vcell, Vstar, abc, mags) -> None:
        self.text("Direct-space cell volume: V_cell = 1/V_star = {}", Vcell)
        self.text("Before computing real-space vectors:")
        for name, v in (("b_star_cross_c_star", Pc), ("c_star_cross_a_star", Pa), ("a_star_cross_b_star", Pb)):
            self.text(f"  {name} = {_BRACKET}", *v)
        self.text("  V_cell = {}, V_star = {}", Vcell, Vstar)
        self.text("After computing real-space vectors:")
        self._abc("  ", ("a", "b", "c"), abc, mags, "")

    def regeneration(self, before, slots, crosses, after, mags) -> None:
        self.text("Re-generating reciprocal vectors from real-space vectors:")
        self.star_vectors("  Before re-generation: ", before, slots)
        for name, v in zip(("b_cross_c", "c_cross_a", "a_cross_b"), crosses):
            self.text(f"  Cross products: {name} = {_BRACKET}", *v)
        self.star_vectors("  After re-generation: ", after, mags)

    def conversion(self, abc_A, mags_A, abc_m, mags_m) -> None:
        self.text("Converting real-space vectors from Angstroms to meters:")
        self._abc("  Before conversion: ", ("a", "b", "c"), abc_A, mags_A, " Angstroms")
        self._abc("  After conversion: ", ("a", "b", "c"), abc_m, mags_m, " meters")
        self.text("Copying vectors to a0, b0, c0 (phi=0 mosaic=0 reference):")
        self._abc("  ", ("a0", "b0", "c0"), abc_m, mags_m, " meters")
        self.text("Copying vectors to ap, bp, cp (phi=0 working copy):")
        self._abc("  ", ("ap", "bp", "cp"), abc_m, mags_m, " meters")

    def _abc(self, stage, names, vecs, mags, unit) -> None:
        for name, v, m in zip(names, vecs, mags):
            self.text(f"{stage}{name} = {_BRACKET} |{name}| = {{}}{unit}", *v, m)


def source2_lines(keep: dict, prefix: str = "TRACE_PY_SOURCE2") -> list[str]:
    """R2's `TRACE_C_SOURCE2:` block: source index 2 at φ step 0, mosaic domain 0, once per sub-pixel
    it reaches (runs of three or more sources), from the values the kernel's taps recorded."""
    import numpy as np

    from .constants import A_PER_M

    surv = np.asarray(keep["surv"])
    if surv.ndim < 3 or surv.shape[2] < 3:
        return []
    arr = {n: np.asarray(keep[n], np.float64) for n in ("F_cell", "F_cell_sq", "F_latt", "I_term", "pol")}
    inc = [float(np.asarray(x, np.float64)[2]) for x in keep["inc"]]
    lam = float(np.asarray(keep["lam"], np.float64)[2])
    out = []
    T, J = surv.shape[:2]
    polar = polar_variable(arr["pol"], keep["pol_calls"])   # once: a scan over every iteration
    diffracted = [np.asarray(x, np.float64) for x in keep["d"]]
    for t in range(T):
        for j in range(J):
            if not bool(surv[t, j, 2]):
                continue
            idx = (t, j, 2, 0, 0)
            d = [float(x[t, j]) for x in diffracted]
            F_latt = arr["F_latt"][idx]
            rows = [("F_cell", arr["F_cell"][idx]), ("F_latt", F_latt), ("F_cell_squared", arr["F_cell_sq"][idx]),
                    # F_latt² is no loop value (the loop forms ((F·F)·FL)·FL); R2 prints the product
                    ("F_latt_squared", F_latt * F_latt), ("I_contribution", arr["I_term"][idx]),
                    ("polar", polar[t, j, 2]),
                    # as block C's cos_2theta: incident · diffracted, R2's print-time dot product
                    ("cos2theta", inc[0] * d[0] + inc[1] * d[1] + inc[2] * d[2]),
                    ("lambda_angstroms", lam * A_PER_M)]
            out += [f"{prefix}: {name} {_f17(v)}" for name, v in rows]
            out.append(f"{prefix}: source_index 2")
    return out


def polar_variable(pol, calls):
    """The C's `polar` at each (T, J, S) iteration: the factor of the latest polarization call at or
    before it in loop order (0 before any call; every factor is 1 with -nopolar, which makes no call)."""
    import numpy as np

    if calls is None:
        return pol
    flat_calls = np.asarray(calls).reshape(-1)
    latest = np.maximum.accumulate(np.where(flat_calls, np.arange(flat_calls.size), -1))
    flat = np.where(latest >= 0, pol.reshape(-1)[np.maximum(latest, 0)], 0.0)
    return flat.reshape(pol.shape)


def rotation_matrices(rx, ry, rz):
    """Rx, Ry, Rz and R_total = Rz·(Ry·Rx) as R2 builds them for its BEAM block (sums from 0, in its
    loop order); the placement itself rotates vectors axis by axis (geometry.rotate)."""
    cx, sx, cy, sy, cz, sz = cos(rx), sin(rx), cos(ry), sin(ry), cos(rz), sin(rz)
    Rx = ((1.0, 0.0, 0.0), (0.0, cx, -sx), (0.0, sx, cx))
    Ry = ((cy, 0.0, sy), (0.0, 1.0, 0.0), (-sy, 0.0, cy))
    Rz = ((cz, -sz, 0.0), (sz, cz, 0.0), (0.0, 0.0, 1.0))
    return Rx, Ry, Rz, _matmul(Rz, _matmul(Ry, Rx))


def _matmul(A, B):
    out = []
    for i in range(3):
        row = []
        for j in range(3):
            acc = 0.0
            for k in range(3):
                acc = acc + A[i][k] * B[k][j]
            row.append(acc)
        out.append(tuple(row))
    return tuple(out)
