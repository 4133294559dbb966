"""`nbparity build`: compile the C reference (or a user's nanoBragg.c) into the cache, print the binary."""

from __future__ import annotations

import json
import shlex

import click


@click.command("build")
@click.option("--c-source", "c_source", type=click.Path(), default=None,
              help="A user's C file (e.g. an instrumented nanoBragg.c) or a directory of *.c files. "
                   "Default: c_reference/*.c.")
@click.option("--cflags", default="",
              help="Extra compiler flags, split like a shell line, appended to the strict defaults "
                   "(-std=c99 -O2 -fno-fast-math -ffp-contract=off -Wall -Wextra). The original "
                   "nanoBragg.c is not C99-clean: try --cflags '-std=gnu99 -DTRACING=1' (OpenMP "
                   "pragmas are ignored without -fopenmp, which keeps the build serial).")
@click.option("--openmp", is_flag=True,
              help="Build with -fopenmp, as the original's Makefile does: the row loop runs in one block of "
                   "rows per thread (run it with `--c-threads N`; see README, OpenMP builds).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of the path.")
def command(c_source, cflags, openmp, as_json):
    """Compile the C sources with strict IEEE flags into a cache keyed by sha256(sources + flags +
    compiler version) (~/.cache/nbparity, or $NBPARITY_CACHE) and print the binary path."""
    from nbparity.cbuild import build

    flags = shlex.split(cflags) + (["-fopenmp"] if openmp else [])
    result = build(c_source, flags, log=lambda m: click.echo(m, err=True))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(str(result.binary))
    return 0
