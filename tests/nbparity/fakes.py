"""Hostile sides for flow tests: real runs of our C and simulator, then changed the way a broken build or
port would change them (a zeroed or missing image, a trace cut short, NaN everywhere). The flows take
them through `sides=(c_side, torch_side)`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from nbparity.sides import CSide, SimulatorSide


def cut_after(text: str, key: str) -> str:
    """The trace up to and including the first line that prints `key` (a trace that stops half way)."""
    out = []
    for line in text.splitlines():
        out.append(line)
        if re.match(rf"TRACE_\w+:?\s+{re.escape(key)}\b", line):
            break
    return "\n".join(out) + "\n"


def nan_values(text: str, keys) -> str:
    """The trace with every value of `keys` printed as nan."""
    out = []
    for line in text.splitlines():
        m = re.match(r"(TRACE_\w+:?\s+)(\S+)(\s+.*)$", line)
        if m and m.group(2) in keys:
            n = len(m.group(3).split())
            line = f"{m.group(1)}{m.group(2)} " + " ".join(["nan"] * n)
        out.append(line)
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class HostileTorch:
    """The in-repo simulator, then: `trace` maps its trace text, `pixel` its pixel value (a function of
    the real value; return None for 'no image')."""

    base: SimulatorSide
    trace: object = None
    pixel: object = None
    external = False

    def start(self, argv, workdir, **kw):
        wait = self.base.start(argv, workdir, **kw)

        def done():
            run = wait()
            if self.trace is not None:
                run.trace_text = self.trace(run.trace_text)
            if self.pixel is not None:
                real = run.pixel_value
                run.pixel_value = lambda s, f: self.pixel(real(s, f))
            return run
        return done

    def run(self, argv, workdir, **kw):
        return self.start(argv, workdir, **kw)()

    def identity(self, mode=None):
        return {**self.base.identity(mode), "kind": "hostile stand-in"}

    @property
    def quirks(self):
        return self.base.quirks


@dataclass(frozen=True)
class HostileC:
    """Our C, then: `trace` maps its stdout, `pixel` its pixel value."""

    base: CSide
    trace: object = None
    pixel: object = None

    @property
    def binary(self):
        return self.base.binary

    @property
    def build(self):
        return self.base.build

    @property
    def threads(self):
        return self.base.threads

    def run(self, argv, workdir, **kw):
        run = self.base.run(argv, workdir)
        if self.trace is not None:
            run = replace(run, stdout=self.trace(run.stdout))
        if self.pixel is not None:
            real = run.pixel_value
            object.__setattr__(run, "pixel_value", lambda shape, s, f: self.pixel(real(shape, s, f)))
        return run

    def identity(self, line=None):
        return self.base.identity(line)


NAN = float("nan")
ZERO = 0.0


def always(value):
    return lambda real: value


def finite(x) -> bool:
    return x is not None and math.isfinite(x)


def stand_in_port_env(monkeypatch, tmp_path, *unset) -> None:
    """The environment a stand-in port needs: it imports the in-repo simulator from its work folder, the C
    builds go to a cache of the test's own, and no test hook or injection of the caller leaks in."""
    import os
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("NBPARITY_CACHE", str(tmp_path / "cache"))
    for name in ("NBPARITY_TEST_PERTURB", *unset):
        monkeypatch.delenv(name, raising=False)
