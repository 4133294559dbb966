"""`nbparity cases run MATRIX.yaml`: the parity matrix (the CI gate on scaling parity); `cases check`."""

from __future__ import annotations

import os
import sys

import click

from nbparity.commands.portopts import port_options
from nbparity.options import max_memory_bytes, max_memory_option, output_options, output_spec
from nbparity.request import DEFAULT_QUIRKS

STYLE = {"identical": "green", "within_tolerance": "green", "explained": "yellow", "divergent": "red",
         "incomplete": "red", "error": "magenta"}


def _print_table(result):
    from rich.table import Table

    from nbparity.console import make_console
    from nbparity.flows.matrix_result import c_line_texts
    from nbparity.write.matrix_bundle import row

    t = Table(title=f"parity matrix {result.name}")
    for col in ("id", "run", "verdict", "corr", "sum ratio", "max |Δ|", "traced pixels", "time (s)"):
        t.add_column(col, justify="right" if col in ("time (s)",) else "left")
    for o in result.outcomes:
        r = row(o)
        t.add_row(r["id"], r["run"], f"[{STYLE[r['verdict']]}]{r['verdict']}[/]", r["corr"], r["sum_ratio"],
                  r["max_abs_diff"], r["traces"], r["time_s"])
    con = make_console()
    con.print(t)
    for o in result.outcomes:
        if o["exit_code"] != 0:
            con.print(f"[{STYLE[o['verdict']]}]{o['id']}/{o['run']}[/]: {o['verdict']} — {o['reason']}",
                      highlight=False)
    for text in c_line_texts(result.outcomes):
        con.print(text)
    con.print(result.judgement.headline, style=STYLE[result.verdict], markup=False, highlight=False)
    con.print(f"matrix bundle: {result.bundle}")
    if result.junit:
        con.print(f"JUnit XML: {result.junit}")


def run_and_show(request) -> int:
    """Run a MatrixRequest, print the table (or the JSON), return the exit code."""
    from nbparity.codec import dumps
    from nbparity.flows.matrix import run_matrix

    result = run_matrix(request, log=lambda msg: click.echo(f"nbparity cases: {msg}", err=True))
    if request.output.as_json:
        click.echo(dumps(result.to_metrics()), nl=False)
    else:
        _print_table(result)
    sys.stdout.flush()
    return result.exit_code


@click.group("cases")
def command():
    """Parity matrices: many cases, each run compared image and trace, every threshold a gate."""


RUN_HELP = (f"Run every case of MATRIX.yaml. Exit 0 when every run passes (identical, within tolerance or "
            f"explained), 1 when any is divergent or incomplete, 3 when any is an error (error beats divergence), "
            f"2 for a bad matrix. Runs that set no quirks use the default of every command: {DEFAULT_QUIRKS}.")


@command.command("run", help=RUN_HELP)
@click.argument("matrix_file", metavar="MATRIX.yaml")
@click.option("--only", multiple=True, metavar="ID[/RUN]", help="Run only these case ids (or id/run). Repeatable.")
@click.option("--jobs", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Parallel processes (ignored with --scheduler).")
@click.option("--junit-xml", default=None, metavar="PATH", help="Write JUnit XML (one testcase per run).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Hand the runs to this dask.distributed scheduler (e.g. tcp://host:8786).")
@click.option("--c-bin", default=None, help="Use this C binary instead of building one.")
@click.option("--c-source", default=None, help="Build this nanoBragg.c (or directory of .c files).")
@click.option("--c-threads", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="OMP_NUM_THREADS of every C run (an OpenMP build's image depends on it; the in-repo simulator "
                   "emulates its row blocks, C-OMP-001).")
@click.option("--strict", is_flag=True, help="Runs explained by known C quirks fail too (exit 1).")
@click.option("--allow-empty", is_flag=True,
              help="Accept all-zero or non-finite images on both sides (otherwise: incomplete).")
@max_memory_option
@output_options
@port_options
def run(matrix_file, only, jobs, junit_xml, scheduler, c_bin, c_source, c_threads, strict, allow_empty, py_cmd,
        py_quirk_flags, max_memory, **kw):
    from nbparity.cbuild import check_c_options
    from nbparity.commands.portopts import port_from_options
    from nbparity.read.matrix_parse import load_matrix
    from nbparity.request import CSpec, JudgeSpec, MatrixRequest, TorchSpec

    check_c_options(c_bin, c_source)
    check_file_target(junit_xml, "--junit-xml")
    port = port_from_options(py_cmd, py_quirk_flags)
    load_matrix(matrix_file, list(only) or None)   # a bad matrix is exit 2 before anything is built
    request = MatrixRequest(
        os.path.abspath(os.path.expanduser(matrix_file)), tuple(only),
        CSpec(_abs(c_bin), _abs(c_source), threads=c_threads),
        TorchSpec(port=port, max_memory=max_memory_bytes(max_memory, port)),
        JudgeSpec(strict=strict, allow_empty=allow_empty), output_spec(kw), jobs,
        scheduler, _abs(junit_xml))
    return run_and_show(request)


def _abs(path):
    return None if path is None else os.path.abspath(os.path.expanduser(path))


def check_file_target(path, option: str) -> None:
    """A file the run will write: not a folder, in a folder that exists (exit 2 before any work)."""
    from nbparity.errors import UsageError

    if path is None:
        return
    p = _abs(path)
    if os.path.isdir(p):
        raise UsageError(f"{option} {path}: is a folder, not a file")
    if not os.path.isdir(os.path.dirname(p)):
        raise UsageError(f"{option} {path}: the folder {os.path.dirname(p)} does not exist")


@command.command("check")
@click.argument("matrix_file", metavar="MATRIX.yaml")
def check(matrix_file):
    """Validate MATRIX.yaml without running it (exit 0 valid, 2 with the first problem)."""
    from nbparity.read.matrix_parse import load_matrix

    m = load_matrix(matrix_file)
    click.echo(f"{m.path}: {len(m.runs)} run(s) in {len({r.case_id for r in m.runs})} case(s), "
               f"{len(m.prepare)} prepare step(s)")
    return 0
