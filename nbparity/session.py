"""One place that runs a pair: the session owns the case, the work folders, the C binary and the torch
side, the placement of the harness's tokens and the C line (R1/R2 option matching, C-ARGV-001), so that
compare, image, probes and the matrix all run their sides the same way.

    with Session(request, log=log) as s:
        plan = s.plan_pixel(slow, fast)            # narrowed region, placed argv, torch quirk mode
        pair = s.run_pair(plan.argv, plan.mode, trace_pixel=(slow, fast), shape=plan.shape)
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from nbparity import cline, placement, tempdirs
from nbparity.errors import NbparityError, PixelNotRendered, UsageError
from nbparity.sides import CSide, SimulatorSide, torch_side


def derive(argv, quirks_mode, cwd):
    """(setup, enabled quirk ids) of an argv without writing files; bad input is a UsageError (exit 2)."""
    from simulator.argv import parse_argv
    from simulator.quirks import resolve
    from simulator.setup import derive as sim_derive

    try:
        enabled = resolve(quirks_mode)
    except ValueError as exc:
        raise UsageError(f"--quirks: {exc}") from None
    try:
        opts = parse_argv(list(argv), r1="C-ARGV-001" in enabled)
        return sim_derive(opts, quirks=enabled, cwd=str(cwd), write_fdump=False), enabled
    except NbparityError:
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"the case's nanoBragg arguments are not usable: {msg}") from None


def describe_region(region: dict | None) -> str:
    """'rendered -roi 1038 1039 685 685 (…)' or 'rendered the full frame', for reports."""
    if not region or region.get("full_frame") or not region.get("roi"):
        return "rendered the full frame"
    return ("rendered -roi " + " ".join(str(v) for v in region["roi"])
            + " (the pixel and its predecessor in C loop order, so its φ carry-over history is the full frame's)")


def registry_for(c_line) -> list:
    """The quirks attribution may name: R1 option matching (C-ARGV-001) cannot explain a divergence from
    an R2 C side, which does not match options that way."""
    from nbparity.attribution import load_registry

    reg = load_registry()
    if c_line is not None and c_line.get("line") == "R2":
        reg = [q for q in reg if q["id"] != "C-ARGV-001"]
    return reg


@dataclass
class PixelPlan:
    """How one traced pixel is run: the placed argv, the torch quirk mode (following the C line where it
    changes the parse), the setup derived under that mode, and what the reports must say about it."""

    slow: int
    fast: int
    argv: list
    mode: str
    setup: object
    enabled: frozenset
    c_line: dict | None
    region: dict
    placement: dict
    warnings: list = field(default_factory=list)

    @property
    def shape(self) -> tuple:
        return (int(self.setup.spixels), int(self.setup.fpixels))


@dataclass
class PairRun:
    c_run: object
    t_run: object
    timings: dict


class Session:
    """The resources of one parity run; a context manager that removes its work folders on exit."""

    def __init__(self, request, log=None, worker=None, kind: str = "compare", sides=None):
        """`kind`: the work folder's kind (nbparity/tempdirs.py); `sides`: (C side, torch side) to use
        instead of the request's (tests use fake sides)."""
        from nbparity.port import check_floatfile, ensure_floatfile

        self.request, self.log = request, (log or (lambda msg: None))
        self.case = request.case.resolve()
        argv = list(self.case.argv)
        if request.torch.port is not None:   # the port's image is read from the name the harness gives it
            check_floatfile(argv)
            argv = ensure_floatfile(argv)
        self.case_argv = argv
        self._torch = torch_side(request.torch, worker) if sides is None else sides[1]
        self._omp = None
        self.work = tempdirs.make(kind)
        self.c_dir = self.case.prepare_workdir(self.work / "c")
        self.py_dir = self.case.prepare_workdir(self.work / "py")
        self._c = None if sides is None else sides[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    @property
    def c_resolved(self):
        """The C side if it was resolved (built or given) already, else None."""
        return self._c

    @property
    def torch(self):
        """The torch side; the in-repo simulator emulates the C's OpenMP threads (C-OMP-001)."""
        if self._omp is None:
            self._omp = self.omp_threads()
            if self._omp > 1 and isinstance(self._torch, SimulatorSide):
                self._torch = replace(self._torch, omp_threads=self._omp)
        return self._torch

    def omp_threads(self) -> int:
        """The thread count the C side's row blocks follow: --c-threads for an OpenMP binary, else 1 (a
        serial build ignores OMP_NUM_THREADS). One thread needs no look at the binary (no build)."""
        if int(self.request.c.threads) <= 1:
            return 1
        from nbparity.openmp import is_openmp

        c = self.c_side()
        return int(c.threads) if is_openmp(c.binary) else 1

    @property
    def base_mode(self) -> str:
        """The torch quirk mode asked for; a port starts from its own behaviour (attribution toggles)."""
        return "spec" if self.torch.external else self.request.torch.quirks

    def c_side(self) -> CSide:
        """The C side, built through the cache on first use."""
        if self._c is None:
            binary, build = self.request.c.resolve(self.log)
            self._c = CSide(binary, build, self.request.c.timeout, self.request.c.threads)
        return self._c

    def c_line_before_run(self, argv) -> dict | None:
        """The C line where it decides how argv parses (probed before the run), else None: the line is
        then read from the C run's own output."""
        from simulator.argv import line_sensitive

        if not line_sensitive(list(argv)):
            return None
        return cline.report_line(cline.probe_line(self.c_side().binary), "a probe run of the binary")

    def plan_pixel(self, slow: int, fast: int, full_frame: bool = False, argv=None) -> PixelPlan:
        """Validate the pixel, follow the C line, narrow the region and place -roi/-trace_pixel.
        `argv`: a variant of the case's argv to plan instead (a probe's per-step argv)."""
        case_argv = self.case_argv if argv is None else list(argv)
        mode = self.base_mode
        setup, enabled = derive(case_argv, mode, self.py_dir)
        ok, why = setup.rendered(slow, fast)
        if not ok:
            raise PixelNotRendered(slow, fast, why)
        check_trace_size(setup)
        c_line = self.c_line_before_run(case_argv)
        warnings = _narrowing_warnings(setup, full_frame)
        if c_line is not None:
            if self.torch.external:
                warnings.append(f"this argv parses differently under the two C lines (C-ARGV-001); "
                                f"{c_line['text']}; the port must match options as that line does")
            elif cline.torch_mode(mode, c_line["line"]) != mode:
                mode = cline.torch_mode(mode, c_line["line"])
                setup, enabled = derive(case_argv, mode, self.py_dir)
        roi = None if full_frame else _pixel_roi(setup, slow, fast)
        lines = placement.LINES if c_line is None else tuple(sorted({c_line["line"], cline.line_of_mode(mode)}))
        placed = placement.place(case_argv, roi=roi, trace_pixel=(slow, fast), lines=lines)
        if placed.trace_pixel is None:
            raise UsageError(f"cannot trace pixel ({slow}, {fast}): {placed.reason}")
        if placed.reason:
            warnings.append(f"narrowing dropped: {placed.reason}")
        region = {"roi": list(placed.roi) if placed.roi else None,
                  "full_frame": bool(full_frame) or placed.roi is None}
        return PixelPlan(int(slow), int(fast), placed.argv, mode, setup, enabled, c_line, region,
                         placed.to_dict(), warnings)

    def run_pair(self, argv, mode, *, trace_pixel=None, shape=None, meanwhile=None) -> PairRun:
        """C in a thread while the torch side runs (separate work folders: the sides share nothing).
        A torch failure takes precedence over a C one; the C run is kept on the error for the bundle.
        `meanwhile`: work done while both sides run (imports, parsing the C side once it is done)."""
        timings = {}
        with ThreadPoolExecutor(max_workers=1) as pool:
            c_future = pool.submit(_timed, self.c_side().run, argv, self.c_dir)
            try:
                t0 = time.perf_counter()
                wait = self.torch.start(argv, self.py_dir, quirks=mode, trace_pixel=trace_pixel,
                                        timeout=self.request.c.timeout, shape=shape)
                if meanwhile is not None:
                    meanwhile(c_future)
                t1 = time.perf_counter()
                t_run = wait()
                if getattr(self.torch, "worker", None) is not None:   # the forked worker ran it
                    timings["torch_wait"] = round(time.perf_counter() - t1, 4)
                timings["torch_run"] = round(getattr(t_run, "wall_s", time.perf_counter() - t0), 4)
            except NbparityError as exc:
                _attach_c_run(exc, c_future)
                raise
            c_run, timings["c_run"] = c_future.result()
        return PairRun(c_run, t_run, timings)


# A traced pixel prints a block per (layer, sub-pixel) and a per-φ line per φ step of each: measured on
# c_reference, about 1.1 kB per occurrence plus 0.45 kB per φ step. Each side's trace is read at about 16x
# its size in memory and ~5 MB per CPU second (bench/trace_reading.py), then aligned with the other side's:
# a trace estimated over this is refused before anything runs (64 MiB is already ~1 GiB and ~15 s a side).
MAX_TRACE_BYTES = 64 << 20


def estimated_trace_bytes(setup) -> int:
    occurrences = int(setup.oversample) ** 2 * max(int(getattr(setup, "thicksteps", 1) or 1), 1)
    return occurrences * (1100 + 450 * max(int(setup.phisteps), 1))


def check_trace_size(setup) -> None:
    """UsageError (exit 2) when the traced pixel's trace would be too large to compare in memory."""
    size = estimated_trace_bytes(setup)
    if size > MAX_TRACE_BYTES:
        layers = max(int(getattr(setup, "thicksteps", 1) or 1), 1)
        raise UsageError(
            f"the traced pixel would print about {size / 2**20:.0f} MiB of trace per side (-oversample "
            f"{int(setup.oversample)}: {int(setup.oversample) ** 2} sub-pixels × {layers} layer(s) × "
            f"{int(setup.phisteps)} φ step(s)); the limit is {MAX_TRACE_BYTES >> 20} MiB: lower -oversample, "
            "or compare images with `nbparity image`")


def _attach_c_run(exc, c_future) -> None:
    """The C side's output is evidence even when the torch side failed."""
    try:
        if getattr(exc, "run", None) is None and c_future.exception() is None:
            exc.run = c_future.result()[0]
    except Exception:  # the C side failed too: its error is not the one reported
        pass


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, round(time.perf_counter() - t0, 4)


def _pixel_roi(setup, slow, fast):
    from nbparity.runners import pixel_roi

    return pixel_roi(setup, slow, fast)


def _narrowing_warnings(setup, full_frame: bool) -> list:
    """Where a narrowed region may not give the pixel the full frame's history."""
    if full_frame:
        return []
    out = []
    if int(getattr(setup, "interpolate", 0)):
        out.append("interpolation is on: its global switch (C-INTERP-001) can depend on pixels rendered "
                   "earlier than the narrowed region; rerun with --full-frame to be sure")
    if float(getattr(getattr(setup, "options", None), "dmin", 0.0) or 0.0) > 0:
        out.append("dmin is set: if the preceding pixel is cut entirely, the φ carry-over state can come "
                   "from an earlier pixel; rerun with --full-frame to be sure")
    return out
