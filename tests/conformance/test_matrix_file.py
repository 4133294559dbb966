"""tests/conformance/matrix.yaml (the recordings as a matrix for `nbparity cases run … --c-bin`) lists
every recorded configuration with its argv.txt, inputs and traced pixels; the ones whose argv R1 and
R2 parse differently run the torch side on the recordings' R2 line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbparity.matrix import load_matrix

from .recordings import R2_MODE, ROOT, load_cases

MATRIX = Path(__file__).with_name("matrix.yaml")
CASES = load_cases()


# the matrix names its inputs relative to itself: ../shared beside the repository, not NBPARITY_SHARED
BESIDE = (ROOT.parent / "shared" / "data" / "conformance").is_dir()


@pytest.mark.skipif(not CASES or not BESIDE, reason="../shared/data/conformance not present beside the repository")
def test_matrix_lists_the_recordings():
    runs = {r.case_id: r for r in load_matrix(MATRIX).runs}
    listed = {c.name for c in CASES}
    assert set(runs) == listed, (set(runs) ^ listed)
    for case in CASES:
        run = runs[case.name]
        assert len(run.argv) == len(case.argv), case.name
        for mine, theirs in zip(run.argv, case.argv):   # inputs absolute, every other token verbatim
            assert mine == theirs or Path(mine) == case.input_file(theirs).resolve(), (case.name, mine, theirs)
        assert [tuple(p) for p in run.trace_pixels] == list(case.pixels), case.name
        assert run.quirks == (R2_MODE if case.needs_r2_line() else "c"), case.name
