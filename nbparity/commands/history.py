"""`nbparity history [DIR]`: the attempt ledger of the bundles under DIR (default reports/)."""

from __future__ import annotations

import json

import click


@click.command("history")
@click.argument("directory", default="reports", type=click.Path())
@click.option("--case", "case", default=None, help="Only attempts on this case name.")
@click.option("--pixel", nargs=2, type=int, default=None, metavar="SLOW FAST", help="Only attempts on this pixel.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (attempts + unreadable).")
@click.option("--csv", "as_csv", is_flag=True, help="Print the ledger as CSV.")
@click.option("--plot", type=click.Path(), default=None, metavar="FILE.png",
              help="Also draw the relative Δ of I_before_scaling and I_pixel_final per attempt (log scale).")
def command(directory, case, pixel, as_json, as_csv, plot):
    """List every bundle under DIRECTORY as an attempt, oldest first: time, case, pixel, git sha (+ if
    dirty), quirks, dtype, verdict, first divergence, root causes, relative Δ of I_before_scaling and
    I_pixel_final. `*` marks a verdict or first divergence that changed from the previous attempt on the
    same case and pixel. Bundles that cannot be read are listed with the reason. Exit 0 (2: no DIR)."""
    from nbparity.history import build_history, plot_history

    h = build_history(directory, case, tuple(pixel) if pixel else None)
    if plot:
        plot_history(h, plot)
    if as_json:
        doc = h.to_dict()
        doc["plot"] = plot
        click.echo(json.dumps(doc, indent=2, allow_nan=False))
    elif as_csv:
        click.echo(h.frame().to_csv(index=False, float_format="%.17g"), nl=False)
    else:
        render(h, plot)
    return 0


def _g(x) -> str:
    return "-" if x is None or x != x else f"{x:.3g}"


def render(h, plot) -> None:
    from nbparity.console import make_console
    from nbparity.report import text_table

    con = make_console()
    heads = ["#", "time", "kind", "case", "pixel", "git", "quirks", "dtype", "verdict", "first divergence",
             "root causes", "relΔ I_before", "relΔ I_final", "change"]
    cells = []
    for i, r in enumerate(h.rows, 1):
        sha = (r["git_sha"] or "?")[:8] + ("+" if r["dirty"] else "")
        cells.append([str(i), r["time"], r["kind"], str(r["case"]), r["pixel"] or "-", sha, str(r["quirks"]),
                      str(r["dtype"]), r["verdict"], r["first_divergence"] or "-", r["root_causes"] or "-",
                      _g(r["rel_I_before_scaling"]), _g(r["rel_I_pixel_final"]),
                      ("* " + r["change"]) if r["change"] else ""])
    statuses = ["fail" if r["verdict"] in ("fail", "error", "divergence") else "pass" for r in h.rows]
    con.print(text_table(f"attempts ({len(h.rows)}, oldest first)", heads, cells, statuses,
                         right={"#", "relΔ I_before", "relΔ I_final"}), soft_wrap=True)
    for u in h.unreadable:
        con.print(f"unreadable: {u['bundle']}: {u['reason']}", style="yellow")
    if plot:
        con.print(f"plot: {plot}")
