"""The torch side of `nbparity compare` in a forked child process, so that its dominant fixed cost (importing
torch, ~0.9 s) overlaps with everything the harness does meanwhile on the other core: validating the case,
the C run, importing pandas, parsing the C trace.

The child is forked before anything else, imports torch, then runs `runners.run_torch` jobs in the order
they are submitted and sends each TorchRun back (without its tensors: the pixel value the report needs is
taken in the child). Jobs may be submitted before they are known to be needed (the quirk-attribution
re-runs): a result nobody asks for is dropped when the worker is closed, which kills the child.

Only used where forking is safe and worth it (`TorchWorker.start` returns None otherwise): a POSIX
process that has not imported torch yet and runs a single thread. Everything else runs torch in-process,
as before; both paths give the same TorchRun fields, errors and exit codes.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import threading

from nbparity.errors import NbparityError, RunnerError

_HEADER = struct.Struct("<Q")


def _write_msg(fd: int, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            return None
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def _read_msg(fd: int):
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        raise EOFError
    data = _read_exact(fd, _HEADER.unpack(head)[0])
    if data is None:
        raise EOFError
    return pickle.loads(data)


def fork_allowed() -> bool:
    """Forking is safe (no threads, no torch runtime state to inherit) and wanted (NBPARITY_NO_FORK unset)."""
    return (hasattr(os, "fork") and "torch" not in sys.modules and threading.active_count() == 1
            and not os.environ.get("NBPARITY_NO_FORK"))


_prestarted: "TorchWorker | None" = None


def prestart() -> None:
    """Fork the worker now (the CLI does, before parsing a `compare` command line), for the next
    TorchWorker.start() to adopt: torch's import starts a few tens of milliseconds earlier."""
    global _prestarted
    if _prestarted is None:
        _prestarted = TorchWorker._fork()


def discard_prestarted() -> None:
    """Stop a prestarted worker nobody adopted (the command failed before it needed torch)."""
    global _prestarted
    w, _prestarted = _prestarted, None
    if w is not None:
        w.close()


class TorchWorker:
    """Parent-side handle of the forked torch process."""

    def __init__(self, pid: int, job_fd: int, res_fd: int):
        self.pid, self._job_fd, self._res_fd = pid, job_fd, res_fd
        self._next = 0
        self._keys: dict = {}        # job key -> job id
        self._done: dict = {}        # job id -> ("ok", TorchRun) | ("err", exception)
        self.ready: dict | None = None   # {"import_s": …} or {"error": exception} once the import is over
        self.env: dict | None = None     # torch version and CUDA description for env.json
        self._env_requested = False
        self._stopped = False

    # ----------------------------------------------------------------------------- start / stop

    @classmethod
    def start(cls) -> "TorchWorker | None":
        """A worker (the prestarted one if any), or None where forking is not allowed."""
        global _prestarted
        if _prestarted is not None:
            w, _prestarted = _prestarted, None
            return w
        return cls._fork()

    @classmethod
    def _fork(cls) -> "TorchWorker | None":
        if not fork_allowed():
            return None
        for stream in (sys.stdout, sys.stderr):   # nothing buffered may be written twice
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (job_r, job_w, res_r, res_w):
                os.close(fd)
            return None
        if pid == 0:  # child: never returns
            os.close(job_w)
            os.close(res_r)
            _child_main(job_r, res_w)
        os.close(job_r)
        os.close(res_w)
        return cls(pid, job_w, res_r)

    def stop(self) -> None:
        """Kill the child (pending speculative jobs are not needed) and close the pipes. Reaping is left
        to close(): the kernel tears the child's memory down meanwhile."""
        if self._stopped:
            return
        self._stopped = True
        for fd in (self._job_fd, self._res_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """stop(), then reap the child."""
        self.stop()
        if self.pid is None:
            return
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.pid = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------------------- jobs

    def submit(self, key, argv, workdir, device, dtype, quirks, trace_pixel, omp_threads=1, max_memory=None) -> None:
        """Queue run_torch(argv, workdir, device, dtype, quirks, trace_pixel=…, omp_threads=…, max_memory=…)
        under `key` (once)."""
        if key in self._keys:
            return
        jid = self._next
        self._next += 1
        self._keys[key] = jid
        self._send(("run", jid, list(argv), str(workdir), device, dtype, quirks,
                    tuple(trace_pixel) if trace_pixel is not None else None, int(omp_threads), max_memory))

    def prime(self, path) -> None:
        """Let the child adopt this process's parsed HKL files, pickled at `path` (simulator.readers)."""
        self._send(("prime", str(path)))

    def _send(self, msg) -> None:
        """Queue a message for the child; a child that is gone is reported by the next read."""
        if self._stopped:   # its pipe's descriptor number may belong to another file by now
            return
        try:
            _write_msg(self._job_fd, msg)
        except OSError:
            pass

    def _pump(self) -> None:
        """Read one message from the child."""
        if self._stopped:
            raise RunnerError("torch run failed: the torch worker process was stopped")
        try:
            msg = _read_msg(self._res_fd)
        except (EOFError, OSError):
            raise RunnerError(f"torch run failed: the torch worker process ended unexpectedly "
                              f"({self._exit_status()})") from None
        kind = msg[0]
        if kind == "ready":
            self.ready = msg[1]
        elif kind == "env":
            self.env = msg[1]
        else:  # ("ok" | "err", job id, payload)
            self._done[msg[1]] = (kind, msg[2])

    def _exit_status(self) -> str:
        if self.pid is None:
            return "no exit status"
        try:
            pid, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return "no exit status"
        self.pid = None
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                return f"signal {signal.Signals(sig).name}"
            except ValueError:
                return f"signal {sig}"
        return f"exit {os.WEXITSTATUS(status)}"

    def wait_ready(self) -> dict:
        """Block until torch is imported in the child; re-raise its import error here."""
        while self.ready is None:
            self._pump()
        if "error" in self.ready:
            raise self.ready["error"]
        return self.ready

    def result(self, key):
        """The TorchRun of job `key` (blocking); the child's RunnerError is raised here."""
        self.wait_ready()
        jid = self._keys[key]
        while jid not in self._done:
            self._pump()
        kind, payload = self._done[jid]
        if kind == "err":
            raise payload
        return payload

    def request_env(self) -> None:
        """Queue the question for env_info() (answered after the jobs submitted so far)."""
        if not self._env_requested:
            self._env_requested = True
            self._send(("env",))

    def env_info(self) -> dict:
        """torch's version and the CUDA description (envinfo.torch_info) as the child sees them."""
        self.request_env()
        self.wait_ready()
        while self.env is None:
            self._pump()
        return self.env


# --------------------------------------------------------------------------------- child


def _child_main(job_fd: int, res_fd: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)   # Ctrl-C ends the child quietly with the parent
        try:
            # torch: the cost this process exists to overlap (frozen out of the collector's way)
            from simulator.process import import_frozen
            took = import_frozen("torch", "simulator.api")
        except BaseException as exc:  # reported where the in-process path would raise it
            _write_msg(res_fd, ("ready", {"error": _portable(exc)}))
            raise SystemExit(1) from None
        _write_msg(res_fd, ("ready", {"import_s": round(took["torch"], 4), "simulator_s": round(took["simulator.api"], 4)}))
        while True:
            try:
                job = _read_msg(job_fd)
            except EOFError:
                break
            if job[0] == "prime":
                _prime(job[1])
                continue
            if job[0] == "env":
                from nbparity import envinfo

                _write_msg(res_fd, ("env", envinfo.torch_info()))
                continue
            _, jid, argv, workdir, device, dtype, quirks, trace_pixel, threads, max_memory = job
            _write_msg(res_fd, _run_job(jid, argv, workdir, device, dtype, quirks, trace_pixel, threads, max_memory))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _prime(path: str) -> None:
    try:
        from simulator import readers

        with open(path, "rb") as fh:
            readers.load_hkl_cache(pickle.load(fh))
    except Exception:  # only a cache: the run parses the file itself
        pass


def _run_job(jid, argv, workdir, device, dtype, quirks, trace_pixel, omp_threads=1, max_memory=None):
    from nbparity.runners import run_torch

    try:
        tr = run_torch(argv, workdir, device, dtype, quirks, trace_pixel=trace_pixel, omp_threads=omp_threads,
                       max_memory=max_memory)
    except NbparityError as exc:   # RunnerError (exit 3) or UsageError (bad input, a refused budget: exit 2)
        return ("err", jid, _portable(exc))
    except Exception as exc:  # run_torch turns everything into RunnerError; this is a safety net
        return ("err", jid, RunnerError(f"torch run failed: {type(exc).__name__}: {exc}"))
    tr.detach(trace_pixel)
    return ("ok", jid, tr)


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when its class is a builtin or nbparity one and it survives pickling (the
    parent must load it without importing torch), else a RunnerError with its message and exit code."""
    module = type(exc).__module__
    if module == "builtins" or module.startswith("nbparity."):
        try:
            back = pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
            if type(back) is type(exc) and str(back) == str(exc):
                return back
        except Exception:
            pass
    return RunnerError(str(exc), exit_code=getattr(exc, "exit_code", None))
