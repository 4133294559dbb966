"""Session fixtures for the conformance suite: c_reference built once, and each side run once per
(configuration, traced pixel); the trace tests and the image tests share those runs."""

from __future__ import annotations

import pytest

from tests.robustness import c_binary

from .recordings import R2_MODE, run_c, run_simulator, stage_inputs


@pytest.fixture(scope="session")
def c_bin():
    return c_binary()   # the project's one build helper (make is incremental)


class Runs:
    """Lazy cache: one run per (case, pixel, side), in its own staged directory."""

    def __init__(self, base, c_bin):
        self.base, self.c_bin, self.done = base, c_bin, {}

    def get(self, case, pixel, side):
        key = (case.name, pixel, side)
        if key not in self.done:
            wd = stage_inputs(case, self.base / f"{case.name}-{pixel[0]}-{pixel[1]}-{side}")
            if side == "c":
                self.done[key] = run_c(self.c_bin, case, *pixel, wd)
            else:
                self.done[key] = run_simulator(case, *pixel, wd, R2_MODE)
        return self.done[key]


@pytest.fixture(scope="session")
def runs(tmp_path_factory, c_bin):
    return Runs(tmp_path_factory.mktemp("conformance"), c_bin)
