"""simulator/quirk_registry.py is the one definition of each quirk: traces/quirks.toml is generated from it,
the simulator's switches and the attribution's triggers come from it."""

import dataclasses
import shlex
import tomllib

import pytest

from simulator import quirk_registry as R
from simulator.quirks import FIELDS, Quirks


def test_committed_toml_is_the_generated_one():
    committed = R.TOML_PATH.read_text(encoding="utf-8")
    assert committed == R.render_toml(), "traces/quirks.toml is stale: python -m simulator.quirk_registry --write"


def test_generated_toml_reads_back_as_the_registry():
    tables = tomllib.loads(R.render_toml())["quirk"]
    assert [t["id"] for t in tables] == [q.id for q in R.QUIRKS]
    for t, q in zip(tables, R.QUIRKS):
        assert (t["title"], t["switch"], tuple(t["keys"])) == (q.title, q.switch, q.keys)
        assert t["description"] == q.description
        module, _, name = t["trigger_function"].rpartition(".")
        assert getattr(__import__(module, fromlist=[name]), name) is q.trigger


def test_each_quirk_once_with_a_switch_the_simulator_reads():
    ids = [q.id for q in R.QUIRKS]
    assert len(ids) == len(set(ids)) and len({q.switch for q in R.QUIRKS}) == len(ids)
    assert FIELDS == {q.id: q.switch for q in R.QUIRKS}
    switches = {f.name for f in dataclasses.fields(Quirks) if f.name != "mode"}
    assert switches == set(FIELDS.values())


def _setup(args, tmp_path):
    from simulator.argv import parse_argv
    from simulator.setup import derive

    return derive(parse_argv(shlex.split(args)), cwd=str(tmp_path), write_fdump=False)


BASE = "-cell 30 30 30 -default_F 10 -detpixels 8"


@pytest.mark.parametrize("args, expected", [
    ("-cell 30 30 30 90 90 90 -default_F 10 -detpixels 8", []),
    # 50 60 70 90 90 90: the two c*_z constructions differ in the last bit (the c-mode image follows)
    ("-cell 50 60 70 90 90 90 -default_F 10 -detpixels 8", ["C-CELL-001"]),
    (BASE + " -phi -0.5 -osc 1 -phisteps 2 -detector_thick 100", ["C-PARITY-001", "C-CAPTURE-001"]),
    (BASE + " -detector_thick 100 -oversample_thick", ["C-OVERSAMPLE-001"]),
    (BASE + " -mosaic 1 -mosaic_domains 2 -divsteps 2 -divergence 1", ["C-RANDROT-001", "C-POLAR-001"]),
    (BASE + " -divsteps 2 -divergence 1 -nopolar -water 10", ["C-WATER-001"]),
    (BASE + " -pix0_vector 0.1 0 0 -misset_seed 3 -dump_pixel 1 1", ["C-PIX0-001", "C-ARGV-001"]),
])
def test_triggers_on_derived_setups(tmp_path, args, expected):
    s = _setup(args, tmp_path)
    assert R.triggered(s) == expected
    assert R.triggered(s, ids=expected[:1]) == expected[:1]


def test_omp_trigger_needs_threads(tmp_path):
    s = _setup("-cell 30 30 30 -default_F 10 -detpixels 8 -phi -0.5 -osc 1 -phisteps 2", tmp_path)
    assert "C-OMP-001" not in R.triggered(s) and "C-OMP-001" in R.triggered(s, threads=3)
