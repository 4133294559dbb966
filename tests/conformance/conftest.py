"""Session fixtures for the conformance suite: c_reference built once, and each side run once per
(configuration, traced pixel); the trace tests and the image tests share those runs."""

from __future__ import annotations

import pytest

from tests.robustness import c_binary

from .recordings import R2_MODE, r2_line_supported, run_c, run_simulator, stage_inputs


@pytest.fixture(scope="session")
def c_bin():
    return c_binary()   # the project's one build helper (make is incremental)


@pytest.fixture(scope="session")
def r2_line(c_bin):
    """True when both sides can run the recordings' R2 line (quirk C-ARGV-001 known and switched off)."""
    return r2_line_supported()


class Runs:
    """Lazy cache: one run per (case, pixel, side), in its own staged directory."""

    def __init__(self, base, r2: bool):
        self.base, self.r2, self.done = base, r2, {}

    def quirks(self) -> str:
        return R2_MODE if self.r2 else "c"

    def require_line(self, case):
        """Skip (with the reason) a case whose argv R1 and R2 parse differently while C-ARGV-001 is unknown."""
        if case.needs_r2_line() and not self.r2:
            pytest.skip(f"{case.name}: R1 and R2 parse its argv differently (-misset_seed / -dump_pixel, spec §12); "
                        "the recording is R2 and this build's simulator / c_reference do not support quirk "
                        "C-ARGV-001 (R2 option matching) yet")

    def get(self, case, pixel, side):
        self.require_line(case)
        key = (case.name, pixel, side)
        if key not in self.done:
            wd = stage_inputs(case, self.base / f"{case.name}-{pixel[0]}-{pixel[1]}-{side}")
            if side == "c":
                self.done[key] = run_c(case, *pixel, wd, self.r2)
            else:
                self.done[key] = run_simulator(case, *pixel, wd, self.quirks())
        return self.done[key]


@pytest.fixture(scope="session")
def runs(tmp_path_factory, c_bin, r2_line):
    return Runs(tmp_path_factory.mktemp("conformance"), r2_line)
