"""`nbparity compare --pixel SLOW FAST`: factor-by-factor parity of one pixel, C vs torch."""

from __future__ import annotations

import click

from nbparity.options import (c_options, c_spec, case_options, case_spec, judge_options, judge_spec,
                              keys_option, output_options, output_spec, say, torch_options, torch_spec)


@click.command("compare")
@click.option("--pixel", nargs=2, type=int, required=True, metavar="SLOW FAST",
              help="The pixel, slow index first then fast (as -trace_pixel).")
@case_options
@torch_options
@c_options
@judge_options
@keys_option
@output_options
@click.option("--full-frame", is_flag=True, help="Render the whole frame instead of the narrowed region.")
@click.option("--no-attribution", is_flag=True, help="Skip the quirk attribution re-runs.")
@click.option("--all", "show_all", is_flag=True, help="Print every row, not only the failing ones.")
@click.option("--prove", is_flag=True,
              help="Re-run the torch side with each root cause's C value injected (options, or the injection "
                   "protocol of docs/injection.md) and report which causes that proves, ranked by effect.")
def command(pixel, full_frame, no_attribution, show_all, prove, **kw):
    """Run C and torch on the identical argv for one pixel and judge every traced factor and the pixel's
    value in both images.

    Verdicts: IDENTICAL, WITHIN TOLERANCE, EXPLAINED (by known C quirks; exit 1 with --strict) exit 0;
    DIVERGENT or INCOMPLETE exit 1; 2 bad input or a pixel that is not rendered; 3 build/run failure.
    A bundle (request.json, metrics.json, summary.md, report.html, the traces and tables) is written under
    --out in every case."""
    from nbparity.request import CompareRequest

    request = CompareRequest(pixel=tuple(pixel), case=case_spec(kw), c=c_spec(kw), torch=torch_spec(kw),
                             judge=judge_spec(kw, attribute=not no_attribution),
                             output=output_spec(kw, show_all), full_frame=full_frame, prove=prove)
    return run_and_show(request)


def run_and_show(request) -> int:
    """Run the compare and print its report (or its JSON); shared with `nbparity rerun`."""
    from nbparity.flows.compare import run_compare
    from nbparity.torchworker import TorchWorker

    worker = TorchWorker.start() if request.torch.port is None else None
    try:
        result = run_compare(request, log=say, worker=worker)
    finally:
        if worker is not None:
            worker.close()
    from nbparity.cli import remember_exit

    remember_exit(result.exit_code)
    if request.output.as_json:
        from nbparity.codec import dumps

        click.echo(dumps(result.to_metrics()), nl=False)
    else:
        from nbparity.write.compare_text import render

        render(result, request.output.show_all)
    return result.exit_code
