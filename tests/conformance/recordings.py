"""The recordings of the instrumented nanoBragg (../shared/data/conformance/, README inside) and one
run of each of our sides per (configuration, traced pixel), the way a user checks conformance:
argv.txt + `-trace_pixel S F` + `-floatfile NAME`, in a directory of its own holding the inputs."""

from __future__ import annotations

import gzip
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "floatimage.bin"

# The recordings are R2 (exact option matching). R1 and R2 parse these options differently (spec §12),
# so a configuration using one needs our sides' R2 line, quirk C-ARGV-001 switched off.
R1_R2_OPTIONS = ("-misset_seed", "-dump_pixel")
R2_MODE = "c,-C-ARGV-001"


def shared_dir() -> Path | None:
    env = os.environ.get("NBPARITY_SHARED")
    p = Path(env) if env else ROOT.parent / "shared"
    return p if p.is_dir() else None


def conformance_dir() -> Path | None:
    s = shared_dir()
    d = s / "data" / "conformance" if s else None
    return d if d is not None and d.is_dir() else None


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path
    argv: tuple[str, ...]
    pixels: tuple[tuple[int, int], ...]

    def recorded_trace(self, slow: int, fast: int) -> Path:
        return self.folder / f"trace_{slow}_{fast}.log"

    def recorded_image(self) -> np.ndarray:
        with gzip.open(self.folder / "floatimage.bin.gz", "rb") as fh:
            return np.frombuffer(fh.read(), dtype="<f4")

    def input_file(self, name: str) -> Path:
        """An input named in argv.txt: in the folder, or (A.mat, scaled.hkl) in ../supervisor/."""
        here = self.folder / name
        return here if here.exists() else self.folder.parent.parent / "supervisor" / name

    def needs_r2_line(self) -> bool:
        return any(tok in R1_R2_OPTIONS for tok in self.argv)


def load_cases() -> list[Case]:
    d = conformance_dir()
    if d is None:
        return []
    cases = []
    for folder in sorted(p for p in d.iterdir() if p.is_dir()):
        argv = tuple((folder / "argv.txt").read_text().split())
        pixels = tuple(tuple(int(v) for v in ln.split()) for ln in (folder / "pixels.txt").read_text().splitlines()
                       if ln.strip())
        cases.append(Case(folder.name, folder, argv, pixels))
    return cases


def stage_inputs(case: Case, workdir: Path) -> Path:
    """A fresh directory with links to the case's files and ../supervisor/ (A.mat, scaled.hkl)."""
    workdir.mkdir(parents=True, exist_ok=False)
    sources = [case.folder, case.folder.parent.parent / "supervisor"]
    for src in sources:
        for f in src.iterdir():
            if f.is_file() and not (workdir / f.name).exists():
                (workdir / f.name).symlink_to(f)
    return workdir


def with_trace_pixel(argv, slow: int, fast: int) -> list[str]:
    """The one place this suite adds tokens: appended, as the recordings were made. Under the R2 line
    (exact option matching) appending cannot join a user's option, so the parse is the recorded one."""
    from nbparity.runners import with_pixel

    return with_pixel(list(argv), slow, fast) + ["-floatfile", IMAGE]


@dataclass
class SideRun:
    trace_log: Path       # complete stdout, as a user would save it
    image: np.ndarray     # the float image the run wrote, float32 little-endian, slow-major


def run_c(binary: Path, case: Case, slow: int, fast: int, workdir: Path) -> SideRun:
    # -quirks is pre-scanned by c_reference wherever it stands; first, so it cannot join another option
    argv = ["-quirks", R2_MODE] + with_trace_pixel(case.argv, slow, fast)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([str(binary)] + argv, cwd=workdir, capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"c_reference failed on {case.name} ({r.returncode}): {r.stderr[-400:]}")
    log = workdir / f"c_{slow}_{fast}.log"
    log.write_text(r.stdout)
    return SideRun(log, np.fromfile(workdir / IMAGE, dtype="<f4"))


def run_simulator(case: Case, slow: int, fast: int, workdir: Path, quirks: str) -> SideRun:
    from simulator.api import run

    res = run(with_trace_pixel(case.argv, slow, fast), dtype="float64", quirks=quirks,
              write_outputs=True, cwd=str(workdir))
    log = workdir / f"py_{slow}_{fast}.log"
    log.write_text("\n".join(res.stdout_lines) + "\n")
    return SideRun(log, np.fromfile(workdir / IMAGE, dtype="<f4"))


def run_simulator_float32(case: Case, workdir: Path, quirks: str) -> np.ndarray:
    from simulator.api import run

    res = run(list(case.argv), dtype="float32", quirks=quirks, cwd=str(workdir))
    return res.image.numpy().reshape(-1).astype("<f4")


# tests/simulator/test_vs_c.py::test_float32_agreement: float32 renders agree to 1e-5 relative on the
# pixels above 1e-3 of the maximum (the project's float32 image criterion; not loosened here)
FLOAT32_REL = 1e-5
FLOAT32_FLOOR = 1e-3


def float32_worst(ref: np.ndarray, got: np.ndarray) -> float:
    a, b = ref.astype(np.float64), got.astype(np.float64)
    sel = a > FLOAT32_FLOOR * a.max()
    if not sel.any():
        raise AssertionError("empty recorded image: nothing to compare")
    return float((np.abs(b[sel] - a[sel]) / a[sel]).max())
