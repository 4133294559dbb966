"""`run_matrix(request)`: every run of a parity matrix (a pool of `jobs` processes, or an existing
dask.distributed cluster), then the matrix bundle and optional JUnit XML. Bad input (the matrix file,
--only, --jobs) raises UsageError (exit 2) before anything runs."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from nbparity import tempdirs
from nbparity.errors import UsageError
from nbparity.flows.matrix_judge import matrix_judgement
from nbparity.flows.matrix_result import MatrixResult
from nbparity.flows.matrix_run import RunContext, resolve_prepared, run_one, run_prepare


def load_request_matrix(request):
    """The matrix a request names: parsed, its --only selection applied, the --py-cmd port applied."""
    from nbparity.read.matrix_parse import apply_port, load_matrix

    matrix = load_matrix(request.matrix, list(request.only) or None)
    if request.torch.port is not None:
        matrix = apply_port(matrix, request.torch.port)
    if not matrix.runs:
        raise UsageError(f"matrix {matrix.path}: no runs selected")
    return matrix


def run_matrix(request, log=None, sides=None) -> MatrixResult:
    """Run the matrix a MatrixRequest names; one bundle per run plus the matrix bundle. `sides`: a
    (C side, torch side) pair for the trace compares (fake sides in tests; one process only)."""
    say = log or (lambda msg: None)
    t0 = time.perf_counter()
    if request.jobs < 1:
        raise UsageError(f"--jobs {request.jobs}: must be at least 1")
    if sides is not None and (request.jobs > 1 or request.scheduler):
        raise UsageError("fake sides run in this process only (jobs 1, no scheduler)")
    matrix = load_request_matrix(request)
    out_dir = Path(request.output.out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    tempdirs.sweep(out_dir)   # work folders of matrices killed with SIGKILL
    binary, build = request.c.resolve(say)
    # work directories live under the output directory, so dask workers sharing the path see them
    work_root = tempdirs.make("matrix", dir=out_dir)
    done: list = []
    try:
        ctx = RunContext(str(binary), str(out_dir), str(work_root), _prepare(matrix, binary, work_root, say),
                         request.judge.strict, request.judge.allow_empty, sides, int(request.c.threads),
                         request.torch.max_memory)
        _run_all(matrix, ctx, request, say, done)
    except BaseException as exc:   # Ctrl-C, SIGTERM: keep what finished, marked interrupted, then stop
        if not isinstance(exc, Exception):
            _keep_finished(request, matrix, done, say)
        raise
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    order = {spec.key: i for i, spec in enumerate(matrix.runs)}
    done.sort(key=lambda o: order[f"{o['id']}/{o['run']}"])
    result = MatrixResult(request, matrix, tuple(done), matrix_judgement(done, request.judge.strict),
                          _identity(binary, build, matrix), wall_s=time.perf_counter() - t0)
    return _write(result, out_dir, build)


def _prepare(matrix, binary, work_root: Path, say) -> str | None:
    prepared = None
    if matrix.prepare:
        prepared = work_root / "prepared"
        run_prepare(matrix.prepare, binary, prepared, log=say)
        prepared = str(prepared)
    for spec in matrix.runs:  # a {prepared} token without prepare steps is bad input, caught early
        resolve_prepared(spec.argv, prepared)
    return prepared


def _keep_finished(request, matrix, done: list, say) -> None:
    """An interrupted matrix: the JUnit XML of the runs that finished (the suite marked interrupted);
    no matrix bundle, since nothing partial may verify."""
    if not request.junit_xml:
        return
    from nbparity.write.matrix_junit import write_matrix_junit

    order = {spec.key: i for i, spec in enumerate(matrix.runs)}
    done.sort(key=lambda o: order[f"{o['id']}/{o['run']}"])
    partial = MatrixResult(request, matrix, tuple(done), matrix_judgement(done, request.judge.strict), {})
    try:
        write_matrix_junit(partial, request.junit_xml, interrupted=len(matrix.runs) - len(done))
        say(f"interrupted: {len(done)} of {len(matrix.runs)} run(s) finished; JUnit XML: {request.junit_xml}")
    except OSError:
        pass


def _run_all(matrix, ctx: RunContext, request, say, done: list) -> list:
    where = f"dask scheduler {request.scheduler}" if request.scheduler else f"{request.jobs} process(es)"
    say(f"{len(matrix.runs)} run(s) of {matrix.name} on {where}")
    if request.scheduler:
        gen = _execute_dask(matrix.runs, ctx, request.scheduler)
    else:
        gen = _execute_local(matrix.runs, ctx, request.jobs)
    for o in gen:
        done.append(o)
        say(f"[{len(done)}/{len(matrix.runs)}] {o['id']}/{o['run']}: {o['verdict']} "
            f"({o['volatile'].get('time_s', 0):.1f} s) — {o['reason']}")
    return done


def _write(result: MatrixResult, out_dir: Path, build) -> MatrixResult:
    from nbparity.write.matrix_bundle import write_matrix_bundle
    from nbparity.write.matrix_junit import write_matrix_junit

    if result.request.junit_xml:
        result = replace(result, junit=str(write_matrix_junit(result, result.request.junit_xml)))
    return replace(result, bundle=str(write_matrix_bundle(result, out_dir, build)))


def _identity(binary, build, matrix) -> dict:
    """The C binary (sha256) and the torch side: the --py-cmd port, or the in-repo simulator (each run
    names its own quirk mode, dtype and device)."""
    from nbparity.sides import CSide, PortSide, SimulatorSide

    torch = PortSide(matrix.port) if matrix.port is not None else SimulatorSide()
    ident = torch.identity(None)
    if matrix.port is None:
        ident.update(dtype=None, device=None, quirk_mode=None)
    return {"c": CSide(binary, build).identity(None), "torch": ident}


def _term_with_parent(parent: int | None) -> None:
    """SIGTERM this worker when the matrix process dies, even by SIGKILL (Linux; elsewhere a no-op)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:   # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_init(tmp: str | None = None, parent: int | None = None):
    # each pool process renders one run at a time; one torch thread each keeps --jobs N honest on N cores
    import signal

    from nbparity.interrupts import Terminated, raise_when_safe

    def on_term(signum, frame):   # unwind, so the run's C/port process group and work folder go too
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # once: a second signal must not cut the cleanup
        from nbparity.port import kill_running_groups

        kill_running_groups()   # a side waiting in a thread would hold the unwinding until it ends
        # the pool's worker loop reports the exception and waits for the next run, for ever once the
        # matrix process is gone: the worker ends itself once its run has unwound
        import threading

        threading.Timer(1.5, os._exit, (143,)).start()
        raise_when_safe(Terminated, frame)   # not inside torch's C++ init: the worker would abort

    # Ctrl-C reaches every process of the terminal's group: the parent alone decides, and stops the
    # workers with one SIGTERM each (a worker cleaning up after SIGINT could be cut short by it)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, on_term)
    _term_with_parent(parent)
    if tmp is not None:   # the runs' temporary folders inside the matrix's work folder: a worker killed
        import tempfile   # mid-run leaves nothing once the parent removes that folder

        os.makedirs(tmp, exist_ok=True)
        os.environ["TMPDIR"] = tmp
        tempfile.tempdir = None
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _run_in_worker(spec, ctx: RunContext) -> dict:
    """run_one in a pool worker: stopped by SIGTERM, the worker ends as soon as the run has unwound (its
    side groups killed, its work folder removed), not when on_term's fallback timer fires."""
    from nbparity.interrupts import Terminated

    try:
        return run_one(spec, ctx)
    except Terminated:
        os._exit(143)


def _execute_local(specs, ctx: RunContext, jobs: int):
    if jobs <= 1:
        for spec in specs:
            yield run_one(spec, ctx)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker, no inherited torch/OpenMP thread state from the parent
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                               initargs=(str(Path(ctx.work_root) / "tmp"), os.getpid()))
    try:
        futs = [pool.submit(_run_in_worker, spec, ctx) for spec in specs]
        for fut in as_completed(futs):
            yield fut.result()
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _stop_pool(pool) -> None:
    """Cancel what has not started and stop the workers now (shutdown would wait for every running run)."""
    procs = list(getattr(pool, "_processes", {}).values())   # the executor offers no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=1.5)
        if proc.is_alive():
            proc.kill()


def _execute_dask(specs, ctx: RunContext, address: str):
    """The same per-run function, mapped over the runs by an existing dask.distributed cluster."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed (pip install 'nbparity[dask]')") from None
    from nbparity.errors import RunnerError

    try:
        client = Client(address, timeout="20s")
    except Exception as exc:
        raise RunnerError(f"cannot connect to the dask scheduler at {address}: {exc}") from None
    try:
        futs = client.map(run_one, specs, [ctx] * len(specs), pure=False)
        for fut in as_completed(futs):
            yield fut.result()
    finally:
        client.close()
