"""OpenMP C builds: how the harness recognises one and how many threads it runs it on.

The original nanoBragg's Makefile adds -fopenmp whenever the compiler supports it, and its row loop then
runs in one block of rows per thread, each thread starting from the pre-loop crystal state: the φ = 0
carry-over (C-PARITY-001) restarts at each block's first pixel, so the image depends on the thread count.
The harness therefore sets OMP_NUM_THREADS for every C run and records it. Default: one thread, where an
OpenMP build computes what the serial program computes; `--c-threads N` runs it as users with N cores do."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

# names libgomp (GCC) and libomp (clang) export, as they appear in an OpenMP binary's dynamic symbols
_MARKERS = (b"GOMP_parallel", b"GOMP_loop_", b"omp_get_num_threads", b"__kmpc_fork_call")


@lru_cache(maxsize=32)
def _scan(path: str, mtime_ns: int) -> bool:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return False
    return data[:4] == b"\x7fELF" and any(m in data for m in _MARKERS)


def is_openmp(binary) -> bool:
    """True when the binary is an ELF that links an OpenMP runtime's parallel-region entry points."""
    try:
        return _scan(str(binary), Path(binary).stat().st_mtime_ns)
    except OSError:
        return False


def block_starts(rows: int, threads: int) -> list:
    """The first row of each thread's block under schedule(static) (libgomp's split): the first
    rows % threads threads get one row more."""
    q, r = divmod(int(rows), int(threads))
    starts, row = [], 0
    for t in range(int(threads)):
        starts.append(row)
        row += q + (1 if t < r else 0)
    return [s for s in starts if s < rows]


def threads_note(binary, threads: int) -> str | None:
    """The line a report prints about the C side's threads, or None for a serial build."""
    if not is_openmp(binary):
        return None
    if threads == 1:
        return ("the C binary is an OpenMP build: run on 1 thread, where it computes what the serial program "
                "computes (--c-threads N runs it as users with N cores do)")
    return (f"the C binary is an OpenMP build run on {threads} threads: the φ=0 carry-over (C-PARITY-001) "
            f"restarts at the first pixel of each thread's block of rows")
