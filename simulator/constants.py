"""The physical constants, unit factors, defaults and limits of the simulator, in one place.

Every value is the C program's own literal (c_reference/), so that an expression using a name rounds
exactly as the C expression using the literal does (`x / MM_PER_M` is `x / 1000.0`)."""

from __future__ import annotations

import math
import sys

# ---- physics (spec §6.11, §6.12)
R_E_SQR = 7.94079248018965e-30      # classical electron radius squared, m²
AVOGADRO = 6.02214179e23            # 1/mol
WATER_F = 2.57                      # structure factor of one water molecule (forward scattering)
WATER_MW = 18.0                     # g/mol
WATER_DENSITY = 1e6                 # g/m³ (1 g/cm³)
HC_EV_ANGSTROM = 12398.42           # -energy E (eV) → λ = HC_EV_ANGSTROM / E Å

# ---- lattice shape transforms (spec §6.8)
ROUND_NORM = 0.723601254558268      # sqrt of the cube/sphere volume ratio
GAUSS_WIDTH = 0.63                  # exp(−rad²/0.63·fudge)
TOPHAT_RADIUS_SQR = 0.3969          # rad²·fudge < 0.3969 (0.63²)

# ---- angles and units (internal units are metres and radians)
RTD = 180.0 * (1.0 / math.pi)       # a product with the rounded reciprocal, not 180/π (last bit differs)
MM_PER_M = 1000.0                   # mm ↔ m (detector lengths, sample sizes)
MRAD_PER_RAD = 1000.0               # mrad ↔ rad (divergence)
A_PER_M = 1.0e10                    # Å ↔ m, as the C divides: λ = value / 1e10
M_PER_A = 1e-10                     # Å → m, as the C multiplies: a0 = a · 1e-10
UM_PER_M = 1.0e6                    # m → µm, as the C divides (water size)
M_PER_UM = 1.0e-6                   # µm → m, as the C multiplies (detector thickness, attenuation depth)
CM3_PER_M3 = 1e6                    # g/cm³ → g/m³ (-density)
PERCENT = 100.0                     # -dispersion in percent
DBL_MIN = sys.float_info.min        # the C's DBL_MIN, for its divide-by-zero guards

# ---- defaults (the C declaration initial values)
DEFAULT_FLUENCE = 125932015286227086360700780544.0   # photons/m²
SOURCE_DISTANCE = 10.0              # m: a source position's distance when the file gives none (§5.3)

# ---- limits where the C exits 9 instead of allocating (c_reference/nb_setup.c, nb_io.c)
MAX_PIXELS = 400_000_000            # a detector of more than 4e8 pixels
MAX_MOSAIC_DOMAINS = 10_000_000     # our own guard, where the C's calloc would fail
MAX_GRID_CELLS = 1e9                # HKL grid cells (nb_io.c alloc_grid)
