"""Compile the C reference (or a user's own nanoBragg.c) into a content-addressed cache.

The cache key is the sha256 of every source byte, the exact compiler flags and the compiler's version
line, so a changed source, flag or compiler can never reuse a stale binary. Builds are atomic: the
compiler writes a temporary file that is renamed into place, so concurrent builds of the same key are
harmless (the last rename wins with identical content).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from nbparity import tempdirs
from nbparity.errors import RunnerError, UsageError

# Strict IEEE double semantics: no fast-math, no fused multiply-add contraction (FMA changes roundings).
BASE_CFLAGS = ("-std=c99", "-O2", "-fno-fast-math", "-ffp-contract=off", "-Wall", "-Wextra")
LIBS = ("-lm",)
COMPILE_TIMEOUT_S = 300


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_sources() -> list[Path]:
    """Every *.c file of c_reference/ (sorted, so the cache key is stable)."""
    return sorted((repo_root() / "c_reference").glob("*.c"))


def cache_root() -> Path:
    env = os.environ.get("NBPARITY_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "nbparity"
    return base


@dataclass
class BuildResult:
    binary: Path
    key: str
    cached: bool
    compiler: str
    compiler_version: str
    cflags: list[str]
    sources: list[str]
    argv: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "binary": str(self.binary),
            "key": self.key,
            "cached": self.cached,
            "compiler": self.compiler,
            "compiler_version": self.compiler_version,
            "cflags": list(self.cflags),
            "sources": list(self.sources),
            "argv": list(self.argv),
        }


def compiler_version(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunnerError(f"C compiler {cc!r} is not usable: {exc}") from None
    if out.returncode != 0:
        raise RunnerError(f"C compiler {cc!r} --version failed (exit {out.returncode})")
    return (out.stdout.splitlines() or [""])[0].strip()


def _cache_key(sources: list[Path], flags: list[str], version: str) -> str:
    h = hashlib.sha256()
    for src in sources:
        h.update(src.name.encode() + b"\0")
        h.update(hashlib.sha256(src.read_bytes()).digest())
    for part in [*flags, "|", version]:
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def _include_dirs(sources: list[Path]) -> list[str]:
    # headers next to the sources (c_reference/*.h) must be found whatever the cwd is
    dirs = []
    for src in sources:
        d = f"-I{src.parent}"
        if d not in dirs:
            dirs.append(d)
    return dirs


def _first_error_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        if " error:" in ln or " fatal error:" in ln or ln.startswith("error:"):
            return ln
    for ln in lines:  # linker errors ("undefined reference …")
        if "error" in ln.lower():
            return ln
    return lines[0] if lines else "(no compiler output)"


def build(c_source: str | os.PathLike | None = None, extra_cflags: list[str] | tuple = (),
          cc: str | None = None, cache: str | os.PathLike | None = None, log=None) -> BuildResult:
    """Compile (or reuse) the binary. `c_source`: one user .c file, or a directory of *.c files;
    default c_reference/*.c. Raises UsageError for missing sources, RunnerError for compile failures."""
    cc = cc or os.environ.get("CC", "gcc")
    if c_source is None:
        sources = default_sources()
        if not sources:
            raise RunnerError(f"no C sources found in {repo_root() / 'c_reference'}")
    else:
        p = Path(c_source).expanduser().resolve()
        if p.is_dir():
            sources = sorted(p.glob("*.c"))
            if not sources:
                raise UsageError(f"--c-source {p}: no *.c files in that directory")
        elif p.is_file():
            sources = [p]
        else:
            raise UsageError(f"--c-source {p}: no such file or directory")
    flags = [*BASE_CFLAGS, *[str(f) for f in extra_cflags]]
    version = compiler_version(cc)
    key = _cache_key(sources, flags, version)
    out_dir = (Path(cache).expanduser() if cache else cache_root()) / "cbuild" / key
    binary = out_dir / "nanoBragg"
    argv = [cc, *flags, *_include_dirs(sources), *[str(s) for s in sources], "-o", str(binary), *LIBS]
    result = BuildResult(binary=binary, key=key, cached=True, compiler=cc, compiler_version=version,
                         cflags=flags, sources=[str(s) for s in sources], argv=argv)
    if binary.is_file() and os.access(binary, os.X_OK):
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = tempdirs.temp_file(binary)
    argv_tmp = argv[:]
    argv_tmp[argv_tmp.index("-o") + 1] = str(tmp)
    if log:
        log(f"building C ({len(sources)} source file(s))…")
    try:
        proc = subprocess.run(argv_tmp, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        tmp.unlink(missing_ok=True)
        raise RunnerError(f"C build timed out after {COMPILE_TIMEOUT_S} s") from None
    except OSError as exc:
        raise RunnerError(f"C build could not start {cc!r}: {exc}") from None
    if proc.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise RunnerError(f"C build failed: {_first_error_line(proc.stderr)}")
    os.replace(tmp, binary)  # atomic: readers see no binary or the complete one
    result.cached = False
    return result


def check_c_options(c_bin, c_source) -> None:
    """--c-bin and --c-source exclude each other; commands call this before any work."""
    if c_bin and c_source:
        raise UsageError("give either --c-bin or --c-source, not both")


def resolve_binary(c_bin=None, c_source=None, extra_cflags=(), log=None) -> tuple[Path, BuildResult | None]:
    """The C binary a run uses: `--c-bin` as given (it must exist; nothing is built), else the cached
    build of `--c-source` (default c_reference/). Returns (binary, build or None)."""
    check_c_options(c_bin, c_source)
    if c_bin:
        binary = Path(c_bin).expanduser()
        if not binary.is_file():
            raise UsageError(f"--c-bin {binary}: no such file")
        return binary.resolve(), None
    result = build(c_source, list(extra_cflags), log=log)
    if not result.cached and log is not None:
        log(f"built {result.binary}")
    return result.binary, result
