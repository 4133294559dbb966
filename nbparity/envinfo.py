"""The allow-listed environment record of a bundle (env.json): nothing else from the environment."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    mod = sys.modules.get(module)
    if mod is None:
        try:
            import importlib

            mod = importlib.import_module(module)
        except Exception:
            return None
    return getattr(mod, "__version__", None)


def _cuda() -> dict:
    try:
        import torch

        if not torch.cuda.is_available():
            return {"available": False}
        i = torch.cuda.current_device()
        return {"available": True, "device": torch.cuda.get_device_name(i), "cuda": torch.version.cuda,
                "count": torch.cuda.device_count()}
    except Exception as exc:  # a broken driver must not break the bundle
        return {"available": False, "error": type(exc).__name__}


def _git(root: Path) -> dict:
    def run(*args):
        try:
            p = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return p.stdout.strip() if p.returncode == 0 else None

    sha = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": None if status is None else bool(status)}


def torch_info() -> dict:
    """The torch part of the record (version, CUDA), plain strings: what a process that ran torch hands
    to one that did not import it (nbparity.torchworker)."""
    version = _version("torch")
    return {"version": None if version is None else str(version), "cuda": _cuda()}


def collect(build=None, torch=None) -> dict:
    """OS, CPU, Python/torch/numpy/pandas versions, CUDA device, compiler + flags, git, OMP_NUM_THREADS.
    `torch`: torch_info() from the process that ran torch (else torch is imported here)."""
    from nbparity.cbuild import repo_root

    packages = {m: (torch["version"] if m == "torch" and torch is not None else _version(m))
                for m in ("torch", "numpy", "pandas")}
    env = {
        "os": {"system": platform.system(), "release": platform.release(), "platform": platform.platform(),
               "machine": platform.machine()},
        "cpu": {"model": _cpu_model(), "count": os.cpu_count()},
        "python": platform.python_version(),
        "packages": packages,
        "cuda": torch["cuda"] if torch is not None else _cuda(),
        "git": _git(repo_root()),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }
    if build is not None:
        env["compiler"] = {"name": build.compiler, "version": build.compiler_version,
                           "cflags": list(build.cflags), "key": build.key}
    return env



@functools.lru_cache(maxsize=1)
def git_state() -> tuple:
    """(sha, dirty) of the repository the simulator is imported from: the identity of an in-repo attempt."""
    from nbparity.cbuild import repo_root

    g = _git(repo_root())
    return g["sha"], g["dirty"]
