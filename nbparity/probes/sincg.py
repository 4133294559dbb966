"""`probe sincg`: sincg(π·x, N) of each axis, the C's formula against the torch side.

The reference is the C's formula (§7) written here in float64 with the C library's sin (math.sin, the
same libm the C links): N when π·x == 0.0 exactly, else sin((π·x)·N)/sin(π·x). Two checks:
* the sweep (in-repo simulator only): the simulator's own lattice_factor in the dtype under test (in
  float32 runs it takes the reduced-phase path from float64 indices, as the kernel does) over a window
  around the pixel's fractional h, k, l (from its C trace, so the sweep is centred where the pixel sits);
* the traced values (simulator or port): the torch side's traced F_latt_a/b/c at its own traced h, k, l,
  every φ step, against the formula. A port's lattice factor cannot be called, so with --py-cmd only
  this check runs; a φ step the torch side did not trace is "not compared" and the verdict incomplete.
"""

from __future__ import annotations

import math

AXES = (("h", "Na", 0), ("k", "Nb", 1), ("l", "Nc", 2))


def c_sincg(xs, n: float) -> list[float]:
    """The C's sincg(M_PI * x, N) in float64: the argument π·x formed first, then ·N (spec §7)."""
    out = []
    for x in xs:
        arg = math.pi * x
        out.append(float(n) if arg == 0.0 else math.sin(arg * n) / math.sin(arg))
    return out


def simulator_sincg(hs, ks, ls, N, dtype: str, device: str = "cpu"):
    """The simulator's per-axis SQUARE lattice factors for the three sweeps (float64 indices, result in
    `dtype`, on `device`: a GPU's sin is not libm's): simulator.kernel_physics.lattice_factor, the
    function the kernel calls."""
    import torch

    from simulator.kernel_physics import lattice_factor

    hkl = tuple(torch.tensor(v, dtype=torch.float64, device=device) for v in (hs, ks, ls))
    hkl0 = tuple((x - 0.5).ceil() for x in hkl)
    _, fabc = lattice_factor("SQUARE", hkl, hkl0, tuple(float(n) for n in N), 1.0, None,
                             dtype=getattr(torch, dtype))
    return [[float(v) for v in f.to(device="cpu", dtype=torch.float64)] for f in fabc]



def formula(xs, n: float) -> list[float]:
    """The C's lattice factor of one axis: sincg(π·x, N), or exactly 1 where the C skips the axis (N ≤ 1)."""
    return [1.0] * len(xs) if n <= 1 else c_sincg(xs, n)


def sweep(pixel_hkl: dict, N: dict, tol: tuple, window: float, points: int, simulator=None):
    """The table of the C formula over [x − window, x + window] per axis (`points` samples, the pixel's
    own value and its per-φ values included exactly) and, with `simulator` = (dtype, device), the
    simulator's curve judged against it (status per point); without it, status "not run"."""
    import numpy as np
    import pandas as pd

    from nbparity.probes.common import judge_value

    grids = {}
    for axis, _, _ in AXES:
        x0 = pixel_hkl[axis]["x"]
        g = np.linspace(x0 - window, x0 + window, points)
        grids[axis] = np.unique(np.concatenate([g, [x0], pixel_hkl[axis]["per_phi"]]))
    sim = None
    if simulator is not None:
        n = max(len(g) for g in grids.values())
        padded = {a: np.pad(g, (0, n - len(g)), mode="edge") for a, g in grids.items()}   # one call
        sim = simulator_sincg(padded["h"], padded["k"], padded["l"], [N[k] for _, k, _ in AXES], *simulator)
    rows = []
    for axis, nkey, i in AXES:
        g = grids[axis]
        marks = {float(pixel_hkl[axis]["x"])} | {float(v) for v in pixel_hkl[axis]["per_phi"]}
        for j, (x, c) in enumerate(zip(g, formula(g, N[nkey]))):
            p = sim[i][j] if sim is not None else None
            status, d, rel = judge_value(c, p, *tol) if p is not None else ("not run", math.nan, math.nan)
            rows.append({"axis": axis, "x": float(x), "N": N[nkey], "c_float64": c,
                         "simulator": math.nan if p is None else p, "abs_diff": d, "rel_diff": rel,
                         "status": status, "pixel": float(x) in marks})
    return pd.DataFrame(rows)


def traced_check(c_frames, py_frames, N: dict, tol: tuple):
    """The torch side's traced F_latt_a/b/c at its own traced h, k, l, per φ step the C traced, against
    the C formula; a step or field the torch side lacks is "not compared"."""
    import pandas as pd

    from nbparity.probes.common import judge_value, phi_frame

    c_pf, py_pf = phi_frame(c_frames), phi_frame(py_frames)
    rows = []
    for tic in sorted(set(c_pf.index) | set(py_pf.index)):
        row = py_pf.loc[tic] if tic in py_pf.index else None
        for axis, nkey, i in AXES:
            x = _field(row, f"{axis}_frac")
            traced = _field(row, f"F_latt_{'abc'[i]}")
            ref = formula([x], N[nkey])[0] if x is not None and math.isfinite(x) else None
            status, d, rel = judge_value(ref, traced, *tol)
            phi = _field(c_pf.loc[tic] if tic in c_pf.index else row, "phi_deg")
            rows.append({"phi_tic": int(tic), "phi_deg": math.nan if phi is None else phi, "axis": axis,
                         "x": math.nan if x is None else x, "N": N[nkey],
                         "c_formula": math.nan if ref is None else ref,
                         "torch": math.nan if traced is None else traced, "abs_diff": d, "rel_diff": rel,
                         "status": status})
    return pd.DataFrame(rows)


def _field(row, key):
    if row is None or key not in row.index or row[key] != row[key]:
        return None
    return float(row[key])


def judge_sincg(sweep_table, traced, shape: str, strict: bool):
    """The sweep's points (when run) and the traced values (for a SQUARE crystal), five states; φ steps
    the torch side did not trace make it incomplete."""
    from nbparity.probes.common import NOT_COMPARED, coverage, rows_judgement
    from nbparity.verdict import combine

    parts = []
    if (sweep_table["status"] != "not run").any():
        parts.append(("sweep", rows_judgement(sweep_table["status"], "swept points")))
    if shape == "SQUARE":
        parts.append(("traced", rows_judgement(traced["status"], "traced lattice factors")))
        missing = sorted(set(traced.loc[traced["status"] == NOT_COMPARED, "phi_tic"])) if len(traced) else []
        total = len(set(traced["phi_tic"])) if len(traced) else 0
        cov = coverage(missing, total, "the torch side traced no finite lattice factors there")
        if cov is not None:
            parts.append(("coverage", cov))
    return combine(parts, strict)


def first_divergent(traced) -> dict | None:
    """The first traced lattice factor outside tolerance: its φ step and axis (None when none)."""
    bad = traced[traced["status"] == "divergent"] if len(traced) else traced
    if not len(bad):
        return None
    r = bad.iloc[0]
    return {"phi_tic": int(r["phi_tic"]), "phi_deg": float(r["phi_deg"]),
            "first_divergence": f"F_latt_{'abc'['hkl'.index(r['axis'])]} at {r['axis']} = {r['x']!r}: "
                                f"C formula {r['c_formula']!r}, torch {r['torch']!r}"}


def pixel_hkl_of(c_frames, request) -> dict:
    """The pixel's h, k, l (pixel block) and their per-φ values, from the C trace (UsageError when absent)."""
    from nbparity.errors import UsageError
    from nbparity.probes.common import phi_frame, pixel_values

    hkl = pixel_values(c_frames, "hkl_frac")
    if len(hkl) != 3:
        raise UsageError(f"the C trace of pixel ({request.slow}, {request.fast}) has no hkl_frac "
                         "(is its source cut by dmin?)")
    per_phi = phi_frame(c_frames)
    return {a: {"x": hkl[i], "per_phi": [float(v) for v in per_phi.get(f"{a}_frac", [])]} for a, _, i in AXES}


def params_of(request) -> tuple[float, int]:
    """(window, points) of the request (UsageError, exit 2, when unusable)."""
    from nbparity.errors import UsageError

    p = dict(request.params)
    window, points = float(p.get("window", 0.5)), int(p.get("points", 1001))
    if not (window > 0 and math.isfinite(window) and points >= 3):
        raise UsageError("--window must be a finite number > 0 and --points >= 3")
    return window, points
