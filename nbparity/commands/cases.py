"""`nbparity cases run MATRIX.yaml`: the parity matrix (the CI gate on scaling parity)."""

from __future__ import annotations

import sys

import click

from nbparity.commands.portopts import port_from_options, port_options


def _print_table(result):
    from nbparity.console import make_console
    from rich.table import Table

    from nbparity.matrix import row

    colours = {"PASS": "green", "DIVERGENCE": "red", "ERROR": "magenta"}
    t = Table(title=f"parity matrix {result.name}")
    for col in ("id", "run", "verdict", "corr", "sum ratio", "max |Δ|", "traced pixels", "time (s)"):
        t.add_column(col, justify="right" if col in ("time (s)",) else "left")
    for o in result.outcomes:
        r = row(o)
        t.add_row(r["id"], r["run"], f"[{colours[r['verdict']]}]{r['verdict']}[/]", r["corr"], r["sum_ratio"],
                  r["max_abs_diff"], r["traces"], r["time_s"])
    con = make_console()
    con.print(t)
    for o in result.outcomes:
        if o["status"] != "pass":
            con.print(f"[{colours[o['verdict']]}]{o['id']}/{o['run']}[/]: {o['message']}")
    c = result.counts
    from nbparity.matrix import c_line_texts

    for text in c_line_texts(result.outcomes):
        con.print(text)
    con.print(f"{c['pass']} pass, {c['failure']} divergence, {c['error']} error — exit {result.exit_code}")
    con.print(f"matrix bundle: {result.bundle}")
    if result.junit:
        con.print(f"JUnit XML: {result.junit}")


@click.group("cases")
def command():
    """Parity matrices: many cases, each run compared image and trace, every threshold a gate."""


@command.command("run")
@click.argument("matrix_file", metavar="MATRIX.yaml")
@click.option("--only", multiple=True, metavar="ID[/RUN]", help="Run only these case ids (or id/run). Repeatable.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Parallel processes (ignored with --scheduler).")
@click.option("--junit-xml", default=None, metavar="PATH", help="Write JUnit XML (one testcase per run).")
@click.option("--json", "as_json", is_flag=True, help="Print the matrix result as JSON on stdout.")
@click.option("--out", default="reports", show_default=True, help="Directory for the bundles.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Hand the runs to this dask.distributed scheduler (e.g. tcp://host:8786).")
@click.option("--c-bin", default=None, help="Use this C binary instead of building one.")
@click.option("--c-source", default=None, help="Build this nanoBragg.c (or directory of .c files).")
@port_options
def run(matrix_file, only, jobs, junit_xml, as_json, out, scheduler, c_bin, c_source, py_cmd, py_quirk_flags):
    """Run every case of MATRIX.yaml. Exit 0 all pass, 1 any divergence, 3 any error (error beats
    divergence), 2 bad matrix."""
    import json

    from nbparity.cbuild import check_c_options
    from nbparity.matrix import load_matrix, run_matrix

    check_c_options(c_bin, c_source)
    port = port_from_options(py_cmd, py_quirk_flags)
    matrix = load_matrix(matrix_file, list(only) or None)
    if port is not None:
        from nbparity.matrix import apply_port

        matrix = apply_port(matrix, port)

    def log(msg):
        click.echo(f"nbparity cases: {msg}", err=True)

    result = run_matrix(matrix, jobs=jobs, out=out, scheduler=scheduler, c_bin=c_bin, c_source=c_source,
                        junit_xml=junit_xml, log=log)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True, default=str))
    else:
        _print_table(result)
    sys.stdout.flush()
    return result.exit_code


@command.command("check")
@click.argument("matrix_file", metavar="MATRIX.yaml")
def check(matrix_file):
    """Validate MATRIX.yaml without running it (exit 0 valid, 2 with the first problem)."""
    from nbparity.matrix import load_matrix

    m = load_matrix(matrix_file)
    click.echo(f"{m.path}: {len(m.runs)} run(s) in {len({r.case_id for r in m.runs})} case(s), "
               f"{len(m.prepare)} prepare step(s)")
    return 0
