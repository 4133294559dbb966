"""`nbparity probe sincg|single-phi|rotation --pixel S F`: the probes behind a fix-plan attempt."""

from __future__ import annotations

import click

from nbparity.options import (c_options, c_spec, case_options, case_spec, judge_options, judge_spec,
                              output_options, output_spec, say, torch_options, torch_spec)


@click.group("probe")
def command():
    """Investigation probes around one pixel; each writes a bundle (request.json, metrics.json, summary.md,
    commands.txt, report.html, its tables) under --out. Every probe accepts --py-cmd (a port as the torch
    side) and follows the C binary's line. Exit 0 identical / within tolerance / explained, 1 divergent
    or incomplete (a step one side did not print is not compared), 2 bad input, 3 run failure."""


def probe_options(fn):
    fn = output_options(judge_options(c_options(torch_options(case_options(fn)))))
    return click.option("--pixel", nargs=2, type=int, required=True, metavar="SLOW FAST",
                        help="The pixel, slow index first then fast (as -trace_pixel).")(fn)


def build_request(name: str, pixel, kw, params=()):
    from nbparity.request import ProbeRequest

    return ProbeRequest(probe=name, pixel=tuple(pixel), case=case_spec(kw), c=c_spec(kw), torch=torch_spec(kw),
                        judge=judge_spec(kw, attribute=False), output=output_spec(kw), params=tuple(params))


def run_and_show(request) -> int:
    """Run the probe and print its report (or its JSON); shared with `nbparity rerun`."""
    from nbparity.probes.run import run_probe

    result = run_probe(request, log=say)
    if request.output.as_json:
        from nbparity.codec import dumps

        click.echo(dumps(result.to_metrics()), nl=False)
    else:
        from nbparity.probes.text import render

        render(result)
    return result.exit_code


@command.command("sincg")
@probe_options
@click.option("--window", type=click.FloatRange(0.0, 1000.0, min_open=True), default=0.5, show_default=True,
              help="Half-width of the sweep around h, k, l.")
@click.option("--points", type=click.IntRange(3, 100_001), default=1001, show_default=True,
              help="Samples per axis.")
def sincg(pixel, window, points, **kw):
    """sincg(π·x, N) per axis against the C formula (float64): the simulator's lattice factor swept around
    the pixel's fractional h, k, l (in-repo simulator only), and the torch side's traced F_latt_a/b/c at
    its own traced h, k, l, every φ step (simulator or port). CSV, markdown and PNG."""
    return run_and_show(build_request("sincg", pixel, kw, (("window", window), ("points", points))))


@command.command("single-phi")
@probe_options
def single_phi(pixel, **kw):
    """Run both sides at each of the case's φ angles alone (-phisteps 1 -osc 0 -phi φ_i, placed so the
    rest of the parse is unchanged) and compare each step: which φ diverges first."""
    return run_and_show(build_request("single-phi", pixel, kw))


@command.command("rotation")
@probe_options
def rotation(pixel, **kw):
    """Side by side per φ step (mosaic domain 0): the rotated real basis a, b, c of both sides as traced,
    the reciprocal a*, b*, c* derived from them, their differences and the first diverging step. Steps
    a side prints no vectors for are not compared (verdict incomplete)."""
    return run_and_show(build_request("rotation", pixel, kw))
