"""The one definition of every known C quirk: id, title, description, the trigger (a function of the
derived configuration, quirk_triggers.py), the switch (the `Quirks` field the simulator reads), the
trace keys it can change and what spec mode does instead.

Why Python and not the TOML: a trigger and a switch are code, so a registry in TOML would have to name
them and a second table would have to map the names back; here each quirk is written once, with its
trigger function next to its prose. traces/quirks.toml is generated from this list for readers that are
not Python (ports, reviewers, other tools): `python -m simulator.quirk_registry --write` rewrites it and
tests/simulator/test_quirk_registry.py fails when the committed file differs from the generated one.
The simulator's `Quirks` (quirks.py), the harness's attribution and the TOML all read this list."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import quirk_triggers as trig

TOML_PATH = Path(__file__).resolve().parent.parent / "traces" / "quirks.toml"

# trace keys, grouped as they travel downstream
_TOTALS = ("I_before_scaling", "I_pixel_final", "floatimage_accumulated")
_LATTICE = ("hkl_frac", "hkl_rounded", "F_latt_a", "F_latt_b", "F_latt_c", "F_latt", "F_cell")
_ROTATED = ("rot_a_angstroms", "rot_b_angstroms", "rot_c_angstroms")
_STARS = ("rot_a_star_A_inv", "rot_b_star_A_inv", "rot_c_star_A_inv")
_CELL = ("a0", "b0", "c0") + _ROTATED + _STARS + _LATTICE + _TOTALS
_GEOMETRY = ("pix0", "Fbeam_m", "Sbeam_m", "Fclose_m", "Sclose_m", "close_distance_m", "distance_m",
             "pix0_vector_meters", "pixel_pos_meters", "R_distance_meters", "omega_pixel_sr",
             "close_distance_meters", "obliquity_factor", "diffracted_vec", "scattering_vec_A_inv")


@dataclass(frozen=True)
class QuirkDef:
    id: str
    title: str
    switch: str                          # the simulator.quirks.Quirks field that turns it on
    trigger: Callable                    # Setup -> bool: the quirk can change a number for this setup
    description: str
    spec_ref: str
    when: str                            # the trigger in words (traces/quirks.toml's `trigger`)
    keys: tuple
    spec_mode: str
    needs_omp_threads: bool = False      # also needs an OpenMP C run on more than one thread

    def triggered(self, setup, threads: int = 1) -> bool:
        if self.needs_omp_threads and int(threads) <= 1:
            return False
        return bool(self.trigger(setup))

    def table(self) -> dict:
        """The quirk as traces/quirks.toml writes it."""
        return {"id": self.id, "title": self.title, "description": self.description, "spec_ref": self.spec_ref,
                "trigger": self.when, "trigger_function": f"{self.trigger.__module__}.{self.trigger.__name__}",
                "switch": self.switch, "keys": list(self.keys), "spec_mode": self.spec_mode}


QUIRKS: tuple[QuirkDef, ...] = (
    QuirkDef(
        "C-PARITY-001", "φ=0 carry-over", "phi_carryover", trig.phi_hits_zero,
        "Inside the φ loop the lattice vectors are rotated only when φ != 0.0, so a step at φ == 0 reuses the "
        "vectors of the previous iteration (φ_last of the previous pixel/sub-pixel/source). Only the first φ "
        "iteration of the whole run sees the unrotated lattice (serial rule).",
        "§8.3", "phisteps > 1 and some step φ0 + phistep·n evaluates to exactly 0.0",
        _ROTATED + _LATTICE + _TOTALS,
        "The lattice is rotated to the step's own φ at every step, φ = 0 included."),
    QuirkDef(
        "C-INTERP-001", "interpolation kill-switch", "interp_kill_switch", trig.interpolation_on,
        "The first out-of-range tricubic evaluation in C loop order switches interpolation off for the rest of "
        "the run; that evaluation itself already uses the nearest-neighbour value.",
        "§6.9", "interpolate is on (whether some evaluation falls outside h_min+2..h_max-2, or k, l, is known "
        "only while rendering)",
        ("F_cell",) + _TOTALS,
        "Each out-of-range evaluation falls back to nearest neighbour on its own; interpolation stays on for "
        "every other evaluation."),
    QuirkDef(
        "C-OVERSAMPLE-001", "-oversample_* running products", "oversample_running_products",
        trig.oversample_factors,
        "With -oversample_thick/_polar/_omega the factor multiplies the whole running sum after each addition "
        "instead of the new term.",
        "§6.10", "oversample_thick or oversample_polar or oversample_omega",
        _TOTALS,
        "Each factor multiplies only the term just added."),
    QuirkDef(
        "C-CAPTURE-001", "last-layer capture fraction", "last_layer_capture", trig.layered_capture,
        "Without -oversample_thick the pixel is multiplied by the capture fraction of the last detector layer "
        "only, although I sums all layers.",
        "§6.4, §6.11", "detector_thick > 0 and thicksteps > 1 and not oversample_thick",
        ("capture_fraction",) + _TOTALS,
        "Each layer's terms are weighted by that layer's own capture fraction (first sub-pixel of the layer); "
        "capture_fraction traces as 1."),
    QuirkDef(
        "C-WATER-001", "water background scaled twice", "water_scaled_twice", trig.water_background,
        "I_bg already contains r_e²·fluence and is added to the accumulator, which is multiplied by r_e²·fluence "
        "again and divided by steps.",
        "§6.12", "water_size > 0",
        _TOTALS,
        "The background is added after scaling: value = (r_e²·fluence·ΣF²F_latt²/steps + I_bg)·C·P·Ω; "
        "I_before_scaling excludes I_bg."),
    QuirkDef(
        "C-RANDROT-001", "float32 random-rotation angle", "float32_random_rotation", trig.random_rotations,
        "random_rotation computes θ = float(γ)·powf(float(1−r3²), float(1/3)) in single precision.",
        "§8.4", "mosaic_domains > 1 or misset random",
        ("a0", "b0", "c0") + _TOTALS,
        "θ = γ·(1−r3²)^(1/3) evaluated in double."),
    QuirkDef(
        "C-POLAR-001", "polarization renormalizes the diffracted vector", "polar_renormalizes",
        trig.polar_renormalized,
        "The polarization routine unitizes the diffracted vector in place; later sources of the same sub-pixel "
        "build q from the renormalized vector.",
        "§6.6", "not nopolar and (sources > 1 or oversample_polar)",
        _TOTALS,
        "The diffracted unit vector is left as computed from the pixel position."),
    QuirkDef(
        "C-CELL-001", "triclinic -cell basis", "triclinic_cell_basis", trig.cell_basis_differs,
        "c*_z is built as (|c*|·V)/(a·b·c·sin γ*), i.e. (sin γ / sin γ*)/c, instead of the textbook value; "
        "triclinic and rhombohedral cells come out with slightly wrong angles, and for many other cells the two "
        "constructions differ in the last bit.",
        "§3.1", "-cell given and the two constructions of c*_z differ in any bit (all triclinic and rhombohedral "
        "cells; rounding alone for some orthogonal ones, e.g. 50 60 70 90 90 90)",
        _CELL,
        "c*_z = |c*|·sqrt(1 − cos²β* − ((cos α* − cos β*·cos γ*)/sin γ*)²), the textbook construction, so "
        "the direct cell has the requested angles."),
    QuirkDef(
        "C-PIX0-001", "-pix0_vector ignored", "pix0_ignored", trig.pix0_given,
        "-pix0_vector and -pix0_vector_mm only switch to CUSTOM; both pivot branches overwrite P0, so the given "
        "values are never used.",
        "§4.9", "-pix0_vector or -pix0_vector_mm given",
        _GEOMETRY + _LATTICE + ("I_before_scaling", "polar", "omega_pixel", "cos_2theta", "capture_fraction",
                                "I_pixel_final", "floatimage_accumulated"),
        "P0 is the given vector as given (-pix0_vector in metres, -pix0_vector_mm in millimetres; no rotation "
        "applied to it); the near point and beam spot are read back from it as in §4.5 steps 6–8."),
    QuirkDef(
        "C-ARGV-001", "R1 option matching", "r1_option_matching", trig.argv_line_sensitive,
        "R1 (bl831 HEAD, what c_reference follows) matches -misset as a substring, so -misset_seed N followed "
        "by three or more tokens also sets misset angles (N, atof(next), atof(next+1)) and turns misset on, and "
        "-misset_seed N followed by a token containing 'rand' requests a random misset (which ends that token's "
        "option chain, so the seed is not set); R1 reads -dump_pixel as -dump (the Fdump cache is renamed to the "
        "next token). Off = R2 (the instrumented golden copy that prints TRACE_C:key=value lines): -misset only "
        "as the exact token, no -dump option, -dump_pixel S F traces like -trace_pixel.",
        "§1.12, §12", "R1 and R2 option matching parse the argv to different configurations (e.g. -misset_seed N "
        "with three or more tokens after it, -dump_pixel, -dump)",
        _CELL,
        "R2 matching: -misset is the exact token, -misset_seed only sets the seed; -dump is not an option. The "
        "shorthand mode c-r2 (= c,-C-ARGV-001) emulates the R2 C line."),
    QuirkDef(
        "C-OMP-001", "OpenMP row blocks restart the φ=0 carry-over", "omp_block_restart", trig.phi_hits_zero,
        "An OpenMP build splits the row loop into one contiguous block of rows per thread (schedule(static): "
        "rows // N each, the first rows % N threads one row more), and each thread starts from a firstprivate "
        "copy of the pre-loop crystal state: the first φ run of every block, not only of the whole render, sees "
        "the unrotated lattice at a φ == 0 step (C-PARITY-001's first-run rule, per thread). The image then "
        "depends on OMP_NUM_THREADS. The simulator emulates it for the thread count given by -omp_threads N "
        "(default 1: no effect).",
        "§8.3", "the C is an OpenMP build run on more than one thread and C-PARITY-001 is triggered (phisteps > 1 "
        "and some step φ0 + phistep·n evaluates to exactly 0.0)",
        _ROTATED + _LATTICE + _TOTALS,
        "Only the render's very first φ run uses the pre-loop lattice (the serial rule), whatever the thread "
        "count; with C-PARITY-001 off as well there is no carry-over at all.",
        needs_omp_threads=True),
)

BY_ID = {q.id: q for q in QUIRKS}


def triggered(setup, threads: int = 1, ids=None) -> list[str]:
    """Ids of the quirks (all, or those in `ids`) whose trigger holds for this setup, in registry order.
    threads: the OpenMP thread count the C ran on (1 for a serial build), which C-OMP-001 needs."""
    wanted = BY_ID if ids is None else set(ids)
    return [q.id for q in QUIRKS if q.id in wanted and q.triggered(setup, threads)]


# ----------------------------------------------------------------------------- traces/quirks.toml

_HEADER = """\
# GENERATED from simulator/quirk_registry.py (the one definition of each quirk): edit that file, then run
#     python -m simulator.quirk_registry --write
# Registry of known C quirks. Each one has a switch in the simulator (`-quirks c|spec[,+ID|,-ID]`).
# `c` turns all of them on (exact C emulation); `spec` turns all of them off (what the physics intends).
# trigger: when the quirk can change a number, as a condition on the effective configuration (Setup);
#   trigger_function is the function the attribution evaluates; switch is the simulator's Quirks field.
# keys: the trace keys whose values it can change; everything downstream of them follows.
"""


def _toml_value(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_toml() -> str:
    """traces/quirks.toml as generated from QUIRKS."""
    out = [_HEADER]
    for q in QUIRKS:
        out.append("\n[[quirk]]\n")
        out += [f"{k} = {_toml_value(v)}\n" for k, v in q.table().items()]
    return "".join(out)


if __name__ == "__main__":   # python -m simulator.quirk_registry [--write]
    if sys.argv[1:] == ["--write"]:
        TOML_PATH.write_text(render_toml(), encoding="utf-8")
    else:
        sys.stdout.write(render_toml())
