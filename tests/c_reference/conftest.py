"""Fixtures for the clean-room C reference: build once per session, run cases in tmp dirs,
parse the trace lines of docs/contracts.md §1."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CREF = REPO / "c_reference"


def shared_dir():
    env = os.environ.get("NBPARITY_SHARED")
    p = pathlib.Path(env) if env else REPO.parent / "shared"
    return p if p.is_dir() else None


def _make(target=None):
    cmd = ["make", "-s", "-C", str(CREF)] + ([target] if target else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building c_reference failed:\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="session")
def nb_bin():
    _make()
    return CREF / "nanoBragg"


@pytest.fixture(scope="session")
def nb_asan():
    _make("asan")
    return CREF / "build" / "nanoBragg-asan"


class Run:
    def __init__(self, proc, cwd):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.cwd = pathlib.Path(cwd)
        self.config = {}
        self.pixel = []  # (key, [values]) in emission order
        self.phi = []  # dict per TRACE_C_PHI line
        for line in self.out.splitlines():
            if line.startswith("TRACE_C_CONFIG "):
                for tok in line.split()[1:]:
                    k, v = tok.split("=", 1)
                    self.config[k] = v
            elif line.startswith("TRACE_C: "):
                parts = line.split()
                self.pixel.append((parts[1], parts[2:]))
            elif line.startswith("TRACE_C_PHI "):
                d = {}
                for tok in line.split()[1:]:
                    k, v = tok.split("=", 1)
                    d[k] = v
                self.phi.append(d)

    def cfg(self, key):
        v = self.config[key]
        if "," in v:
            return [float(x) for x in v.split(",")]
        try:
            return int(v)
        except ValueError:
            try:
                return float(v)
            except ValueError:
                return v

    def values(self, key):
        """every occurrence of a per-pixel key, as float lists"""
        return [[float(x) for x in vals] for k, vals in self.pixel if k == key]

    def one(self, key):
        v = self.values(key)
        assert len(v) == 1, (key, len(v))
        return v[0][0] if len(v[0]) == 1 else v[0]

    def blocks(self):
        """split per-pixel lines into occurrences starting at pix0_vector_meters"""
        out = []
        for k, vals in self.pixel:
            if k == "pix0_vector_meters":
                out.append({})
            if k in ("I_before_scaling",):
                break
            out[-1][k] = [float(x) for x in vals]
        return out


@pytest.fixture
def run_nb(nb_bin, tmp_path):
    def _run(args, binary=None, cwd=None, timeout=60):
        cwd = cwd or tmp_path
        proc = subprocess.run([str(binary or nb_bin)] + [str(a) for a in args], cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)
        return Run(proc, cwd)
    return _run
