"""`python -m simulator <nanoBragg args> [-device cpu|cuda] [-dtype float32|float64] [-quirks MODE] [-omp_threads N]
[-max_memory BYTES]`

Runs like the C program: same output files in the current directory, setup messages, trace lines and
statistics on stdout. Exit 9 where the C exits 9, 2 on a bad -device/-dtype/-quirks/-omp_threads, 3 with one stderr
line when the simulation fails (e.g. CUDA out of memory); 2 with one line when the render cannot fit the
memory budget (refused before it starts)."""

from __future__ import annotations

import sys

TORCH_OPTIONS = {"-device": "cpu", "-dtype": "float64", "-quirks": "spec", "-omp_threads": "1", "-max_memory": None}

HELP = """usage: python -m simulator <nanoBragg arguments> [-device cpu|cuda] [-dtype float32|float64] [-quirks MODE]
       [-omp_threads N] [-max_memory BYTES]

The PyTorch port of nanoBragg. Takes the C program's command line unchanged (see the nanoBragg
specification for every option) plus execution options that are not physics:
  -device cpu|cuda          where to compute (default cpu)
  -dtype float32|float64    working precision (default float64); the image is stored as float32
  -quirks MODE              c | c-r2 | spec, then ,+ID / ,-ID toggles (default spec); ids in traces/quirks.toml;
                            c-r2 = c,-C-ARGV-001 (R2 option matching; a traced run also prints R2's
                            setup echo: TRACE_PY:key=value, TRACE:, DETECTOR_*, TRACE_PY_SOURCE2 lines)
  -omp_threads N            the thread count of the OpenMP C build to reproduce (default 1): with quirk
                            C-OMP-001 on, the φ=0 carry-over restarts at each thread's block of rows
  -max_memory BYTES         memory budget of the render: bytes or 512M, 2G (default: half the memory
                            available; on CUDA the free device memory). A pixel whose iterations exceed
                            it is rendered in slices; a render that cannot fit is refused (exit 2)
  -trace_pixel S F          print TRACE_PY lines for pixel slow S, fast F
Exit status: 0 ok, 9 where nanoBragg exits 9 (usage, unreadable input), 2 bad execution option or a
render the memory budget cannot hold, 3 simulation failure."""


def split_args(argv: list[str]) -> tuple[list[str], dict]:
    """Remove the torch-only options (and their values) from argv."""
    rest, opts = [], dict(TORCH_OPTIONS)
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in TORCH_OPTIONS:
            if i + 1 >= len(argv):
                raise ValueError(f"{tok} needs a value")
            opts[tok] = argv[i + 1]
            i += 2
            continue
        rest.append(tok)
        i += 1
    return rest, opts


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("--help", "-help", "-h") for a in argv):
        print(HELP)
        return 0
    try:
        args, opts = split_args(argv)
        from .process import import_frozen
        import_frozen("simulator.api")   # torch, frozen out of the collector's way (a faster exit)
        from .api import resolve_device, resolve_dtype, resolve_threads
        from .quirks import Quirks
        Quirks.from_mode(opts["-quirks"])   # an unknown or misspelled id: exit 2, one stderr line
        resolve_dtype(opts["-dtype"])
        resolve_device(opts["-device"])
        resolve_threads(opts["-omp_threads"])
        from .memory_budget import parse_size
        max_memory = parse_size(opts["-max_memory"]) if opts["-max_memory"] is not None else None
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    from .api import run
    from .model import SimulatorError
    from .sanity import BadValue
    try:
        result = run(args, device=opts["-device"], dtype=opts["-dtype"], quirks=opts["-quirks"],
                     write_outputs=True, cwd=".", omp_threads=opts["-omp_threads"], max_memory=max_memory)
    except BadValue as exc:   # a meaningless option value: bad input
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    except SimulatorError as exc:
        print(str(exc))
        return int(getattr(exc, "exit_code", 9))
    except KeyboardInterrupt:
        print("simulator: interrupted", file=sys.stderr)
        return 3
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"simulator: simulation failed: {type(exc).__name__}: {msg[:300]}", file=sys.stderr)
        return 3
    sys.stdout.writelines(line + "\n" for line in result.stdout_lines)   # not one string of all of them
    return 0


if __name__ == "__main__":
    sys.exit(main())
