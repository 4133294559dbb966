"""`nbparity image`: full-frame (or ROI) float-image parity between the C reference and the torch port."""

from __future__ import annotations

from dataclasses import replace

import click

from nbparity.options import (c_options, c_spec, case_options, case_spec, judge_options, judge_spec,
                              output_options, output_spec, say, torch_options, torch_spec)


def threshold_pairs(items) -> tuple:
    """--threshold NAME=VALUE (VALUE a number or 'none') → ((name, value), …); names are checked when
    the request is judged (nbparity.flows.image_judge.gates_of). UsageError (exit 2) on a bad item."""
    from nbparity.errors import UsageError

    out = []
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--threshold {item!r}: expected NAME=VALUE")
        if raw.strip().lower() in ("none", "null", "off"):
            value = None
        else:
            try:
                value = float(raw)
            except ValueError:
                raise UsageError(f"--threshold {item!r}: {raw!r} is not a number") from None
        out.append((name.strip(), value))
    return tuple(out)


@click.command("image")
@case_options
@torch_options
@c_options
@judge_options
@output_options
@click.option("--roi", nargs=4, type=click.IntRange(-2**31, 2**31 - 1), default=None, metavar="XMIN XMAX YMIN YMAX",
              help="Render and compare only this region (fast range first, inclusive).")
@click.option("--log", "log_scale", is_flag=True, help="Log colour scale in the PNGs.")
@click.option("--threshold", "thresholds", multiple=True, metavar="NAME=VALUE",
              help="Override a gate (corr_min, sum_ratio_min, sum_ratio_max, max_abs_max, max_rel_max, "
                   "rmse_max, outside_max, …; 'none' disables) or a metric option (pixel_ulps, pixel_rtol, "
                   "rel_floor_frac, peak_radius_px, …). Repeatable; all recorded in metrics.json. "
                   "--tolerance/--atol set the per-pixel tolerance (pixel_rtol/pixel_atol).")
@click.option("--no-bundle", is_flag=True, help="Do not write an evidence bundle.")
def command(roi, log_scale, thresholds, no_bundle, **kw):
    """Compare the C and torch float images of a case: correlation, sum ratio, max |Δ|, ulp histogram,
    peak matching, PNGs.

    Verdicts: IDENTICAL (bit-equal over the compared region) and WITHIN TOLERANCE (every gate passes) exit
    0; DIVERGENT (a gate fails) or INCOMPLETE (an image missing, or both empty: all zero or not finite,
    unless --allow-empty) exit 1; 2 bad input; 3 build/run failure (an error bundle is written)."""
    from nbparity.request import ImageRequest

    request = ImageRequest(case=case_spec(kw), c=c_spec(kw), torch=torch_spec(kw),
                           judge=judge_spec(kw, attribute=False),
                           output=replace(output_spec(kw), bundle=not no_bundle),
                           roi=tuple(roi) if roi else None, thresholds=threshold_pairs(thresholds),
                           log_scale=log_scale)
    return run_and_show(request)


def run_and_show(request) -> int:
    """Run the comparison and print its report (or its JSON); shared with `nbparity rerun`."""
    from nbparity.flows.image import run_image

    result = run_image(request, log=say)
    if request.output.as_json:
        from nbparity.codec import dumps

        click.echo(dumps(result.to_metrics()), nl=False)
    else:
        from nbparity.write.image_text import render

        render(result)
    return result.exit_code
