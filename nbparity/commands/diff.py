"""`nbparity diff C_LOG PY_LOG`: compare two existing trace files factor by factor.

Plain function (callable from Python)::

    diff_logs(c_log, py_log, *, rtol=None, atol=None, dtype="float64", c_format=None, py_format=None, keys=())
        -> nbparity.compare.Comparison
        (.judgement: identical / within tolerance (exit 0), divergent / incomplete (exit 1); .exit_code is
        the judgement's; input holding no trace value raises UsageError, exit 2)

Each file is read by the reader of its format (nbparity/trace/: trace-log, phi-log, phi-json, phi-table),
detected from its content unless --format names it. Heavy imports (pandas, rich) happen inside the
functions so `nbparity --help` stays fast.
"""

from __future__ import annotations

import click

from nbparity.options import TOLERANCE

FORMAT_CHOICES = ["auto", "trace-log", "phi-log", "phi-json", "phi-table"]


def _fmt(value: str | None) -> str | None:
    return None if value in (None, "auto") else value


def diff_logs(c_log, py_log, *, rtol: float | None = None, atol: float | None = None, dtype: str = "float64",
              c_format: str | None = None, py_format: str | None = None, keys=()):
    """Read both files (missing / unreadable / empty / binary / no trace value -> UsageError) and compare.
    `keys` ('KEY,KEY|PRESET' or a tuple): only those keys decide, each must be printed by both sides."""
    from nbparity.compare import compare_traces
    from nbparity.trace import load_trace

    c = load_trace(c_log, "C", format=_fmt(c_format))
    py = load_trace(py_log, "torch", format=_fmt(py_format))
    return compare_traces(c, py, rtol=rtol, atol=atol, dtype=dtype, keys=keys)


def _split_format(value: str) -> tuple[str, str]:
    """`--format F` applies to both files; `--format C_F,PY_F` to each."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) > 2 or any(p not in FORMAT_CHOICES for p in parts):
        raise click.BadParameter(f"use one of {', '.join(FORMAT_CHOICES)}, or two of them as C,TORCH",
                                 param_hint="--format")
    return (parts[0], parts[-1])


@click.command("diff")
@click.argument("c_log", type=str)
@click.argument("py_log", type=str)
@click.option("--tolerance", "rtol", type=TOLERANCE, default=None,
              help="rtol for every non-exact key (default: traces/tolerances.toml by class and dtype).")
@click.option("--atol", "atol", type=TOLERANCE, default=None, help="atol for every non-exact key.")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True,
              help="Which tolerance defaults to use (the torch side's dtype).")
@click.option("--format", "formats", default="auto", show_default=True, metavar="FORMAT[,FORMAT]",
              help="Reader for the files instead of the detected one: auto, trace-log (TRACE_* line logs), "
                   "phi-log (per-φ lines only), phi-json (per-φ JSON with 'traces'/'per_phi_entries'), "
                   "phi-table (per-φ text table). One value for both files, or C,TORCH.")
@click.option("--keys", "keys", default=None, metavar="KEY,KEY|PRESET",
              help="Only these keys decide the verdict (bare names match every section, section.key one; "
                   "preset 'scaling': r_e_sqr, fluence_photons_per_m2, steps, capture_fraction, polar, "
                   "omega_pixel, I_before_scaling, I_pixel_final; preset 'phi': phi.phi_deg, phi.k_frac, "
                   "phi.F_latt_b, phi.F_latt). Each must be printed by both sides, "
                   "else the verdict is incomplete.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.option("--failing-only", is_flag=True, help="Show only failing and one-sided rows in the table.")
@click.pass_context
def command(ctx, c_log, py_log, **opts):
    """Compare a C trace file with a torch trace file: |py - c| <= atol + rtol*|c| with C as reference.
    Reads full and partial traces, per-φ-only logs, per-φ JSON and other builds' logs (the detected
    format is printed). Keys both sides have are compared, the rest listed as one-sided; per-φ steps
    are aligned by (occurrence, phi_tic). Configuration differences first, then the first divergence in
    C emission order, the root causes and the per-φ table; the last line is the judgement. Exit 0
    identical or within tolerance; 1 divergent, or incomplete (a value only one side printed that
    traces/one_sided.toml does not declare, a value not finite on both sides, nothing in common, a
    --keys key absent on a side); 2 bad input (a file holding no trace value)."""
    c_format, py_format = _split_format(opts["formats"])
    result = diff_logs(c_log, py_log, rtol=opts["rtol"], atol=opts["atol"], dtype=opts["dtype"],
                       c_format=c_format, py_format=py_format, keys=opts["keys"] or ())
    if opts["as_json"]:
        import json

        click.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        from nbparity.console import make_console
        from nbparity.write.report import render

        render(result, make_console(), failing_only=opts["failing_only"], per_phi=True)
        if "other keys" in result.not_compared:   # the sections not compared are among the warnings
            click.echo(f"Other keys {result.not_compared['other keys']}")
        click.echo(result.judgement.headline)
    ctx.exit(result.exit_code)
