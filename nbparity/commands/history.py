"""`nbparity history [DIR]`: the attempt ledger of the bundles under DIR (default reports/)."""

from __future__ import annotations

import json

import click

WIDTH = 120   # the terminal ledger never gets wider


@click.command("history")
@click.argument("directory", default="reports", type=click.Path())
@click.option("--case", "case", default=None, help="Only attempts on this case name.")
@click.option("--pixel", nargs=2, type=int, default=None, metavar="SLOW FAST", help="Only attempts on this pixel.")
@click.option("--kind", type=click.Choice(["compare", "image", "probe", "matrix"]), default=None,
              help="Only attempts of this kind (probe: every probe).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (attempts + unreadable).")
@click.option("--csv", "as_csv", is_flag=True, help="Print the ledger as CSV (every column, full text).")
@click.option("--plot", type=click.Path(), default=None, metavar="FILE.png",
              help="Also draw the relative Δ of I_before_scaling and I_pixel_final per attempt (log scale).")
def command(directory, case, pixel, kind, as_json, as_csv, plot):
    """List every bundle under DIRECTORY as an attempt, oldest first: time, kind, case, pixel, verdict
    (identical, within_tolerance, explained, divergent, incomplete, error), first divergence, relative Δ
    of I_pixel_final; below it the sides (C: binary sha256[:8] and line, `?` when the bundle did not
    record it; torch: `sim <git sha>[+dirty] <dtype> <quirk mode>` or `port <command>`) and the note.
    `*` marks a verdict or first divergence that changed from the previous attempt of the same kind,
    case and pixel on the same sides. A bundle that fails `bundle verify` or cannot be read is listed
    with verdict incomplete / unreadable and the reason. Exit 0; 2 when DIRECTORY does not exist."""
    from nbparity.history import build_history, plot_history

    h = build_history(directory, case, tuple(pixel) if pixel else None, kind)
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


def _time(t: str) -> str:
    """'2026-12-05T10:37:14Z' → '12-05 10:37:14' (the year is in --csv / --json)."""
    return f"{t[5:10]} {t[11:19]}" if len(t) >= 19 and t[10] == "T" else (t or "?")


# (header, width, right-aligned)
_COLS = [("#", 3, True), ("time", 14, False), ("kind", 16, False), ("case", 14, False), ("pixel", 9, False),
         ("verdict", 16, False), ("first divergence", 20, False), ("relΔ I", 8, True), ("", 1, False)]


def ledger_lines(h) -> list[tuple[str, str | None]]:
    """The terminal ledger as (line, style) pairs, none longer than WIDTH: one line per attempt, then
    an indented line with its sides and note, and one with the change or the reason where there is one."""
    from nbparity.attempt import c_label, shorten

    def line(values):
        return "  ".join(shorten(v, w).rjust(w) if right else shorten(v, w).ljust(w)
                         for v, (_, w, right) in zip(values, _COLS)).rstrip()

    out = [(f"attempts ({len(h.rows)}, oldest first)", "bold"), (line([c[0] for c in _COLS]), "bold"),
           ("  ".join("─" * w for _, w, _ in _COLS[:-1]), None)]
    indent, room = " " * 5, WIDTH - 5
    for i, r in enumerate(h.rows, 1):
        bad = r["verdict"] in ("divergent", "error", "incomplete", "unreadable")
        out.append((line([str(i), _time(r["time"] or ""), r["kind"] or "?", str(r["case"] or "-"), r["pixel"] or "-",
                          r["verdict"], r["first_divergence"] or "-", _g(r["rel_I_pixel_final"]),
                          "*" if r["change"] else ""]), "red" if bad else None))
        if r["torch"] is not None:   # None: nothing could be read about the sides
            note = f" · note: {r['note']}" if r["note"] else ""
            out.append((indent + shorten(f"C {c_label(r['_sides'])} · torch {r['torch']}{note}", room), "dim"))
        if r["change"]:
            out.append((indent + shorten(f"* {r['change']}", room), "yellow"))
        if r["reason"]:
            out.append((indent + shorten(f"! {r['reason']}", room), "yellow"))
    return out


def render(h, plot) -> None:
    from rich.text import Text

    from nbparity.console import make_console

    con = make_console()
    text = Text(no_wrap=True, overflow="ignore")
    for ln, style in ledger_lines(h):
        text.append(ln + "\n", style=style)
    con.print(text, soft_wrap=True, end="")
    if plot:
        con.print(f"plot: {plot}")
