"""The image bundle `<ts>_<case>_image`: the files every kind writes (request.json, metrics.json,
summary.md, commands.txt, env.json, c_trace.log, py_trace.log, report.html), the PNGs of the compared
region and both float images (up to MAX_IMAGE_BYTES_IN_BUNDLE each; larger ones by sha256 only)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from nbparity import tempdirs
from nbparity.bundle import write_bundle

MAX_IMAGE_BYTES_IN_BUNDLE = 8 << 20


def image_bundle_name(case: str, when: float | None = None) -> str:
    from nbparity.cases import safe_name

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when if when is not None else time.time()))
    return f"{stamp}_{safe_name(case)}_image"


def _c_log(run) -> str:
    return "" if run is None else run.stdout + (("\n# stderr:\n" + run.stderr) if run.stderr else "")


def _torch_log(run) -> str:
    """A port's stdout and stderr; the simulator's output lines."""
    return "" if run is None else (getattr(run, "log_text", None) or getattr(run, "trace_text", "") or "")


def _torch_argv(request, plan, t_run):
    if t_run is None:
        return None
    if getattr(t_run, "command", None):
        return list(t_run.command)
    torch = request.torch
    return ["python", "-m", "simulator", *plan.argv, "-device", torch.device, "-dtype", torch.dtype,
            "-quirks", plan.mode]


def _png_files(result) -> dict:
    """comparison.png and the separate C, torch and difference pictures of the compared region."""
    from nbparity.flows.image_judge import crop_of
    from nbparity.write.imageplots import plot_tag, write_pngs

    c, t = result.images
    if result.image is None or c is None or t is None:
        return {}
    req, crop = result.request, result.plan.crop
    quirks = "the port's own" if req.torch.external else result.plan.mode
    with tempdirs.folder("png") as tmp:
        pngs = write_pngs(crop_of(c, crop), crop_of(t, crop), result.image.metrics, tmp,
                          tag=plot_tag(result.case.name, req.torch.dtype, quirks), log=req.log_scale)
        return {f"{name}.png": Path(path).read_bytes() for name, path in pngs.items()}


def _image_files(result) -> tuple[dict, bool]:
    """The raw float images (little-endian float32) where small enough, and whether both are in."""
    files = {name: img.astype("<f4").tobytes() for name, img in zip(("c_float.bin", "torch_float.bin"), result.images)
             if img is not None and img.nbytes <= MAX_IMAGE_BYTES_IN_BUNDLE}
    return files, len(files) == 2


def write_image_bundle(result, session) -> Path:
    """Write the bundle of an image comparison (also of an incomplete or failed one); returns its path."""
    from nbparity.write.htmlreport import add_report
    from nbparity.write.common import common_files
    from nbparity.write.image_markdown import summary_markdown

    runs = result.runs
    c_run = runs.c_run if runs else None
    t_run = runs.t_run if runs else None
    sides = {"C": getattr(c_run, "argv", None), "torch": _torch_argv(result.request, result.plan, t_run)}
    raw, both_in = _image_files(result)
    metrics = result.to_metrics()
    metrics["images_in_bundle"] = both_in
    metrics["volatile"].update(timestamp_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               host=socket.gethostname(), workdir=str(session.work))
    files = common_files(result.request, metrics, sides, build=getattr(session.c_resolved, "build", None))
    files.update({"c_trace.log": _c_log(c_run), "py_trace.log": _torch_log(t_run),
                  "summary.md": summary_markdown(result)})
    files.update(raw)
    files.update(_png_files(result))
    name = image_bundle_name(result.case.name if result.case else "case")
    return write_bundle(result.request.output.out, name, add_report(files))
