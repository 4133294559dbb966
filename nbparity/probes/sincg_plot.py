"""The sincg probe's figure: per axis, the C formula over the window, the simulator's curve (when the
torch side is the in-repo simulator), the torch side's traced values (simulator or port) as points, and
|Δ| below (log scale)."""

from __future__ import annotations

AXES = (("h", "Na", 0), ("k", "Nb", 1), ("l", "Nc", 2))


def png_bytes(sweep, traced, meta: dict) -> bytes:
    """The figure as PNG bytes. `meta`: pixel_hkl, N, dtype, title, torch (a label)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 7), sharex="col", gridspec_kw={"height_ratios": [3, 1.4]})
    for col, (axis, nkey, _) in enumerate(AXES):
        _panel(axes[0][col], axes[1][col], sweep[sweep["axis"] == axis],
               traced[traced["axis"] == axis] if len(traced) else traced, axis, nkey, meta)
    fig.suptitle(meta["title"], fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _panel(ax, dx, d, t, axis, nkey, meta) -> None:
    ax.plot(d["x"], d["c_float64"], color="tab:blue", linewidth=2.2, label="C formula (float64)")
    has_sim = d["simulator"].notna().any()
    if has_sim:
        ax.plot(d["x"], d["simulator"], color="tab:orange", linewidth=1.0, linestyle="--",
                label=f"simulator ({meta['dtype']})")
    if len(t):
        ax.plot(t["x"], t["torch"], "o", color="tab:red", markersize=5, label=f"{meta['torch']} traced (per φ)")
    x0 = meta["pixel_hkl"][axis]["x"]
    ax.axvline(x0, color="tab:red", alpha=0.4)
    ax.set_title(f"sincg(π·{axis}, {nkey}={meta['N'][nkey]:g}); pixel {axis} = {x0:.10g}", fontsize=9)
    ax.set_ylabel("F_latt factor")
    ax.legend(fontsize=7)
    if has_sim:
        diff = (d["simulator"] - d["c_float64"]).abs()
        dx.semilogy(d["x"], diff.where(diff > 0, 1e-18), color="tab:purple", linewidth=0.8)
        dx.set_ylabel("|sim − C| (0 at 1e-18)")
    if len(t):
        dt = t["abs_diff"].fillna(0.0)
        dx.semilogy(t["x"], dt.where(dt > 0, 1e-18), "o", color="tab:red", markersize=3)
    dx.set_xlabel(f"fractional {axis}")
