"""`nbparity rerun BUNDLE/request.json`: run a bundle's request again (what its commands.txt does)."""

from __future__ import annotations

import click


@click.command("rerun")
@click.argument("request_json", type=click.Path(dir_okay=False))
@click.option("--out", default=None, type=click.Path(), help="Where the new bundle goes (default: the request's).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout.")
def command(request_json, out, as_json):
    """Re-run the request a bundle recorded (same case, sides and judging); exits with the verdict's code."""
    from dataclasses import replace

    from nbparity.request import read_request

    request = read_request(request_json)
    changes = {"as_json": as_json}
    if out is not None:
        changes["out"] = out
    request = replace(request, output=replace(request.output, **changes))
    if request.kind == "compare":
        from nbparity.commands.compare import run_and_show

        return run_and_show(request)
    if request.kind == "image":
        from nbparity.commands.image import run_and_show as show_image

        return show_image(request)
    if request.kind == "matrix":   # the JUnit XML stays in the new bundle (junit.xml), not the old path
        from nbparity.commands.cases import run_and_show as run_matrix_and_show

        return run_matrix_and_show(replace(request, junit_xml=None))
    if request.kind == "probe":
        from nbparity.commands.probe import run_and_show as show_probe

        return show_probe(request)
    from nbparity.errors import UsageError

    raise UsageError(f"rerun: unknown request kind {request.kind!r}")
