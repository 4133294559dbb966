"""The matrix's image path (nbparity.matrix `_run_one_inner`), kept until the matrix runs its images
through `nbparity.flows.image.run_image(request)`: `render_pair` runs both sides on one argv and loads both
float images, `judge_images` measures them (nbparity.flows.image_judge.measure) and `write_image_bundle`
writes the matrix run's bundle. `nbparity image` itself is nbparity.flows.image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbparity import tempdirs
from nbparity.errors import RunnerError
from nbparity.flows.image_judge import measure, sha256_array  # noqa: F401  (sha256_array: the matrix's)
from nbparity.flows.image_plan import effective_crop as _effective_crop
from nbparity.images import ImageVerdict, MetricOptions, Thresholds, describe_failures
from nbparity.write.image_bundle import MAX_IMAGE_BYTES_IN_BUNDLE, image_bundle_name


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


def render_pair(argv: list[str], workdir, binary, *, device="cpu", dtype="float64", quirks="c",
                timeout=600, port=None, threads=1, max_memory=None) -> ImagePair:
    """Run C (workdir/c) and torch (workdir/torch) on the identical argv; separate directories so no
    Fdump.bin or output file of one side is seen by the other. RunnerError if either image is missing.
    `port` (nbparity.port.PortSpec): the torch side is that external command (quirks: only its `+ID`
    toggles matter, they append the mapped switches). `threads`: OMP_NUM_THREADS of the C run; the in-repo
    simulator emulates an OpenMP build's row blocks at that count (C-OMP-001), a serial build's at 1."""
    import numpy as np

    from nbparity import cline
    from nbparity.openmp import is_openmp
    from nbparity.runners import run_c, run_torch
    from simulator.argv import line_sensitive

    wd = Path(workdir)
    say = lambda msg: None  # noqa: E731  (the matrix logs per run, not per side)
    c_run = run_c(binary, argv, wd / "c", timeout=timeout, threads=threads)
    # the C runs first, so its own output says which line it is; torch follows it where that matters
    line = cline.detect_line(c_run.stdout)
    if port is not None:
        t_run, p, setup = _port_image(argv, wd, port, quirks, timeout, say)
    else:
        if line_sensitive(list(argv)):
            quirks = cline.torch_mode(quirks, line)
        say(f"C done in {c_run.wall_s:.2f} s; running torch ({device}, {dtype}, quirks={quirks})…")
        omp = int(threads) if int(threads) > 1 and is_openmp(binary) else 1
        t_run = run_torch(argv, wd / "torch", device=device, dtype=dtype, quirks=quirks, omp_threads=omp,
                          max_memory=max_memory)
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
    """Metrics over the rendered region; pixels outside it must be bit-identical on both sides."""
    return measure(pair.c, pair.torch, pair.crop, thresholds, options)


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


def write_image_bundle(r: ImageResult, pair: ImagePair, out_dir, *, request, extra_metrics: dict | None = None
                       ) -> Path:
    """The matrix run's image bundle: request.json (an ImageRequest that `nbparity rerun` runs as
    `nbparity image` would), metrics, env and commands.txt from the shared writers, one combined picture
    (it keeps the gate fast), the float images and both sides' outputs."""
    from nbparity.bundle import write_bundle
    from nbparity.write.imageplots import plot_tag, write_pngs

    files: dict[str, str | bytes] = {}
    y0, y1, x0, x1 = pair.crop
    with tempdirs.folder("png") as tmp:
        pngs = write_pngs(pair.c[y0:y1 + 1, x0:x1 + 1], pair.torch[y0:y1 + 1, x0:x1 + 1], r.image.metrics,
                          tmp, tag=plot_tag(r.case, r.dtype, r.quirks), separate=False)
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
    metrics["png_scale"] = "linear"
    metrics["kind"] = "image"
    if extra_metrics:
        metrics.update(extra_metrics)
    from nbparity.write.common import common_files

    sides = {"C": pair.c_run.argv, "torch": getattr(pair.torch_run, "command", None) or pair.torch_run.argv}
    files.update(common_files(request, metrics, sides))
    files["summary.md"] = _summary_md(r)
    files["c_trace.log"] = pair.c_run.stdout + (("\n--- stderr ---\n" + pair.c_run.stderr) if pair.c_run.stderr else "")
    files["py_trace.log"] = getattr(pair.torch_run, "log_text", pair.torch_run.trace_text)
    from nbparity.write.htmlreport import add_report

    return write_bundle(out_dir, image_bundle_name(r.case), add_report(files))
