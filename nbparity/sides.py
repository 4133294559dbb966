"""The two sides of a parity run behind one interface: `run(argv, workdir, …)` gives a run whose
`trace_text` the readers parse and whose `pixel_value(slow, fast)` reads the float image.

CSide: a nanoBragg binary (ours, a user's build, any line). SimulatorSide: the in-repo simulator, in this
process or in the forked torch worker. PortSide: a user's external command (--py-cmd). Every flow —
compare, image, probes, the matrix — runs its sides through these, so a port is accepted everywhere."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=32)
def _sha256_of(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path) -> str | None:
    """sha256 of a file (cached by path, mtime and size), None when it cannot be read."""
    try:
        st = Path(path).stat()
        return _sha256_of(str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return None


@dataclass(frozen=True)
class CSide:
    binary: Path
    build: object = None            # nbparity.cbuild.BuildResult when built through the cache
    timeout: float = 600.0
    threads: int = 1                # OMP_NUM_THREADS (nbparity.openmp)

    def run(self, argv, workdir, **_):
        from nbparity.runners import run_c

        return run_c(self.binary, list(argv), workdir, self.timeout, self.threads)

    def identity(self, line: str | None = None) -> dict:
        built = None
        if self.build is not None:   # where the cached build came from, for people reading the report
            built = str(Path(self.build.sources[0]).parent) if self.build.sources else "sources"
        from nbparity.openmp import is_openmp

        return {"binary": str(self.binary), "sha256": file_sha256(self.binary), "line": line,
                "threads": self.threads, "openmp": is_openmp(self.binary), "built_from": built}


@dataclass(frozen=True)
class SimulatorSide:
    device: str = "cpu"
    dtype: str = "float64"
    quirks: str = "c"
    worker: object = None           # nbparity.torchworker.TorchWorker, or None to run in this process
    omp_threads: int = 1            # the OpenMP C's thread count to emulate (C-OMP-001; the session sets it)
    max_memory: int | None = None   # the render's memory budget in bytes (simulator/memory_budget.py)
    external = False

    def start(self, argv, workdir, *, quirks=None, trace_pixel=None, timeout=600, shape=None):
        """Start a run; returns the function that waits for it. The worker starts at once (it computes
        while this process does other work); in this process the run happens when waited for."""
        mode = quirks or self.quirks
        if self.worker is not None:
            key = ("run", mode) if self.omp_threads == 1 else ("run", mode, self.omp_threads)
            self.worker.submit(key, list(argv), workdir, self.device, self.dtype, mode, trace_pixel,
                               omp_threads=self.omp_threads, max_memory=self.max_memory)
            return lambda: self.worker.result(key)
        from nbparity.runners import run_torch

        return lambda: run_torch(list(argv), workdir, self.device, self.dtype, mode, trace_pixel=trace_pixel,
                                 omp_threads=self.omp_threads, max_memory=self.max_memory)

    def run(self, argv, workdir, **kw):
        return self.start(argv, workdir, **kw)()

    def identity(self, mode: str | None = None) -> dict:
        from nbparity.envinfo import git_state

        sha, dirty = git_state()
        return {"kind": "simulator", "command": None, "git_sha": sha, "dirty": dirty, "dtype": self.dtype,
                "device": self.device, "quirk_mode": mode or self.quirks, "omp_threads": self.omp_threads,
                "max_memory": self.max_memory}


@dataclass(frozen=True)
class PortSide:
    spec: object                    # nbparity.port.PortSpec
    dtype: str = "float64"          # only chooses the tolerances: the port's precision is its own
    external = True
    device = "external"
    quirks = "spec"

    def start(self, argv, workdir, *, quirks=None, trace_pixel=None, timeout=600, shape=None):
        from nbparity.port import quirk_ids_of, run_port

        return lambda: run_port(self.spec, list(argv), workdir, timeout=timeout,
                                quirk_ids=quirk_ids_of(quirks or ""), shape=shape)

    def run(self, argv, workdir, **kw):
        return self.start(argv, workdir, **kw)()

    def identity(self, mode: str | None = None) -> dict:
        return {"kind": "port", "command": self.spec.given or " ".join(self.spec.command), "git_sha": None,
                "dirty": None, "dtype": self.dtype, "device": "external", "quirk_mode": None}


def torch_side(spec, worker=None):
    """The side a TorchSpec names: the port when one is given, else the in-repo simulator."""
    if spec.port is not None:
        return PortSide(spec.port, spec.dtype)
    return SimulatorSide(spec.device, spec.dtype, spec.quirks, worker, max_memory=spec.max_memory)
