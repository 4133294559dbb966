"""The quirk registry explains every difference between spec and c mode: c mode renders bit-identically to
spec mode plus every quirk the attribution finds triggered, on generated command lines combining every
option family of the spec (quirk_configs.py) and on every run of both matrices (tests/parity/matrix.yaml,
tests/conformance/matrix.yaml). A gap means a missing or too narrow trigger, or a spec-mode path that
differs from the c-mode one by more than its quirks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings

from .quirk_configs import NotComparable, command_lines, mode_gap

ROOT = Path(__file__).resolve().parents[2]
# one example renders four tiny images (c and spec+triggered, float64 and float32): ~0.1 s of CPU;
# 250 examples take ~30 s on 2 cores
EXAMPLES = 250


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("quirk_modes")   # inputs are absolute; nothing is written here


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_c_mode_is_spec_plus_triggered_quirks(workdir, argv):
    try:
        gaps = mode_gap(argv, workdir)
    except NotComparable:
        reject()
    assert gaps == [], " ".join(argv)


# gaps found: -misset carries C-CELL-001's last-bit c*_z of an orthogonal cell into the lattice (the
# trigger was sin γ != sin γ*); and the known one (triclinic -cell, -misset, mosaic domains, a thick
# detector with -thicksteps, -twotheta, -polar): in float32 the render's first pixel took float64 offsets in
# c mode only, for a "first run" whose lattice equals every run's (kernel_prepare now drops it)
@pytest.mark.parametrize("args", [
    "-cell 50 60 70 90 90 90 -misset 10 -5 20 -Na 2 -default_F 30 -pixel 0.5 -detpixels 6",
    "-cell 60 60 60 80 80 80 -misset 10 -5 20 -mosaic 1 -mosaic_domains 2 -detector_thick 100 -thicksteps 2 "
    "-twotheta 4 -polar 0.8 -N 4 -default_F 100 -pixel 0.5 -detpixels 8 -distance 100 -oversample 1",
])
def test_found_gaps_stay_closed(workdir, args):
    assert mode_gap(args.split() + ["-nonoise", "-nopgm"], workdir) == []


# ----------------------------------------------------------------------------- both matrices

PARITY = ROOT / "tests" / "parity" / "matrix.yaml"
CONFORMANCE = ROOT / "tests" / "conformance" / "matrix.yaml"
HAVE_SHARED = (ROOT.parent / "shared" / "data" / "conformance").is_dir()   # the matrix names ../shared


def _runs(path):
    from nbparity.matrix import load_matrix

    if path == CONFORMANCE and not HAVE_SHARED:
        return []
    return load_matrix(path).runs


def _c_mode(run) -> str:
    """The C line the run compares with: its own mode, or (a spec-mode run) our C, all quirks on."""
    return "c" if run.quirks.split(",", 1)[0].strip() == "spec" else run.quirks


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The parity matrix's prepare steps (a mask) rendered by the simulator: c mode writes the C's files."""
    from nbparity.matrix import load_matrix
    from simulator.api import run

    out = tmp_path_factory.mktemp("prepared")
    for step in load_matrix(PARITY).prepare:
        run(list(step.argv), quirks="c", cwd=str(out), write_outputs=True)
    return str(out)


def _argv(run, prepared):
    from nbparity.flows.matrix_run import resolve_prepared

    return resolve_prepared(list(run.argv), prepared)


MATRIX_RUNS = [pytest.param(r, id=f"{p.parent.name}-{r.key}") for p in (PARITY, CONFORMANCE) for r in _runs(p)]


@pytest.mark.skipif(not HAVE_SHARED, reason="../shared/data/conformance not present beside the repository")
def test_matrices_are_listed():
    assert len(_runs(CONFORMANCE)) >= 27 and len(_runs(PARITY)) >= 50


@pytest.mark.parametrize("run", MATRIX_RUNS)
def test_matrix_run_c_mode_is_spec_plus_triggered_quirks(run, prepared, tmp_path):
    assert mode_gap(_argv(run, prepared), tmp_path, c_mode=_c_mode(run)) == []


TRACED = [pytest.param(p.values[0], tuple(px), id=f"{p.id}-{px[0]}-{px[1]}")
          for p in MATRIX_RUNS for px in p.values[0].trace_pixels]


@pytest.mark.parametrize("run, pixel", TRACED)
def test_matrix_spec_divergences_are_attributed(run, pixel, prepared, tmp_path):
    """Spec-mode attribution names a registered quirk for every divergence of every traced pixel, with the
    c-mode simulator standing in for the C (the matrices themselves prove the two bit-identical)."""
    from nbparity.attribution import attribute, load_registry
    from nbparity.compare import compare_traces
    from nbparity.traces import parse_trace
    from simulator.api import run as render
    from simulator.argv import parse_argv
    from simulator.quirks import resolve
    from simulator.setup import derive

    argv, c_mode = _argv(run, prepared), _c_mode(run)
    slow, fast = pixel

    def trace(mode, prefix="TRACE_PY"):
        lines = render(argv, quirks=mode, cwd=str(tmp_path), trace_pixel=(slow, fast)).trace_lines
        return parse_trace("\n".join(ln.replace("TRACE_PY", prefix, 1) for ln in lines))

    reference = trace(c_mode, "TRACE_C")
    setup = derive(parse_argv(argv, r1=False), quirks="spec", cwd=str(tmp_path), write_fdump=False)
    line = [q for q in load_registry() if q["id"] in resolve(c_mode)]   # an R2 C has no R1 matching
    att = attribute(compare_traces(reference, trace("spec")), setup, "spec",
                    lambda mode: compare_traces(reference, trace(mode)), registry=line)
    assert att.unexplained == 0, (att.to_dict(), " ".join(argv))
