"""What every probe shares: the case options, one traced run of both sides on an argv, and the probe
bundle (metrics.json, summary.md, commands.txt, env.json, the probe's tables/PNGs, report.html).

The harness tokens (-roi, -trace_pixel) are added in ONE place, `traced_argv`, through the shared
placement entry point, so switching that entry point changes every probe.
"""

from __future__ import annotations

import functools
import json
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click

from nbparity.errors import PixelNotRendered, RunnerError


def case_options(fn):
    """--pixel and the case/run options every probe takes (the subset of `nbparity compare`'s)."""
    opts = [
        click.option("--pixel", nargs=2, type=int, required=True, metavar="SLOW FAST",
                     help="The pixel, slow index first then fast (as -trace_pixel)."),
        click.option("--case", "case", default=None, metavar="NAME|FILE",
                     help="supervisor, supervisor-synthetic or a YAML case file (default: supervisor when "
                          "its inputs are found, else supervisor-synthetic)."),
        click.option("--args", "args", default=None, help="nanoBragg arguments instead of a case."),
        click.option("--data-dir", default=None, type=click.Path(), help="Where A.mat and scaled.hkl live."),
        click.option("--device", default="cpu", show_default=True, help="Torch device."),
        click.option("--dtype", default="float64", show_default=True, type=click.Choice(["float64", "float32"])),
        click.option("--quirks", default="c", show_default=True,
                     help="Torch-side quirk mode (c = emulate every C quirk; spec; ,+ID / ,-ID)."),
        click.option("--c-bin", type=click.Path(), default=None, help="Use this nanoBragg binary."),
        click.option("--c-source", type=click.Path(), default=None, help="Build this C file/directory."),
        click.option("--out", default="reports", show_default=True, type=click.Path(), help="Where bundles go."),
        click.option("--timeout", type=float, default=600.0, show_default=True, help="C run timeout (s)."),
        click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


@dataclass
class RunOptions:
    slow: int
    fast: int
    case: object            # nbparity.cases.Case
    device: str
    dtype: str
    quirks: str
    binary: object
    build: object
    timeout: float
    out: str


def resolve(pixel, case, args, data_dir, device, dtype, quirks, c_bin, c_source, out, timeout, log=None) -> RunOptions:
    from nbparity.cases import resolve_case
    from nbparity.cbuild import check_c_options, resolve_binary

    check_c_options(c_bin, c_source)
    the_case = resolve_case(case, args, data_dir)
    binary, build = resolve_binary(c_bin, c_source, [], log)
    return RunOptions(int(pixel[0]), int(pixel[1]), the_case, device, dtype, quirks, binary, build, timeout, out)


def traced_argv(argv, slow, fast, roi):
    """The ONE call site of the shared placement of -roi / -trace_pixel."""
    from nbparity.runners import with_pixel

    return with_pixel(argv, slow, fast, roi)


@dataclass
class TracedRun:
    argv: list              # what both sides ran (harness tokens included)
    setup: object
    c_run: object
    torch_run: object
    c_frames: object
    py_frames: object


def run_traced(ro: RunOptions, argv: list) -> TracedRun:
    """Both sides on `argv` for the pixel (narrowed region, as `nbparity compare`), parsed."""
    from nbparity.session import derive as _derive, _pixel_roi as _region
    from nbparity.runners import run_c, run_torch
    from nbparity.traces import parse_trace

    work = Path(tempfile.mkdtemp(prefix="nbparity-probe-"))
    try:
        c_dir, py_dir = ro.case.prepare_workdir(work / "c"), ro.case.prepare_workdir(work / "py")
        setup, _ = _derive(argv, ro.quirks, py_dir)
        ok, why = setup.rendered(ro.slow, ro.fast)
        if not ok:
            raise PixelNotRendered(ro.slow, ro.fast, why)
        full = traced_argv(argv, ro.slow, ro.fast, _region(setup, ro.slow, ro.fast))
        c_run = run_c(ro.binary, full, c_dir, ro.timeout)
        t_run = run_torch(full, py_dir, ro.device, ro.dtype, ro.quirks, trace_pixel=(ro.slow, ro.fast))
        c_frames = parse_trace(c_run.stdout, source="c")
        vals = c_frames.values
        if len(vals) == 0 or not (vals["section"] == "pixel").any():
            raise RunnerError(f"the C binary printed no TRACE_C lines for pixel ({ro.slow}, {ro.fast}); "
                              "does it support -trace_pixel S F?")
        t_run.result = None   # the tensors are not needed any more
        return TracedRun(full, setup, c_run, t_run, c_frames, parse_trace(t_run.trace_text, source="py"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pixel_values(frames, key: str) -> list[float]:
    """Components of a per-pixel key at occurrence (0,0,0), first printing."""
    v = frames.values
    rows = v[(v["section"] == "pixel") & (v["key"] == key) & (v["layer"] == 0) & (v["subS"] == 0)
             & (v["subF"] == 0) & (v["repeat"] == 0)].sort_values("component")
    return [float(x) for x in rows["value"]]


def phi_frame(frames, occurrence=(0, 0, 0)):
    """The per-φ values of one occurrence as a DataFrame: one row per phi_tic, one column per field."""
    v = frames.values
    rows = v[(v["section"] == "phi") & (v["layer"] == occurrence[0]) & (v["subS"] == occurrence[1])
             & (v["subF"] == occurrence[2]) & (v["repeat"] == 0)]
    if len(rows) == 0:
        import pandas as pd

        return pd.DataFrame()
    return rows.pivot_table(index="phi_tic", columns="key", values="value", aggfunc="first").sort_index()


def commands_txt(kind: str, ro: RunOptions, extra: str = "") -> str:
    """Reruns this probe (the same case argv given with --args, so no case file is needed)."""
    from nbparity.cbuild import repo_root

    py = shlex.quote(sys.executable)
    cbin = f" --c-bin {shlex.quote(str(ro.binary))}"
    return "\n".join([
        "#!/usr/bin/env bash", f"# Reruns this probe ({kind}).", "set -euo pipefail",
        f"cd {shlex.quote(str(repo_root()))}",
        f"{py} -m nbparity probe {kind} --pixel {ro.slow} {ro.fast} --args {shlex.quote(shlex.join(ro.case.argv))}"
        f" --device {ro.device} --dtype {ro.dtype} --quirks {shlex.quote(ro.quirks)}{cbin}{extra}", ""])


def write_probe_bundle(kind: str, ro: RunOptions, metrics: dict, files: dict, summary: str, extra_cmd="") -> Path:
    """metrics.json (kind probe-<kind>), summary.md, commands.txt, env.json, the probe's files and
    report.html, written atomically as `<stamp>_<case>_<S>-<F>_<kind>`."""
    from nbparity import envinfo
    from nbparity.bundle import bundle_name, write_bundle
    from nbparity.htmlreport import add_report
    from nbparity.codec import to_jsonable as _json_safe

    m = {"schema": "nbparity.probe/1", "kind": f"probe-{kind}",
         "case": {"name": ro.case.name, "why": ro.case.why}, "pixel": {"slow": ro.slow, "fast": ro.fast},
         "dtype": ro.dtype, "device": ro.device, "quirk_mode": ro.quirks, **metrics}
    m.setdefault("volatile", {})["timestamp_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    all_files = dict(files)
    all_files["metrics.json"] = json.dumps(_json_safe(m), indent=2, allow_nan=False) + "\n"
    all_files["summary.md"] = summary
    all_files["commands.txt"] = commands_txt(kind, ro, extra_cmd)
    all_files["env.json"] = json.dumps(_json_safe(envinfo.collect(ro.build)), indent=2) + "\n"
    name = f"{bundle_name(ro.case.name, ro.slow, ro.fast)}_{kind}"
    return write_bundle(ro.out, name, add_report(all_files))


def md_table(df, floatfmt="%.17g") -> str:
    """A DataFrame as a markdown table (numbers at full precision)."""
    def cell(v):
        if isinstance(v, float):
            return floatfmt % v
        return str(v)

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def echo_json(doc: dict) -> None:
    from nbparity.codec import to_jsonable as _json_safe

    click.echo(json.dumps(_json_safe(doc), indent=2, allow_nan=False))


log_err = functools.partial(click.echo, err=True)
