"""`nbparity probe sincg|single-phi|rotation --pixel S F`: the probes behind a fix-plan attempt."""

from __future__ import annotations

import click

from nbparity.probes.common import case_options


@click.group("probe")
def command():
    """Investigation probes around one pixel; each writes a bundle (with report.html) under --out.
    Exit 0 agreement, 1 divergence, 2 bad input, 3 run failure."""


def _setup(kw):
    from nbparity.probes.common import log_err, resolve

    as_json = kw.pop("as_json")
    ro = resolve(kw.pop("pixel"), kw.pop("case"), kw.pop("args"), kw.pop("data_dir"), kw.pop("device"),
                 kw.pop("dtype"), kw.pop("quirks"), kw.pop("c_bin"), kw.pop("c_source"), kw.pop("out"),
                 kw.pop("timeout"), log=log_err)
    log_err(f"case {ro.case.name}: {ro.case.why}")
    return ro, as_json


@command.command("sincg")
@case_options
@click.option("--window", type=float, default=0.5, show_default=True, help="Half-width of the sweep around h, k, l.")
@click.option("--points", type=int, default=1001, show_default=True, help="Samples per axis.")
def sincg(window, points, **kw):
    """Sweep sincg(π·x, N) per axis around the pixel's fractional h, k, l: the C formula in float64 vs the
    simulator's lattice factor in --dtype; CSV, markdown and PNG (both curves, the pixel's values marked)."""
    from nbparity.probes.common import echo_json
    from nbparity.probes.sincg import AXES, probe_sincg

    ro, as_json = _setup(kw)
    r = probe_sincg(ro, window, points)
    import json

    m = json.loads((r.bundle / "metrics.json").read_text())
    if as_json:
        echo_json({"verdict": m["verdict"], "verdict_line": m["verdict_line"], **r.to_dict()})
    else:
        click.echo(m["verdict_line"])
        for a, n, _ in AXES:
            lg = r.largest[a]
            click.echo(f"  {a} = {r.pixel[a]['x']:.17g} (N {r.N[n]:g}): largest |Δ| {lg['abs_diff']:.6g} at "
                       f"{a} = {lg['x']:.17g} (C {lg['c']:.17g}, simulator {lg['simulator']:.17g})")
        click.echo(f"bundle: {r.bundle}")
    return 0 if m["verdict"] == "pass" else 1


@command.command("single-phi")
@case_options
def single_phi(**kw):
    """Run both sides at each of the case's φ angles alone (-phisteps 1 -osc 0 -phi φ_i, placed so the
    rest of the parse is unchanged) and compare each step: which φ diverges first."""
    from nbparity.probes.common import echo_json, log_err
    from nbparity.probes.single_phi import probe_single_phi

    ro, as_json = _setup(kw)
    r = probe_single_phi(ro, log=log_err)
    if as_json:
        echo_json(r.to_dict())
    else:
        _table(r.table, ["phi_tic", "phi_deg", "status", "failed_values", "first_divergence",
                         "I_pixel_final_c", "I_pixel_final_py", "rel_I_pixel_final"], "single-φ steps")
        fd = r.first_divergent
        click.echo("first divergent φ step: " + (f"{fd['phi_tic']} (φ = {fd['phi_deg']!r}°): {fd['first_divergence']}"
                                               if fd else "none"))
        click.echo(f"bundle: {r.bundle}")
    return r.exit_code


@command.command("rotation")
@case_options
def rotation(**kw):
    """Side by side per φ step (mosaic domain 0): the rotated real basis a, b, c of both sides as traced,
    the reciprocal a*, b*, c* derived from them, their differences and the first diverging step."""
    from nbparity.probes.common import echo_json
    from nbparity.probes.rotation import probe_rotation

    ro, as_json = _setup(kw)
    r = probe_rotation(ro)
    if as_json:
        echo_json(r.to_dict())
    else:
        _table(_side_by_side(r.table), ["phi_tic", "phi_deg", "vector", "C (x y z)", "torch (x y z)", "max|Δ|",
                                        "status"], f"basis vectors per φ step, mosaic domain 0 ({r.source}; "
                                                   "a*, b*, c* derived from the traced a, b, c)")
        for n in r.notes or []:
            click.echo(f"note: {n}")
        fd = r.first_divergent
        click.echo("first diverging step: " + (f"φ_tic {fd['phi_tic']} (φ = {fd['phi_deg']!r}°) "
                                              f"{fd['vector']}_{fd['component']}" if fd else "none"))
        click.echo(f"bundle: {r.bundle}")
    return r.exit_code


def _table(df, cols, title):
    from nbparity.console import make_console
    from nbparity.report import text_table

    cols = [c for c in cols if c in df.columns]
    cells = [["%.17g" % v if isinstance(v, float) else str(v) for v in row] for row in df[cols].itertuples(index=False)]
    statuses = list(df["status"]) if "status" in df.columns else ["pass"] * len(cells)
    make_console().print(text_table(title, cols, cells, statuses,
                                    right={c for c in cols if df[c].dtype.kind in "fi"}), soft_wrap=True)


def _side_by_side(table):
    """One row per (step, vector): both sides' three components next to each other."""
    import pandas as pd

    rows = []
    for (tic, vec), g in table.groupby(["phi_tic", "vector"], sort=False):
        bad = (g["status"] == "fail").any()
        rows.append({"phi_tic": tic, "phi_deg": float(g["phi_deg"].iloc[0]), "vector": vec,
                     "C (x y z)": " ".join("%.17g" % v for v in g["c"]),
                     "torch (x y z)": " ".join("%.17g" % v for v in g["torch"]),
                     "max|Δ|": float(g["abs_diff"].max()), "status": "fail" if bad else g["status"].iloc[0]})
    return pd.DataFrame(rows)
