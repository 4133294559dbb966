"""When each registered quirk can change a number: plain functions of the derived configuration (a
Setup, its parsed Options in `setup.options`). The registry (quirk_registry.py) names one per quirk.

A trigger errs on the side of True only where the answer is known only while rendering (interpolation
falling out of range); everywhere else it says exactly whether the quirk's switch changes a value, so
c mode equals spec mode plus the triggered quirks (tests/simulator/test_quirk_modes.py). Errors are
not swallowed: a Setup without a field a trigger needs is a bug to see, not a quirk to guess."""

from __future__ import annotations

from . import crystal
from .argv import line_sensitive


def _f(x) -> float:
    return float(x)   # Setup scalars may be 0-dim tensors (overrides)


def phi_hits_zero(setup) -> bool:
    """C-PARITY-001: more than one φ step and some step φ0 + (S_φ·n) evaluates to exactly 0.0."""
    n = int(setup.phisteps)
    phi0, step = _f(setup.phi0), _f(setup.phistep)
    return n > 1 and any(phi0 + step * i == 0.0 for i in range(n))


def interpolation_on(setup) -> bool:
    """C-INTERP-001: whether an evaluation falls out of range is known only while rendering."""
    return bool(setup.interpolate)


def oversample_factors(setup) -> bool:
    """C-OVERSAMPLE-001: any of -oversample_thick/_polar/_omega."""
    return bool(setup.oversample_thick or setup.oversample_polar or setup.oversample_omega)


def layered_capture(setup) -> bool:
    """C-CAPTURE-001: a thick detector (which always has two or more layers, §5.2) whose capture
    fraction is applied after the loop (no -oversample_thick)."""
    return _f(setup.detector_thick) > 0 and int(setup.thicksteps) > 1 and not setup.oversample_thick


def water_background(setup) -> bool:
    """C-WATER-001: -water with a positive size."""
    return _f(setup.water_size) > 0


def random_rotations(setup) -> bool:
    """C-RANDROT-001: random_rotation is called (mosaic domains, or a random misset)."""
    return int(setup.mosaic_domains) > 1 or setup.options.misset_mode == "random"


def polar_renormalized(setup) -> bool:
    """C-POLAR-001: the polarization routine runs and a later source (or -oversample_polar) sees the
    unitized vector."""
    return not setup.nopolar and (len(setup.source_dirs) > 1 or bool(setup.oversample_polar))


def cell_basis_differs(setup) -> bool:
    """C-CELL-001: -cell given and the C's c*_z differs from the textbook one in any bit (rounding alone
    does for some orthogonal cells, which -misset then carries into the lattice)."""
    o = setup.options
    if not o.user_cell:
        return False
    cell = crystal.cell_defaults(o.cell_a, o.cell_b, o.cell_c, o.cell_alpha, o.cell_beta, o.cell_gamma)
    quiet = lambda line: None  # noqa: E731  (the warnings were printed by the derivation already)
    return crystal.reciprocal_from_cell(*cell, True, quiet)[2] != crystal.reciprocal_from_cell(*cell, False, quiet)[2]


def pix0_given(setup) -> bool:
    """C-PIX0-001: -pix0_vector or -pix0_vector_mm given."""
    return setup.options.pix0_vector is not None


def argv_line_sensitive(setup) -> bool:
    """C-ARGV-001: R1 and R2 option matching parse the argv to different configurations."""
    argv = list(setup.options.argv)
    return bool(argv) and line_sensitive(argv)
