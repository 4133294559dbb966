"""Run the two sides on the identical argv: the C binary as a subprocess, the torch port in-process.

Also here: the narrowed single-pixel region (`pixel_roi`) and the test-only torch-side perturbation hook.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbparity.cases import float_image_name
from nbparity.errors import RunnerError

# --------------------------------------------------------------------------- narrowed region


def previous_rendered(setup, slow: int, fast: int):
    """The pixel the C loop renders just before (slow, fast) (row-major, ROI + mask), or None."""
    xmin, xmax, ymin, ymax = setup.roi
    lo_f, hi_f = max(0, xmin), min(setup.fpixels - 1, xmax)
    s, f = slow, fast - 1
    while s >= max(0, ymin):
        start = min(f, hi_f)
        if setup.mask is None:
            if start >= lo_f:
                return (s, start)
        else:
            for ff in range(start, lo_f - 1, -1):
                if setup.rendered(s, ff)[0]:
                    return (s, ff)
        s, f = s - 1, hi_f
    return None


def pixel_roi(setup, slow: int, fast: int) -> tuple[int, int, int, int]:
    """-roi xmin xmax ymin ymax rendering the pixel and its predecessor in C loop order, so the φ=0
    carry-over state the pixel sees is the full frame's (spec §8.3). Everything in between is not
    rendered anyway (the predecessor is the immediately preceding rendered pixel)."""
    prev = previous_rendered(setup, slow, fast)
    if prev is None:  # the first rendered pixel of the frame: it has no history
        return (fast, fast, slow, slow)
    ps, pf = prev
    return (min(pf, fast), max(pf, fast), ps, slow)


def with_pixel(argv: list[str], slow: int, fast: int, roi=None) -> list[str]:
    """argv + `-roi …` + `-trace_pixel S F`, placed where they do not change how argv parses under
    either C line (nbparity/placement.py; full frame where no -roi placement can be proven)."""
    from nbparity.placement import with_pixel as placed

    return placed(argv, slow, fast, roi)


# --------------------------------------------------------------------------- test-only perturbation

DEFAULT_FLUENCE = "1.25932015286227086e29"


def _is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def perturb_argv(argv: list[str], spec: str) -> list[str]:
    """TEST ONLY (env NBPARITY_TEST_PERTURB, honoured by run_torch): multiply torch-side argv values so
    tests can prove a one-sided change is found and named. `spec` = "name:factor[,name:factor]"; `fluence`
    scales -flux (which overrides -fluence) or -fluence, any other name scales the numbers after the
    last `-name` (e.g. spindle_axis:-1 flips the spindle)."""
    out = list(argv)
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, factor = item.partition(":")
        try:
            fac = float(factor)
        except ValueError:
            raise RunnerError(f"NBPARITY_TEST_PERTURB: bad factor in {item!r}") from None
        flags = ["-flux", "-fluence"] if name == "fluence" else [f"-{name}"]
        for flag in flags:
            idx = [i for i, t in enumerate(out) if t == flag]
            if idx:
                j = idx[-1] + 1
                while j < len(out) and j <= idx[-1] + 3 and _is_number(out[j]):
                    out[j] = repr(float(out[j]) * fac)
                    j += 1
                break
        else:
            if name == "fluence":
                out += ["-fluence", repr(float(DEFAULT_FLUENCE) * fac)]
            else:
                raise RunnerError(f"NBPARITY_TEST_PERTURB: -{name} is not in the argv")
    return out


# --------------------------------------------------------------------------- C side


@dataclass
class CRun:
    argv: list[str]
    workdir: Path
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    image_path: Path | None

    def load_image(self, shape):
        import numpy as np

        if self.image_path is None or not self.image_path.is_file():
            return None
        data = np.fromfile(self.image_path, dtype="<f4")
        return data.reshape(shape) if data.size == shape[0] * shape[1] else None

    def pixel_value(self, shape, slow: int, fast: int) -> float | None:
        """float(load_image(shape)[slow][fast]) without reading the whole frame: 4 bytes at the pixel's
        offset of a file of exactly the frame's size; None where load_image gives None."""
        if self.image_path is None or not (0 <= slow < shape[0] and 0 <= fast < shape[1]):
            img = self.load_image(shape)
            try:
                return None if img is None else float(img[slow][fast])
            except (IndexError, TypeError):
                return None
        try:
            with open(self.image_path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size != 4 * shape[0] * shape[1]:
                    return None
                fh.seek(4 * (slow * shape[1] + fast))
                return struct.unpack("<f", fh.read(4))[0]
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


def last_line(*texts: str) -> str:
    """The last non-empty line of the first text that has one: the one-line reason of a failed run."""
    for text in texts:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if lines:
            return lines[-1]
    return "(no output)"


_last_line = last_line


def describe_exit(rc: int) -> str:
    """'exit 9' or 'signal SIGSEGV' for a subprocess return code."""
    return f"signal {signal.Signals(-rc).name}" if rc < 0 and -rc in signal.valid_signals() else f"exit {rc}"


def run_c(binary, argv: list[str], workdir, timeout: float = 600, threads: int = 1) -> CRun:
    """Run the C binary with argv in workdir (argv list, never a shell) on `threads` OpenMP threads (the
    harness sets OMP_NUM_THREADS for every C run: an OpenMP build's image depends on it).
    RunnerError on timeout/crash."""
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    full = [str(binary), *argv]
    t0 = time.perf_counter()
    from nbparity.port import OutputTooLarge, run_in_group

    try:   # in a process group of its own: a timeout or Ctrl-C kills a wrapper and everything it started
        rc, out, err = run_in_group(full, wd, timeout, {"OMP_NUM_THREADS": str(int(threads))})
    except subprocess.TimeoutExpired:
        raise RunnerError(f"C run timed out after {timeout:g} s") from None
    except OutputTooLarge as exc:
        raise RunnerError(f"C run {exc}") from None
    except OSError as exc:
        raise RunnerError(f"C run could not start {binary}: {exc}") from None
    wall = time.perf_counter() - t0
    run = CRun(full, wd, rc, out, err, wall, None)
    if rc != 0:
        exc = RunnerError(f"C run failed ({describe_exit(rc)}): {last_line(err, out)}")
        exc.run = run  # the captured output still goes into the bundle
        raise exc
    img = Path(float_image_name(argv))
    run.image_path = img if img.is_absolute() else wd / img
    return run


# --------------------------------------------------------------------------- torch side


@dataclass
class TorchRun:
    argv: list[str]
    workdir: Path
    device: str
    dtype: str
    quirks: str
    wall_s: float
    result: object = None  # simulator RunResult
    trace_text: str = ""
    perturbed: str | None = None
    extra: dict = field(default_factory=dict)

    def pixel_value(self, slow: int, fast: int) -> float | None:
        """float(image[slow][fast]) of the stored float32 image (one element, never the whole frame), or
        None; a detached run (see detach) answers for the pixel it was detached with."""
        if self.result is None:
            return self.extra.get("pixel_value", {}).get((int(slow), int(fast)))
        image = getattr(self.result, "image", None)
        if image is None:
            return None
        try:
            return float(image[slow][fast])
        except (IndexError, TypeError):
            return None

    def detach(self, pixel=None) -> "TorchRun":
        """Drop the simulator result (tensors) so the run can cross a process boundary without torch;
        keeps pixel_value() of `pixel` (slow, fast)."""
        if pixel is not None:
            key = (int(pixel[0]), int(pixel[1]))
            self.extra["pixel_value"] = {key: self.pixel_value(*key)}
        self.result = None
        return self


def run_torch(argv: list[str], workdir, device: str = "cpu", dtype: str = "float64", quirks: str = "spec",
              trace_pixel=None, write_outputs: bool = False, omp_threads: int = 1, max_memory=None) -> TorchRun:
    """Call simulator.run in-process (torch imported once). Any failure → RunnerError with one line.
    omp_threads: the OpenMP C's thread count the simulator emulates (quirk C-OMP-001); max_memory: the
    render's memory budget in bytes (a render it cannot hold is a UsageError, exit 2)."""
    perturb = os.environ.get("NBPARITY_TEST_PERTURB")
    run_argv = perturb_argv(argv, perturb) if perturb else list(argv)
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        import simulator

        res = simulator.run(run_argv, trace_pixel=trace_pixel, device=device, dtype=dtype, quirks=quirks,
                            write_outputs=write_outputs, cwd=str(wd), omp_threads=omp_threads, max_memory=max_memory)
    except RunnerError:
        raise
    except Exception as exc:  # CUDA OOM, simulator errors, bad quirk strings: one line, exit 3
        from simulator.sanity import BadValue

        if isinstance(exc, BadValue):  # a meaningless option value is bad input (exit 2)
            from nbparity.errors import UsageError

            raise UsageError(str(exc)) from None
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "out of memory" in msg.lower():
            msg = f"out of memory on {device}: {msg}"
        raise RunnerError(f"torch run failed: {type(exc).__name__}: {msg}") from exc
    wall = time.perf_counter() - t0
    stdout = list(getattr(res, "stdout_lines", []) or [])
    trace = list(getattr(res, "trace_lines", []) or [])
    # trace lines belong in the log once, whether or not run() also echoes them in stdout_lines
    seen = set(stdout)
    lines = stdout + [ln for ln in trace if ln not in seen]
    return TorchRun(run_argv, wd, device, dtype, quirks, wall, res, "\n".join(lines) + "\n", perturb)
