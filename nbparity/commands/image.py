"""`nbparity image`: full-frame (or ROI) float-image parity between the C reference and the torch port."""

from __future__ import annotations

import sys

import click

from nbparity.commands.portopts import port_from_options, port_options
from nbparity.errors import UsageError


def _parse_thresholds(items):
    """--threshold NAME=VALUE (VALUE a number or 'none') → (Thresholds, MetricOptions)."""
    from nbparity.images import MetricOptions, Thresholds

    t, o = Thresholds().to_dict(), MetricOptions().to_dict()
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"--threshold {item!r}: expected NAME=VALUE")
        if raw.strip().lower() in ("none", "null", "off"):
            value = None
        else:
            try:
                value = float(raw)
            except ValueError:
                raise UsageError(f"--threshold {item!r}: {raw!r} is not a number") from None
        if name in t:
            t[name] = value
        elif name in o and value is not None:
            o[name] = int(value) if name in ("pixel_ulps", "worst_n") else value
        else:
            known = ", ".join([*t, *o])
            raise UsageError(f"--threshold {item!r}: unknown name {name!r} (known: {known})")
    return Thresholds(**t), MetricOptions(**o)


def _print_human(r):
    from rich.table import Table

    from nbparity.console import make_console

    from nbparity.images import describe_failures

    con = make_console()
    m = r.image.metrics
    colour = "green" if r.exit_code == 0 else "red"
    side = f"port `{r.port['command']}`" if r.port else f"{r.dtype}, quirks={r.quirks}, {r.device}"
    con.print(f"[bold {colour}]{r.verdict}[/] {r.case} ({side}) — "
              f"{describe_failures(r.image)}")
    if r.c_line:
        con.print(r.c_line["text"])
    if r.placement.get("reason"):
        con.print(f"WARNING: --roi not applied: {r.placement['reason']}", style="yellow")
    t = Table(title="gates", show_lines=False)
    for col in ("gate", "value", "limit", "ok"):
        t.add_column(col)
    for g in r.image.gates:
        t.add_row(g["gate"], f"{g['value']!r}", f"{g['op']} {g['limit']!r}",
                  "[green]yes[/]" if g["ok"] else "[red]NO[/]")
    con.print(t)
    h = m["ulp_histogram"]
    pk = m["peaks"]
    con.print(f"max |Δ| {m['max_abs_diff']!r} at (slow {m['max_abs_diff_pixel']['slow']}, "
              f"fast {m['max_abs_diff_pixel']['fast']}); RMSE {m['rmse']!r}; max rel Δ {m['max_rel_diff']!r}")
    con.print(f"ulps 0/1/2–4/5–16/>16: {h['0']}/{h['1']}/{h['2-4']}/{h['5-16']}/{h['>16']}; "
              f"peaks C {pk['n_c']} torch {pk['n_torch']} matched {pk['matched']} "
              f"(max {pk['max_distance_px']} px)")
    if r.bundle:
        con.print(f"bundle: {r.bundle}")


@click.command("image")
@click.option("--case", "case", default=None, help="Built-in case (supervisor, supervisor-synthetic) or a YAML case file.")
@click.option("--args", "args", default=None, help="A nanoBragg argv string given to both sides.")
@click.option("--data-dir", default=None, help="Where the supervisor inputs (A.mat, scaled.hkl) live.")
@click.option("--device", default="cpu", show_default=True, help="Torch device.")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True)
@click.option("--quirks", default="c", show_default=True,
              help="Quirk mode for the torch side (c = emulate every C quirk, spec = none; ,+ID / ,-ID).")
@click.option("--c-bin", default=None, help="Use this C binary instead of building one.")
@click.option("--c-source", default=None, help="Build this nanoBragg.c (or directory of .c files).")
@click.option("--out", default="reports", show_default=True, help="Directory for the evidence bundle.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds allowed for the C run.")
@click.option("--roi", nargs=4, type=int, default=None, metavar="XMIN XMAX YMIN YMAX",
              help="Render and compare only this region (fast range first, inclusive).")
@click.option("--log", "log_scale", is_flag=True, help="Log colour scale in the PNGs.")
@click.option("--threshold", "thresholds", multiple=True, metavar="NAME=VALUE",
              help="Override a gate (corr_min, sum_ratio_min, sum_ratio_max, max_abs_max, max_rel_max, "
                   "rmse_max, outside_max, …; 'none' disables) or a metric option (pixel_ulps, pixel_rtol, "
                   "rel_floor_frac, peak_radius_px, …). Repeatable; all recorded in metrics.json.")
@click.option("--no-bundle", is_flag=True, help="Do not write an evidence bundle.")
@port_options
def command(case, args, data_dir, device, dtype, quirks, c_bin, c_source, out, as_json, timeout, roi,
            log_scale, thresholds, no_bundle, py_cmd, py_quirk_flags):
    """Compare the C and torch float images of a case: correlation, sum ratio, max |Δ|, ulp histogram,
    peak matching, PNGs; exit 0 when every gate passes, 1 on divergence."""
    import json

    from nbparity.cases import resolve_case
    from nbparity.cbuild import check_c_options
    from nbparity.imagecmp import compare_image

    check_c_options(c_bin, c_source)
    port = port_from_options(py_cmd, py_quirk_flags, ("device", "dtype", "quirks"))
    t, o = _parse_thresholds(thresholds)
    the_case = resolve_case(case, args, data_dir)

    def log(msg):
        click.echo(f"nbparity image: {msg}", err=True)

    log(f"case {the_case.name}: {the_case.why}")
    r = compare_image(the_case, roi=tuple(roi) if roi else None, device=device, dtype=dtype, quirks=quirks,
                      c_bin=c_bin, c_source=c_source, out=out, thresholds=t, options=o,
                      log_scale=log_scale, timeout=timeout, bundle=not no_bundle, log=log, port=port)
    if as_json:
        click.echo(json.dumps(r.to_dict(), indent=2, sort_keys=True, default=str))
    else:
        _print_human(r)
    sys.stdout.flush()
    return r.exit_code
