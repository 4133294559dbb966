"""Issue 22 item 6: the mutation test over the whole shared legacy sample (tests/nbparity/mutation.py says
how values are chosen). Every file is diffed in-process against a copy with one traced value (a) rewritten
in another notation of the same double -> parity, (b) times 1+1e-15 -> parity, (c) times 1+1e-3 -> a
divergence whose one failing value is the mutated one and whose verdict names its key. Under a minute.
Skips cleanly without ../shared."""

from __future__ import annotations

import pytest

from tests.nbparity import mutation

pytestmark = pytest.mark.skipif(not mutation.LEGACY.is_dir(), reason="../shared/data/legacy-traces absent")


@pytest.fixture(scope="module")
def outcomes():
    return mutation.run_all()


@pytest.mark.parametrize("case", ["a", "b", "c"])
def test_every_file(outcomes, case):
    results = outcomes[0]
    mine = [o for o in results if o.case == case]
    assert len(mine) >= 109   # every file holding a traced float
    bad = [(o.file, o.token, o.new, o.exit_code, o.why) for o in mine if not o.ok]
    assert bad == []


def test_free_text_lines_are_mutated_too(outcomes):
    """The choice covers every line type: some files' (c) value sits in a free-text TRACE: line."""
    results = outcomes[0]
    texts = {o.file: (mutation.LEGACY / o.file).read_text(errors="replace") for o in results if o.case == "c"}
    in_setup = [o for o in results if o.case == "c" and
                any(line.startswith("TRACE:") and o.token in line for line in texts[o.file].split("\n"))]
    assert len(in_setup) >= 5


def test_under_a_minute(outcomes):
    """Its own cost (CPU time of the process: a loaded machine stretches the wall time, not the work)."""
    assert outcomes[1] < 60, f"{outcomes[1]:.1f} s CPU ({outcomes[2]:.1f} s wall)"
