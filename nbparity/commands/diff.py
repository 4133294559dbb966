"""`nbparity diff C_LOG PY_LOG`: compare two existing trace logs factor by factor.

Plain function (callable from Python)::

    diff_logs(c_log, py_log, *, rtol=None, atol=None, dtype="float64") -> nbparity.compare.Comparison
        (.exit_code 0 parity / 1 divergence; bad input raises nbparity.errors.UsageError, exit 2)

Heavy imports (pandas, rich) happen inside the functions so `nbparity --help` stays fast.
"""

from __future__ import annotations

import click


def diff_logs(c_log, py_log, *, rtol: float | None = None, atol: float | None = None, dtype: str = "float64"):
    """Parse both logs (missing / unreadable / empty / binary / truncated -> UsageError) and compare them."""
    from nbparity.compare import compare_traces
    from nbparity.traces import load_trace

    c = load_trace(c_log, "C")
    py = load_trace(py_log, "torch")
    return compare_traces(c, py, rtol=rtol, atol=atol, dtype=dtype)


@click.command("diff")
@click.argument("c_log", type=str)
@click.argument("py_log", type=str)
@click.option("--tolerance", "rtol", type=float, default=None,
              help="rtol for every non-exact key (default: traces/tolerances.toml by class and dtype).")
@click.option("--atol", "atol", type=float, default=None, help="atol for every non-exact key.")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True,
              help="Which tolerance defaults to use (the torch side's dtype).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
@click.option("--failing-only", is_flag=True, help="Show only failing and one-sided rows in the table.")
@click.pass_context
def command(ctx, c_log, py_log, rtol, atol, dtype, as_json, failing_only):
    """Compare a C trace log with a torch trace log: |py - c| <= atol + rtol*|c| with C as reference.
    Configuration differences first, then the first divergence in C emission order and the root causes
    (failing keys whose parents in traces/schema.toml all agree). Exit 0 parity, 1 divergence, 2 bad input."""
    result = diff_logs(c_log, py_log, rtol=rtol, atol=atol, dtype=dtype)
    if as_json:
        import json

        click.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        from nbparity.console import make_console
        from nbparity.report import render

        render(result, make_console(), failing_only=failing_only)
    ctx.exit(result.exit_code)
