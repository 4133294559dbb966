"""Quirk triggers on real derived setups, and the attribution bookkeeping on real comparisons."""

import shlex

import pytest

from nbparity import cases
from nbparity.attribution import describe, failing_ids, load_registry, triggered_quirks

import simulator.setup as simulator_setup


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("NBPARITY_CACHE", str(tmp_path / "cache"))


def _setup(argv, cwd):
    from simulator.argv import parse_argv

    return simulator_setup.derive(parse_argv(argv), cwd=str(cwd), write_fdump=False)


def test_attribution_reads_the_one_registry():
    from simulator.quirk_registry import QUIRKS

    assert [q["id"] for q in load_registry()] == [q.id for q in QUIRKS]
    assert all(callable(q.trigger) for q in QUIRKS)


def test_a_failing_trigger_raises_instead_of_guessing(tmp_path):
    from types import SimpleNamespace

    s = _setup(shlex.split("-cell 30 30 30 -default_F 10 -detpixels 8"), tmp_path)
    broken = SimpleNamespace(**{k: v for k, v in vars(s).items() if k != "water_size"})
    with pytest.raises(AttributeError, match="water_size"):
        triggered_quirks(broken)


def test_supervisor_command_triggers_carry_over_and_pix0(tmp_path):
    c = cases.resolve_case("supervisor-synthetic")
    assert triggered_quirks(_setup(c.argv, tmp_path)) == ["C-PARITY-001", "C-PIX0-001"]


def test_triggers_follow_the_configuration(tmp_path):
    base = "-cell 30 30 30 90 90 90 -default_F 10 -detpixels 8 -nonoise -nopgm"
    assert triggered_quirks(_setup(shlex.split(base), tmp_path)) == []
    # φ0 = -S_φ puts step 1 exactly at 0.0
    s = _setup(shlex.split(base + " -phi -0.5 -osc 1 -phisteps 2"), tmp_path)
    assert "C-PARITY-001" in triggered_quirks(s)
    s = _setup(shlex.split("-cell 30 31 32 80 85 95 -default_F 10 -detpixels 8 -water 100"), tmp_path)
    assert {"C-CELL-001", "C-WATER-001"} <= set(triggered_quirks(s))


def test_failing_ids_and_description():
    from nbparity.cbuild import repo_root
    from nbparity.compare import compare_traces
    from nbparity.traces import parse_trace

    g = repo_root() / "traces" / "golden"
    c = parse_trace((g / "basic_c.log").read_text())
    assert failing_ids(compare_traces(c, c)) == set()
    text = (g / "basic_c.log").read_text()
    py_lines = []
    for ln in text.splitlines():  # perturb F_latt_b at φ step 0 only
        if ln.startswith("TRACE_C_PHI") and "phi_tic=0 " in ln:
            toks = ln.split()
            toks = [t if not t.startswith("F_latt_b=") else f"F_latt_b={float(t[9:]) * 1.5!r}" for t in toks]
            ln = " ".join(toks)
        py_lines.append(ln)
    cmp = compare_traces(c, parse_trace("\n".join(py_lines)))
    ids = failing_ids(cmp)
    assert ids and all(i[0] == "phi" and i[4] == 0 for i in ids)
    assert describe(ids).endswith("at φ step 0")
