"""The plain full-image comparison: run both sides on the identical argv (full frame or a ROI), measure,
judge against explicit gates, and write the evidence bundle `<ts>_<case>_image`.

`render_pair` (run both sides, load both float images) and `judge_images` (metrics + gates) are the
reusable halves; `compare_image` adds the bundle and the result object carrying the exit code.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbparity.errors import EXIT_DIVERGENCE, EXIT_FAILURE, EXIT_OK, NbparityError, RunnerError, UsageError
from nbparity.images import ImageVerdict, MetricOptions, Thresholds, describe_failures, evaluate

MAX_IMAGE_BYTES_IN_BUNDLE = 8 << 20  # larger images are recorded by sha256 only (commands.txt remakes them)


@dataclass
class ImagePair:
    c: object            # numpy float32 (spixels, fpixels)
    torch: object        # numpy float32 (spixels, fpixels)
    crop: tuple          # (ymin, ymax, xmin, xmax) inclusive: the rendered region that is measured
    c_run: object
    torch_run: object
    argv: list
    timings: dict = field(default_factory=dict)
    c_line: dict = field(default_factory=dict)   # nbparity.cline.report_line of the C run
    torch_quirks: str = ""                       # the mode torch ran (the C line emulated)


def place_roi(argv: list[str], roi):
    """A nbparity.placement.Placement of `-roi xmin xmax ymin ymax` that provably leaves the rest of
    argv's parse alone under both C lines (the full frame, with the reason, where none exists)."""
    from nbparity.placement import place

    if roi is None:
        return place(argv)
    xmin, xmax, ymin, ymax = (int(v) for v in roi)
    if xmin > xmax or ymin > ymax or min(roi) < 0:
        raise UsageError(f"--roi {xmin} {xmax} {ymin} {ymax}: need 0 <= xmin <= xmax and 0 <= ymin <= ymax")
    return place(argv, roi=(xmin, xmax, ymin, ymax))


def roi_argv(argv: list[str], roi) -> list[str]:
    """argv with the harness ROI placed (see place_roi)."""
    return place_roi(argv, roi).argv


def _effective_crop(setup, shape) -> tuple:
    s, f = shape
    xmin, xmax, ymin, ymax = (int(v) for v in setup.roi)
    y0, y1 = max(0, ymin), min(s - 1, ymax)
    x0, x1 = max(0, xmin), min(f - 1, xmax)
    if y0 > y1 or x0 > x1:
        raise UsageError(f"the ROI {xmin} {xmax} {ymin} {ymax} lies outside the {f}x{s} detector")
    return (y0, y1, x0, x1)


def _port_image(argv, wd: Path, port, quirks, timeout, say):
    """Run an external port; its float image (from the -floatfile name in argv) and the setup the harness
    derives from the argv (the frame's shape and rendered region)."""
    from nbparity.session import derive as _derive
    from nbparity.port import TorchSide

    setup, _ = _derive(argv, "spec", wd / "torch")
    shape = (int(setup.spixels), int(setup.fpixels))
    say(f"running the port {port.given or ' '.join(port.command)}…")
    t_run = TorchSide(port=port).run(argv, wd / "torch", quirks=quirks, timeout=timeout, shape=shape)
    if t_run.image is None:
        where = t_run.image_path
        size = where.stat().st_size if where and where.is_file() else None
        why = "missing" if size is None else f"{size} bytes, expected {4 * shape[0] * shape[1]} for {shape[1]}x{shape[0]}"
        raise RunnerError(f"the port's float image {where}: {why}")
    return t_run, t_run.image, setup


def _check_values(argv) -> None:
    """A meaningless option value (-lambda 0, …) is bad input before either side runs."""
    from simulator.argv import parse_argv
    from simulator.sanity import BadValue, check

    try:
        check(parse_argv(list(argv)))
    except BadValue as exc:
        raise UsageError(str(exc)) from None


def render_pair(argv: list[str], workdir, binary, *, device="cpu", dtype="float64", quirks="c",
                timeout=600, log=None, port=None) -> ImagePair:
    """Run C (workdir/c) and torch (workdir/torch) on the identical argv; separate directories so no
    Fdump.bin or output file of one side is seen by the other. RunnerError if either image is missing.
    `port` (nbparity.port.PortSpec): the torch side is that external command (quirks: only its `+ID`
    toggles matter, they append the mapped switches)."""
    import numpy as np

    from nbparity import cline
    from nbparity.runners import run_c, run_torch
    from simulator.argv import line_sensitive

    wd = Path(workdir)
    say = log or (lambda msg: None)
    say("running C reference…")
    c_run = run_c(binary, argv, wd / "c", timeout=timeout)
    # the C runs first, so its own output says which line it is; torch follows it where that matters
    line = cline.detect_line(c_run.stdout)
    if port is not None:
        t_run, p, setup = _port_image(argv, wd, port, quirks, timeout, say)
    else:
        if line_sensitive(list(argv)):
            quirks = cline.torch_mode(quirks, line)
        say(f"C done in {c_run.wall_s:.2f} s; running torch ({device}, {dtype}, quirks={quirks})…")
        t_run = run_torch(argv, wd / "torch", device=device, dtype=dtype, quirks=quirks)
        res = t_run.result
        setup = res.setup
        img = getattr(res, "image", None)
        if img is None:
            raise RunnerError("torch run produced no image")
        p = img.detach().to("cpu").numpy().astype(np.float32, copy=False) if hasattr(img, "detach") else np.asarray(img, dtype=np.float32)
    if p.ndim != 2:
        raise RunnerError(f"torch image has shape {tuple(p.shape)}, expected (spixels, fpixels)")
    c = c_run.load_image(p.shape)
    if c is None:
        where = c_run.image_path
        size = where.stat().st_size if where and where.is_file() else None
        why = "missing" if size is None else f"{size} bytes, expected {4 * p.size} for {p.shape[1]}x{p.shape[0]}"
        raise RunnerError(f"C float image {where}: {why}")
    crop = _effective_crop(setup, p.shape)
    say(f"torch done in {t_run.wall_s:.2f} s")
    return ImagePair(c, p, crop, c_run, t_run, list(argv),
                     {"c_s": round(c_run.wall_s, 4), "torch_s": round(t_run.wall_s, 4)},
                     cline.report_line(line, "the C run's output", c_run.stdout), quirks)


def judge_images(pair: ImagePair, thresholds: Thresholds, options: MetricOptions) -> ImageVerdict:
    """Metrics over the rendered region; pixels outside it must be bit-identical on both sides (a side
    that renders outside the ROI is a divergence, not something a crop may hide)."""
    import numpy as np

    y0, y1, x0, x1 = pair.crop
    v = evaluate(pair.c[y0:y1 + 1, x0:x1 + 1], pair.torch[y0:y1 + 1, x0:x1 + 1], thresholds, options,
                 origin=(y0, x0))
    outside = np.ones(pair.c.shape, dtype=bool)
    outside[y0:y1 + 1, x0:x1 + 1] = False
    a, b = pair.c[outside], pair.torch[outside]
    mism = int(np.count_nonzero(~((a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b)))))
    v.metrics["outside_roi_mismatch"] = mism
    v.metrics["frame"] = [int(pair.c.shape[0]), int(pair.c.shape[1])]
    v.metrics["roi_measured"] = {"xmin": x0, "xmax": x1, "ymin": y0, "ymax": y1}
    if mism:
        v.metrics["outside_tolerance"] += mism
        v.gates = thresholds.judge(v.metrics)
    return v


def sha256_array(a) -> str:
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


@dataclass
class ImageResult:
    exit_code: int
    verdict: str                      # PASS | DIVERGENCE
    case: str
    argv: list
    device: str
    dtype: str
    quirks: str
    image: ImageVerdict | None = None
    timings: dict = field(default_factory=dict)
    bundle: str | None = None
    sha256: dict = field(default_factory=dict)
    why: str = ""
    port: dict | None = None          # nbparity.port.PortSpec.to_dict() of an external torch side
    case_argv: list | None = None     # the user's argv (argv is what ran: the ROI placed in it)
    c_line: dict = field(default_factory=dict)
    placement: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"verdict": self.verdict, "exit_code": self.exit_code, "case": self.case, "argv": self.argv,
             "device": self.device, "dtype": self.dtype, "quirks": self.quirks, "timings": self.timings,
             "bundle": self.bundle, "image_sha256": self.sha256, "case_why": self.why,
             "c_line": self.c_line, "placement": self.placement}
        if self.port is not None:
            d["port"] = self.port
        if self.image is not None:
            d.update(self.image.to_dict())
            d["verdict"] = self.verdict
        return d


def _summary_md(r: ImageResult) -> str:
    m, v = r.image.metrics, r.image
    lines = [f"# Image parity: {r.case}", "",
             f"**{r.verdict}** (exit {r.exit_code}) — {describe_failures(v)}", "",
             f"device `{r.device}`, dtype `{r.dtype}`, quirks `{r.quirks}`; measured region "
             f"fast {m['roi_measured']['xmin']}–{m['roi_measured']['xmax']}, "
             f"slow {m['roi_measured']['ymin']}–{m['roi_measured']['ymax']} of a "
             f"{m['frame'][1]}×{m['frame'][0]} frame", ""]
    if r.c_line:
        lines += [r.c_line["text"], ""]
    if r.placement.get("reason"):
        lines += [f"WARNING: --roi not applied: {r.placement['reason']}", ""]
    lines += ["| gate | value | limit | ok |", "|---|---|---|---|"]
    for g in v.gates:
        lines.append(f"| {g['gate']} | {g['value']!r} | {g['op']} {g['limit']!r} | {'yes' if g['ok'] else '**NO**'} |")
    h = m["ulp_histogram"]
    pk = m["peaks"]
    lines += ["", "| metric | value |", "|---|---|",
              f"| Pearson correlation | {m['corr']!r} |", f"| sum ratio torch/C | {m['sum_ratio']!r} |",
              f"| max abs Δ | {m['max_abs_diff']!r} at (slow {m['max_abs_diff_pixel']['slow']}, "
              f"fast {m['max_abs_diff_pixel']['fast']}) |",
              f"| one float32 ulp of max C | {m['one_ulp_of_max']!r} |",
              f"| max rel Δ (C > {m['max_rel_floor']:.3g}) | {m['max_rel_diff']!r} |",
              f"| RMSE | {m['rmse']!r} |", f"| pixels outside tolerance | {m['outside_tolerance']} |",
              f"| pixels outside the ROI that differ | {m['outside_roi_mismatch']} |",
              "| ulp histogram 0 / 1 / 2–4 / 5–16 / >16 | "
              f"{h['0']} / {h['1']} / {h['2-4']} / {h['5-16']} / {h['>16']} |",
              f"| peaks C / torch / matched | {pk['n_c']} / {pk['n_torch']} / {pk['matched']} "
              f"(mean {pk['mean_distance_px']}, max {pk['max_distance_px']} px) |", "",
              "## Worst pixels", "", "| slow | fast | C | torch | abs Δ | ulps |", "|---|---|---|---|---|---|"]
    for w in m["worst_pixels"]:
        lines.append(f"| {w['slow']} | {w['fast']} | {w['c']!r} | {w['torch']!r} | {w['abs_diff']!r} | {w['ulps']} |")
    lines += ["", "![C, torch and torch − C](comparison.png)", "",
              "Reproduce with `bash commands.txt`.", ""]
    return "\n".join(lines)


def _commands(r: ImageResult, binary, c_source, c_bin, roi, thresholds: Thresholds, options: MetricOptions) -> str:
    from nbparity.cbuild import repo_root

    root = repo_root()
    py = shlex.quote(sys.executable)
    argv = shlex.join(r.argv)
    src = repr(str(c_source)) if c_source else ""
    user_argv = r.case_argv if r.case_argv is not None else r.argv
    flags = [f"--args {shlex.quote(shlex.join(user_argv))}"]
    if r.port is not None:
        flags.append(f"--py-cmd {shlex.quote(r.port['command'])}")
        torch_cmd = shlex.join(_port_command(r))
    else:
        flags += [f"--device {r.device}", f"--dtype {r.dtype}", f"--quirks {shlex.quote(r.quirks)}"]
        torch_cmd = (f"{py} -m simulator {argv} -device {r.device} -dtype {r.dtype} "
                     f"-quirks {shlex.quote(r.quirks)}")
    flags.append("--c-bin \"$BIN\"")
    if roi is not None:
        flags.append("--roi " + " ".join(str(int(v)) for v in roi))
    defaults_t, defaults_o = Thresholds().to_dict(), MetricOptions().to_dict()
    for k, v in thresholds.to_dict().items():
        if v != defaults_t[k]:
            flags.append(f"--threshold {k}={v}")
    for k, v in options.to_dict().items():
        if v != defaults_o[k]:
            flags.append(f"--threshold {k}={v}")
    return "\n".join([
        "#!/usr/bin/env bash",
        "# Reproduces this bundle: C build, C run, torch run, image comparison.",
        "set -euo pipefail",
        f"cd {shlex.quote(str(root))}",
        f"# builds (or reuses) the C binary; this bundle used {binary}",
        f"BIN=$({py} -c {shlex.quote(f'from nbparity.cbuild import build; print(build({src}).binary)')})"
        if c_bin is None else f"BIN={shlex.quote(str(binary))}",
        'WORK=$(mktemp -d)',
        'mkdir -p "$WORK/c" "$WORK/torch"',
        f'(cd "$WORK/c" && OMP_NUM_THREADS=1 "$BIN" {argv})',
        f'(cd "$WORK/torch" && {torch_cmd})',
        f"{py} -m nbparity image {' '.join(flags)}",
        "",
    ])


def _port_command(r: ImageResult) -> list:
    """The external port's command line for the run's argv (from the recorded tokens)."""
    from nbparity.port import PortSpec

    return PortSpec(tuple(r.port["tokens"])).command_for(r.argv)


def _env_json(build, port=None) -> str:
    from nbparity.envinfo import collect

    env = collect(build)
    if port is not None:
        from nbparity.port import port_env

        env["port"] = port_env(port)
    return json.dumps(env, indent=2, sort_keys=True, default=str) + "\n"


def write_image_bundle(r: ImageResult, pair: ImagePair, out_dir, *, binary, build, roi, thresholds,
                       options, log_scale: bool, extra_metrics: dict | None = None, c_source=None,
                       c_bin=None, separate_pngs: bool = True, port=None) -> Path:
    from nbparity.bundle import write_bundle
    from nbparity.imageplots import write_pngs

    files: dict[str, str | bytes] = {}
    y0, y1, x0, x1 = pair.crop
    with tempfile.TemporaryDirectory(prefix="nbparity-png-") as tmp:
        pngs = write_pngs(pair.c[y0:y1 + 1, x0:x1 + 1], pair.torch[y0:y1 + 1, x0:x1 + 1], r.image.metrics,
                          tmp, case=r.case, dtype=r.dtype, quirks=r.quirks, log=log_scale,
                          separate=separate_pngs)
        for name, path in pngs.items():
            files[f"{name}.png"] = Path(path).read_bytes()
    included = pair.c.nbytes <= MAX_IMAGE_BYTES_IN_BUNDLE
    if included:
        files["c_float.bin"] = pair.c.astype("<f4").tobytes()
        files["torch_float.bin"] = pair.torch.astype("<f4").tobytes()
    metrics = r.to_dict()
    # what differs between two identical runs lives in one block, as in compare's metrics.json
    metrics["volatile"] = {"timings_s": metrics.pop("timings"), "bundle": metrics.pop("bundle")}
    metrics["images_in_bundle"] = included
    metrics["png_scale"] = "log" if log_scale else "linear"
    metrics["kind"] = "image"
    if extra_metrics:
        metrics.update(extra_metrics)
    files["metrics.json"] = json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n"
    files["summary.md"] = _summary_md(r)
    files["commands.txt"] = _commands(r, binary, c_source, c_bin, roi, thresholds, options)
    files["env.json"] = _env_json(build, port)
    files["c_stdout.log"] = pair.c_run.stdout + (("\n--- stderr ---\n" + pair.c_run.stderr) if pair.c_run.stderr else "")
    files["py_stdout.log"] = getattr(pair.torch_run, "log_text", pair.torch_run.trace_text)
    from nbparity.htmlreport import add_report

    return write_bundle(out_dir, _image_bundle_name(r.case), add_report(files))


def write_error_bundle(case, argv, out_dir, *, build, device, dtype, quirks, message, seconds, port=None,
                       port_run=None) -> Path:
    """A bundle for a run whose C or torch side failed: verdict "error", the message, the argv; it can
    never be mistaken for a pass."""
    from nbparity.bundle import write_bundle

    metrics = {"kind": "image", "verdict": "error", "exit_code": EXIT_FAILURE, "error": message,
               "case": case.name, "case_why": getattr(case, "why", ""), "argv": list(argv), "device": device,
               "dtype": dtype, "quirks": quirks, "volatile": {"timings_s": {"total_s": round(seconds, 4)}}}
    if port is not None:
        metrics["port"] = port.to_dict()
    files = {"metrics.json": json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n",
             "summary.md": f"# nbparity image — ERROR\n\n{message}\n\ncase {case.name}; argv: `{' '.join(argv)}`\n",
             "env.json": _env_json(build, port)}
    if port_run is not None:   # what the failed port printed is the evidence
        files["py_stdout.log"] = port_run.log_text
    from nbparity.htmlreport import add_report

    return write_bundle(out_dir, _image_bundle_name(case.name), add_report(files))


def _image_bundle_name(case: str) -> str:
    from nbparity.cases import safe_name

    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}_{safe_name(case)}_image"


def compare_image(case, *, roi=None, device="cpu", dtype="float64", quirks="c", c_bin=None,
                  c_source=None, out="reports", thresholds: Thresholds = Thresholds(),
                  options: MetricOptions = MetricOptions(), log_scale=False, timeout=600,
                  bundle=True, workdir=None, log=None, build=None, port=None) -> ImageResult:
    """Full-image parity for one case (a nbparity.cases.Case). Exit code 0 when every gate passes,
    1 otherwise; UsageError / RunnerError propagate (exit 2 / 3). `port`: an external torch side
    (nbparity.port.PortSpec); device, dtype and quirks are then not used."""
    from nbparity.cbuild import resolve_binary

    if build is not None and c_bin is None:
        binary = build.binary   # the caller already built it (matrix runs)
    else:
        binary, build = resolve_binary(c_bin, c_source, log=log)
    case_argv = list(case.argv)
    _check_values(case_argv)
    if port is not None:
        from nbparity.port import check_floatfile, ensure_floatfile

        check_floatfile(case_argv)
        case_argv = ensure_floatfile(case_argv)
        device, dtype, quirks = "external", "port", "the port's own"
    placed = place_roi(case_argv, roi)
    argv = placed.argv
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbparity-image-", dir=workdir) as wd:
        if hasattr(case, "prepare_workdir"):
            case.prepare_workdir(Path(wd) / "c")
            case.prepare_workdir(Path(wd) / "torch")
        try:
            pair = render_pair(argv, wd, binary, device=device, dtype=dtype, quirks=quirks, timeout=timeout,
                               log=log, port=port)
        except NbparityError as exc:
            if bundle and exc.exit_code == EXIT_FAILURE:   # a side failed: leave evidence marked as an error
                write_error_bundle(case, argv, out, build=build, device=device, dtype=dtype, quirks=quirks,
                                   message=str(exc), seconds=time.perf_counter() - t0, port=port,
                                   port_run=getattr(exc, "port_run", None))
            raise
        if log:
            log("measuring…")
        verdict = judge_images(pair, thresholds, options)
        r = ImageResult(EXIT_OK if verdict.ok else EXIT_DIVERGENCE, "PASS" if verdict.ok else "DIVERGENCE",
                        case.name, argv, device, dtype, pair.torch_quirks or quirks, verdict, dict(pair.timings),
                        sha256={"c": sha256_array(pair.c), "torch": sha256_array(pair.torch)},
                        why=getattr(case, "why", ""), case_argv=list(case.argv), c_line=pair.c_line,
                        placement=placed.to_dict() if roi is not None else {},
                        port=port.to_dict() if port is not None else None)
        r.timings["total_s"] = round(time.perf_counter() - t0, 4)
        if bundle:
            path = write_image_bundle(r, pair, out, binary=binary, build=build, roi=roi,
                                      thresholds=thresholds, options=options, log_scale=log_scale,
                                      c_source=c_source, c_bin=c_bin, port=port)
            r.bundle = str(path)
    return r
