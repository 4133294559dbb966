"""`nbparity compare --pixel SLOW FAST`: factor-by-factor parity of one pixel, C vs torch."""

from __future__ import annotations

import json
import shlex

import click

from nbparity.commands.portopts import port_from_options, port_options


@click.command("compare")
@click.option("--pixel", nargs=2, type=int, required=True, metavar="SLOW FAST",
              help="The pixel, slow index first then fast (as -trace_pixel).")
@click.option("--case", "case", default=None, metavar="NAME|FILE",
              help="supervisor, supervisor-synthetic, or a YAML case file (args: …). Default: supervisor "
                   "when its inputs are found (--data-dir, $NBPARITY_DATA, cwd), else supervisor-synthetic.")
@click.option("--args", "args", default=None, help='nanoBragg arguments, e.g. "-mat A.mat -hkl F.hkl …".')
@click.option("--data-dir", default=None, type=click.Path(), help="Where A.mat and scaled.hkl live.")
@click.option("--device", default="cpu", show_default=True, help="Torch device (cpu, cuda, cuda:1).")
@click.option("--dtype", default="float64", show_default=True, type=click.Choice(["float64", "float32"]))
@click.option("--quirks", default="spec", show_default=True,
              help="Torch-side quirk mode: c | c-r2 | spec [,+ID|,-ID …] (traces/quirks.toml). In a c mode the "
                   "torch side follows the C binary's line (R1/R2, C-ARGV-001) where it changes the parse.")
@click.option("--tolerance", type=float, default=None, help="rtol for every class (default: tolerances.toml).")
@click.option("--atol", type=float, default=None, help="atol for every non-exact class.")
@click.option("--c-bin", type=click.Path(), default=None, help="Use this nanoBragg binary (prints TRACE_C).")
@click.option("--c-source", type=click.Path(), default=None, help="Build this C file/directory instead.")
@click.option("--cflags", default="", help="Extra compiler flags for --c-source (see `nbparity build`).")
@click.option("--out", default="reports", show_default=True, type=click.Path(), help="Where bundles go.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.option("--strict", is_flag=True, help="Divergences explained by known C quirks fail too (exit 1).")
@click.option("--full-frame", is_flag=True, help="Render the whole frame instead of the narrowed region.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="C run timeout in seconds.")
@click.option("--no-attribution", is_flag=True, help="Skip the quirk attribution re-runs.")
@port_options
def command(pixel, case, args, data_dir, device, dtype, quirks, tolerance, atol, c_bin, c_source, cflags,
            out, as_json, strict, full_frame, timeout, no_attribution, py_cmd, py_quirk_flags):
    """Run C and torch on the identical argv for one pixel and compare every traced factor.

    Exit 0 parity (or only divergences explained by known C quirks), 1 divergence, 2 bad input or a pixel
    that is not rendered, 3 build/run failure. A bundle is written under --out in every case."""
    from nbparity.cbuild import check_c_options
    from nbparity.pipeline import compare_pixel

    check_c_options(c_bin, c_source)
    port = port_from_options(py_cmd, py_quirk_flags, ("device", "dtype", "quirks"))
    slow, fast = pixel
    result = compare_pixel(slow, fast, case=case, args=args, data_dir=data_dir, device=device, dtype=dtype,
                           quirks=quirks, tolerance=tolerance, atol=atol, c_bin=c_bin, c_source=c_source,
                           cflags=shlex.split(cflags), out=out, strict=strict, full_frame=full_frame,
                           timeout=timeout, attribute=not no_attribution, torch_worker=True, port=port,
                           log=lambda m: click.echo(m, err=True))
    if as_json:
        from nbparity.pipeline import _json_safe

        click.echo(json.dumps(_json_safe(result.to_dict()), indent=2, allow_nan=False))
    else:
        render(result)
    return result.exit_code


def render(result) -> None:
    """Rich report: verdict first, then configuration, divergence, roots, tables, attributions, bundle."""
    from nbparity.console import make_console

    con = make_console()
    m = result.metrics
    style = {"pass": "bold green", "explained": "bold yellow", "fail": "bold red"}.get(result.verdict, "bold red")
    con.print(m.get("verdict_line", result.verdict), style=style)
    con.print(f"case [bold]{m['case']['name']}[/] — {m['case']['why']}")
    from nbparity.pipeline import describe_region

    side = (f"port `{m['port']['command']}`" if m.get("port") else
            f"torch {m['device']} {m['dtype']} quirks {m['quirk_mode']}")
    con.print(f"pixel slow {result.slow}, fast {result.fast}; {describe_region(m['region'])}; {side}")
    if m.get("c_line"):
        con.print(m["c_line"]["text"])
    for w in result.warnings:
        con.print(f"WARNING: {w}", style="yellow")
    if result.comparison is not None:
        try:
            from nbparity import report

            fn = getattr(report, "render", None) or getattr(report, "print_report", None)
            if fn is not None:
                fn(result.comparison, console=con)
        except Exception as exc:  # fall back to the summary; the tables are in the bundle anyway
            con.print(f"(factor report unavailable: {type(exc).__name__}: {exc})", style="dim")
    pp = result.per_phi
    if pp is not None and len(pp):
        from nbparity.report import text_table

        cols = [c for c in ("occurrence", "phi_tic", "phi_deg_c", "h_frac_c", "k_frac_c", "l_frac_c",
                            "F_latt_c", "F_latt_py", "max_rel_delta", "status", "failing") if c in pp.columns]
        cells = [[f"{v:.10g}" if isinstance(v, float) else str(v) for v in row] for row in pp[cols].itertuples(index=False)]
        statuses = list(pp["status"]) if "status" in pp.columns else ["pass"] * len(cells)
        con.print(text_table("per-φ steps (source 0, mosaic 0)", cols, cells, statuses,
                             right={"phi_tic", "phi_deg_c", "h_frac_c", "k_frac_c", "l_frac_c", "F_latt_c",
                                    "F_latt_py", "max_rel_delta"}), soft_wrap=True)
        s = m.get("per_phi") or {}
        fd = s.get("first_divergent")
        con.print("first divergent φ step: " + (f"{fd['phi_tic']} at occurrence ({fd['occurrence']}): {fd['fields']}"
                                               if isinstance(fd, dict) else "none"))
    att = result.attribution
    if att is not None:
        for line in att.messages:
            con.print(f"attributed: {line}", style="yellow")
        if att.unexplained:
            con.print(f"unexplained: {att.unexplained} divergent value(s) with {', '.join(att.triggered) or 'no'} "
                      "quirk(s) emulated", style="red")
    pv = m.get("pixel_values") or {}
    if pv:
        con.print(f"pixel value: C {pv.get('c_float')!r}  torch {pv.get('torch_float')!r}")
    con.print(f"bundle: {result.bundle}")
