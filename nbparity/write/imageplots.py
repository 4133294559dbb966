"""PNG pictures of an image comparison: the C image, the torch image (one shared colour scale) and the
signed difference torch − C (symmetric diverging scale), with the worst pixels circled.

Axes are full-frame pixel indices (fast across, slow down, origin at the top left as the detector is
read), so a pixel named in metrics.json is found at the same coordinates in the picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

UNITS = "photons / pixel"
DPI = 110


def _mpl():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    from matplotlib import colors

    return plt, colors


def _extent(shape, origin):
    s0, f0 = origin
    s, f = shape
    # pixel centres at integer indices; top-left origin like the detector readout
    return (f0 - 0.5, f0 + f - 0.5, s0 + s - 0.5, s0 - 0.5)


def _image_norm(colors, c, p, log):
    both = np.concatenate([c[np.isfinite(c)].ravel(), p[np.isfinite(p)].ravel()])
    hi = float(both.max()) if both.size else 1.0
    lo = float(both.min()) if both.size else 0.0
    if log:
        pos = both[both > 0]
        vmin = float(pos.min()) if pos.size else 1e-30
        vmax = max(hi, vmin * 10)
        return colors.LogNorm(vmin=vmin, vmax=vmax)
    if hi == lo:
        hi = lo + 1.0
    return colors.Normalize(vmin=lo, vmax=hi)


def _diff_norm(colors, d, log, ulp_of_max):
    finite = np.abs(d[np.isfinite(d)])
    m = float(finite.max()) if finite.size else 0.0
    m = m if m > 0 else max(ulp_of_max, 1e-30)  # identical images: show the ±1-ulp band, not a blank
    if log:
        positive = finite[finite > 0]
        thresh = float(positive.min()) if positive.size else m / 10
        return colors.SymLogNorm(linthresh=thresh, vmin=-m, vmax=m, base=10)
    return colors.Normalize(vmin=-m, vmax=m)


def _mark(ax, worst):
    worst = [w for w in worst if w["abs_diff"] != 0.0]  # identical pixels are not "worst"
    for i, w in enumerate(worst):
        ax.plot(w["fast"], w["slow"], marker="o", markersize=12, markerfacecolor="none",
                markeredgecolor="lime" if i else "magenta", markeredgewidth=1.5)
    if worst:
        w = worst[0]
        ax.annotate(f"max |Δ| ({w['slow']}, {w['fast']})", (w["fast"], w["slow"]),
                    xytext=(6, -8), textcoords="offset points", color="magenta", fontsize=8)


def plot_tag(case: str, dtype: str, quirks: str = "") -> str:
    """The pictures' title: 'case · dtype · quirks=…'."""
    return f"{case} · {dtype}" + (f" · quirks={quirks}" if quirks else "")


def write_pngs(c, p, metrics: dict, out_dir, *, tag: str, log=False, separate: bool = True) -> dict[str, str]:
    """Write comparison.png (C, torch, torch − C side by side) and, when `separate`, also c_image.png,
    torch_image.png and diff_image.png. `tag`: the title (plot_tag). Returns {name: path}."""
    plt, colors = _mpl()
    out_dir = Path(out_dir)
    c64 = np.asarray(c, dtype=np.float64)
    p64 = np.asarray(p, dtype=np.float64)
    d = p64 - c64
    origin = tuple(metrics.get("origin", (0, 0)))
    ext = _extent(c64.shape, origin)
    norm = _image_norm(colors, c64, p64, log)
    dnorm = _diff_norm(colors, d, log, metrics.get("one_ulp_of_max", 0.0))
    worst = metrics.get("worst_pixels", [])
    scale = "log" if log else "linear"

    cmap = plt.get_cmap("viridis").with_extremes(bad="black")  # zeros on a log scale, NaNs
    panels = [
        ("c_image", c64, norm, cmap, f"C reference ({scale})", UNITS),
        ("torch_image", p64, norm, cmap, f"torch ({scale})", UNITS),
        ("diff_image", d, dnorm, plt.get_cmap("RdBu_r"),
         f"torch − C (max |Δ| {metrics.get('max_abs_diff', 0):.3g})", f"torch − C ({UNITS})"),
    ]

    def draw(ax, fig, img, nrm, cm, title, label):
        im = ax.imshow(img, norm=nrm, cmap=cm, extent=ext, interpolation="nearest", origin="upper")
        ax.set_xlabel("fast (pixel index)")
        ax.set_ylabel("slow (pixel index)")
        ax.set_title(title, fontsize=9)
        cb = fig.colorbar(im, ax=ax, shrink=0.85)
        cb.set_label(label)
        _mark(ax, worst)

    paths = {}
    for name, img, nrm, cm, title, label in (panels if separate else []):
        fig, ax = plt.subplots(figsize=(5.6, 4.8))
        draw(ax, fig, img, nrm, cm, title, label)
        fig.suptitle(tag, fontsize=10)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        paths[name] = str(path)

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.9))
    for ax, (name, img, nrm, cm, title, label) in zip(axes, panels):
        draw(ax, fig, img, nrm, cm, title, label)
    fig.suptitle(f"{tag} — corr {metrics.get('corr', float('nan')):.15g}, "
                 f"sum ratio {metrics.get('sum_ratio', float('nan')):.15g}, "
                 f"pixels outside tolerance {metrics.get('outside_tolerance', '?')}", fontsize=10)
    fig.tight_layout()
    path = out_dir / "comparison.png"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    paths["comparison"] = str(path)
    return paths
