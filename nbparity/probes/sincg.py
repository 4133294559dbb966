"""`probe sincg`: sincg(π·x, N) of each axis swept over a window around the pixel's fractional h, k, l.

The reference is the C's formula (§7) written here in float64 with the C library's sin (math.sin, the
same libm the C links): N when π·x == 0.0 exactly, else sin((π·x)·N)/sin(π·x). The other curve is the
simulator's own lattice_factor in the dtype under test (in float32 runs it takes the reduced-phase path
from float64 indices, as the kernel does). The pixel's h, k, l come from its C trace (pixel block, φ
step 0, and every per-φ step), so the sweep is centred where the pixel actually sits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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


@dataclass
class SincgResult:
    table: object                 # DataFrame: axis, x, N, c_float64, simulator, abs_diff, rel_diff
    pixel: dict                   # axis -> {"x": pixel-block value, "per_phi": [...]}
    N: dict
    largest: dict = field(default_factory=dict)   # axis -> {x, c, simulator, abs_diff}
    bundle: object = None

    def to_dict(self) -> dict:
        return {"pixel_hkl": self.pixel, "N": self.N, "largest_difference": self.largest,
                "points": int(len(self.table)), "bundle": str(self.bundle) if self.bundle else None}


def sweep(pixel_hkl: dict, N: dict, dtype: str, window: float, points: int, device: str = "cpu") -> SincgResult:
    """The table of both curves for each axis over [x − window, x + window] (`points` samples, the
    pixel's own value and its per-φ values included exactly)."""
    import numpy as np
    import pandas as pd

    grids = {}
    for axis, nkey, _ in AXES:
        x0 = pixel_hkl[axis]["x"]
        g = np.linspace(x0 - window, x0 + window, points)
        g = np.unique(np.concatenate([g, [x0], pixel_hkl[axis]["per_phi"]]))
        grids[axis] = g
    n = max(len(g) for g in grids.values())
    padded = {a: np.pad(g, (0, n - len(g)), mode="edge") for a, g in grids.items()}   # one call, equal lengths
    sim = simulator_sincg(padded["h"], padded["k"], padded["l"], [N[k] for _, k, _ in AXES], dtype, device)
    rows, largest = [], {}
    for (axis, nkey, i) in AXES:
        g = grids[axis]
        ref = c_sincg(g, N[nkey])
        s = sim[i][:len(g)]
        if N[nkey] <= 1:   # the C skips the axis: factor exactly 1 on both sides
            ref = [1.0] * len(g)
        marks = {float(pixel_hkl[axis]["x"])} | {float(v) for v in pixel_hkl[axis]["per_phi"]}
        best = None
        for x, c, p in zip(g, ref, s):
            d = abs(p - c)
            rel = d / abs(c) if c != 0 else (0.0 if d == 0 else math.inf)
            rows.append({"axis": axis, "x": float(x), "N": N[nkey], "c_float64": c, "simulator": p,
                         "abs_diff": d, "rel_diff": rel, "pixel": float(x) in marks})
            if best is None or d > best["abs_diff"]:
                best = {"x": float(x), "c": c, "simulator": p, "abs_diff": d, "rel_diff": rel}
        largest[axis] = best
    return SincgResult(pd.DataFrame(rows), pixel_hkl, N, largest)


def plot(result: SincgResult, path, dtype: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 7), sharex="col", gridspec_kw={"height_ratios": [3, 1.4]})
    t = result.table
    for col, (axis, nkey, _) in enumerate(AXES):
        d = t[t["axis"] == axis]
        ax, dx = axes[0][col], axes[1][col]
        ax.plot(d["x"], d["c_float64"], color="tab:blue", linewidth=2.2, label="C formula (float64)")
        ax.plot(d["x"], d["simulator"], color="tab:orange", linewidth=1.0, linestyle="--",
                label=f"simulator ({dtype})")
        px = d[d["pixel"]]
        ax.plot(px["x"], px["c_float64"], "o", color="tab:red", markersize=5, label="pixel's values (per φ)")
        x0 = result.pixel[axis]["x"]
        ax.axvline(x0, color="tab:red", alpha=0.4)
        ax.set_title(f"sincg(π·{axis}, {nkey}={result.N[nkey]:g}); pixel {axis} = {x0:.10g}", fontsize=9)
        ax.set_ylabel("F_latt factor")
        ax.legend(fontsize=7)
        diff = (d["simulator"] - d["c_float64"]).abs()
        dx.semilogy(d["x"], diff.where(diff > 0, 1e-18), color="tab:purple", linewidth=0.8)
        dx.set_ylabel("|sim − C| (0 at 1e-18)")
        dx.set_xlabel(f"fractional {axis}")
        lg = result.largest[axis]
        dx.set_title(f"largest |Δ| {lg['abs_diff']:.3g} at {axis} = {lg['x']:.10g}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def probe_sincg(ro, window: float = 0.5, points: int = 1001) -> SincgResult:
    """Run the pixel's trace (both sides), sweep, write the bundle."""
    import tempfile
    from pathlib import Path

    from nbparity.errors import UsageError
    from nbparity.probes.common import md_table, phi_frame, pixel_values, run_traced, write_probe_bundle

    if not (window > 0 and points >= 3):
        raise UsageError("--window must be > 0 and --points >= 3")
    tr = run_traced(ro, list(ro.case.argv))
    hkl = pixel_values(tr.c_frames, "hkl_frac")
    if len(hkl) != 3:
        raise UsageError(f"the C trace of pixel ({ro.slow}, {ro.fast}) has no hkl_frac (is its source cut by dmin?)")
    per_phi = phi_frame(tr.c_frames)
    pixel_hkl = {a: {"x": hkl[i], "per_phi": [float(v) for v in per_phi.get(f"{a}_frac", [])]}
                 for a, _, i in AXES}
    N = {k: float(tr.c_frames.config_value(k) or getattr(tr.setup, k)) for _, k, _ in AXES}
    shape = str(tr.c_frames.config_value("xtal_shape") or "SQUARE").upper()
    res = sweep(pixel_hkl, N, ro.dtype, window, points, ro.device)
    title = (f"{ro.case.name} pixel ({ro.slow}, {ro.fast}) · simulator {ro.dtype} vs C formula float64"
             + ("" if shape == "SQUARE" else f" · NOTE: crystal shape {shape} does not use sincg"))
    with tempfile.TemporaryDirectory(prefix="nbparity-sincg-") as tmp:
        png = Path(tmp) / "sincg.png"
        plot(res, png, ro.dtype, title)
        png_bytes = png.read_bytes()
    lg = res.largest
    findings = [f"largest |Δ| along {a}: {lg[a]['abs_diff']:.6g} at {a} = {lg[a]['x']:.17g} "
                f"(C {lg[a]['c']:.17g}, simulator {lg[a]['simulator']:.17g})" for a, _, _ in AXES]
    at_pixel = res.table[res.table["pixel"]]
    findings.append(f"at the pixel's own h, k, l values ({len(at_pixel)} points, every φ step): largest |Δ| "
                    f"{float(at_pixel['abs_diff'].max()):.6g}")
    md = [f"# nbparity probe sincg — {ro.case.name}, pixel ({ro.slow}, {ro.fast})", "",
          f"simulator dtype `{ro.dtype}` vs the C formula in float64; window ±{window:g}, {points} points "
          f"per axis; crystal shape {shape}; pixel h, k, l (C trace, φ step 0) = {hkl}", ""]
    md += [f"* {f}" for f in findings]
    md += ["", "![both curves](sincg.png)", "", "## At the pixel's own values (per φ step)", "",
           md_table(res.table[res.table["pixel"]].drop(columns=["pixel"])), ""]
    from nbparity.schema import tolerance_for

    worst = max(lg.values(), key=lambda b: b["abs_diff"])
    rtol, atol = tolerance_for("F_latt_a", ro.dtype, "phi")   # the tolerance the comparator gives F_latt_a
    t = res.table
    outside = int((t["abs_diff"] > atol + rtol * t["c_float64"].abs()).sum())
    verdict = "pass" if outside == 0 else "fail"
    metrics = {"verdict": verdict,
               "verdict_line": f"sincg {verdict.upper()}: largest |simulator − C| {worst['abs_diff']:.6g} "
                               f"({ro.dtype}); {outside} of {len(t)} points outside the lattice tolerance "
                               f"(rtol {rtol!r}, atol {atol!r})",
               "tolerance": {"rtol": rtol, "atol": atol}, "points_outside_tolerance": outside,
               "window": window, "points": points, "xtal_shape": shape, **res.to_dict(),
               "max_abs_diff_at_pixel": float(at_pixel["abs_diff"].max()), "html_findings": findings}
    res.bundle = write_probe_bundle("sincg", ro, metrics,
                                    {"sincg.csv": res.table.to_csv(index=False, float_format="%.17g"),
                                     "sincg.md": f"# sincg sweep ({ro.dtype} vs C float64)\n\n"
                                                 + md_table(res.table) + "\n",
                                     "sincg.png": png_bytes}, "\n".join(md),
                                    f" --window {window!r} --points {points}")
    return res
