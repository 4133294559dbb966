import pytest

from simulator.quirks import all_ids, keys_of, resolve


def test_modes():
    assert resolve("spec") == frozenset()
    assert resolve("c") == all_ids() and "C-PARITY-001" in all_ids()
    assert resolve("spec,+C-PARITY-001") == {"C-PARITY-001"}
    assert resolve("c,-C-WATER-001") == all_ids() - {"C-WATER-001"}
    assert resolve(" SPEC , +C-INTERP-001 ,-C-INTERP-001") == frozenset()
    assert "F_cell" in keys_of("C-INTERP-001")


@pytest.mark.parametrize("bad", ["", "cc", "spec,C-PARITY-001", "spec,+NOPE-1", "c,-", "spec,,"])
def test_bad_modes_raise_one_line(bad):
    with pytest.raises(ValueError) as exc:
        resolve(bad)
    assert "\n" not in str(exc.value)


# ---- the typed Quirks object (simulator/quirks.py)
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

from simulator import quirks as Q
from simulator.quirks import FIELDS, Quirks, as_quirks

ROOT = Path(__file__).resolve().parents[2]


def test_quirks_fields_follow_the_registry():
    c = Quirks.from_mode("c")
    assert c.ids == resolve("c") == all_ids()
    assert all(getattr(c, name) for name in FIELDS.values())
    assert not any(getattr(Quirks.from_mode("spec"), name) for name in FIELDS.values())
    one = Quirks.from_mode("spec,+C-PARITY-001")
    assert one.phi_carryover and one.ids == {"C-PARITY-001"} and one.mode == "spec,+C-PARITY-001"
    assert not Quirks.from_mode("c,-C-WATER-001").water_scaled_twice
    assert not Quirks.from_mode("c-r2").r1_option_matching
    assert as_quirks({"C-CELL-001"}) == Quirks.from_mode("spec,+C-CELL-001")   # mode is not compared
    assert as_quirks(one) is one


def test_field_table_checked_both_ways(monkeypatch):
    Q._check_fields()
    monkeypatch.setattr(Q, "all_ids", lambda: frozenset(FIELDS) | {"C-NEW-001"})
    with pytest.raises(ImportError, match="C-NEW-001"):
        Q._check_fields()
    monkeypatch.setattr(Q, "all_ids", lambda: frozenset(FIELDS) - {"C-WATER-001"})
    with pytest.raises(ImportError, match="C-WATER-001"):
        Q._check_fields()


def test_every_registered_quirk_has_a_boolean_field():
    switches = {f.name for f in dataclasses.fields(Quirks) if f.name != "mode"}
    assert switches == set(FIELDS.values()) and set(FIELDS) == all_ids()


@pytest.mark.parametrize("ids", [{"C-TYPO-001"}, {"C-PARITY-001", "C-PARITY-01"}])
def test_unknown_ids_are_errors(ids):
    with pytest.raises(ValueError, match="unknown quirk id"):
        as_quirks(ids)
    with pytest.raises(ValueError, match="unknown quirk id"):
        "C-TYPO-001" in Quirks.from_mode("c")   # noqa: B015


def test_run_and_derive_reject_a_misspelled_id(tmp_path):
    from simulator.api import run
    from simulator.argv import parse_argv
    from simulator.setup import derive
    argv = "-cell 50 50 50 -default_F 10 -N 3 -detpixels 4 -pixel 0.2 -distance 50".split()
    with pytest.raises(ValueError, match="C-PARITY-01"):
        run(argv, quirks=frozenset({"C-PARITY-01"}), cwd=str(tmp_path))
    with pytest.raises(ValueError, match="C-PIX0-01"):
        derive(parse_argv(argv), quirks={"C-PIX0-01"}, cwd=str(tmp_path))


def test_cli_unknown_quirk_exits_2_with_one_stderr_line(tmp_path):
    argv = "-cell 50 50 50 -default_F 10 -N 3 -detpixels 4 -pixel 0.2 -distance 50".split()
    r = subprocess.run([sys.executable, "-m", "simulator", *argv, "-quirks", "spec,+C-TYPO-001"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "C-TYPO-001" in lines[0] and "Traceback" not in r.stderr
    assert r.stdout == "" and not (tmp_path / "floatimage.bin").exists()


def test_no_quirk_id_is_spelled_outside_quirks_py():
    """The simulator asks the typed object: an id string in its code would bypass the check. The
    registry (quirk_registry.py) is where each id is defined."""
    spelled = re.compile(r"""["']C-[A-Z0-9]+-\d{3}["']""")
    for path in sorted((ROOT / "simulator").rglob("*.py")):
        if path.name in ("quirks.py", "quirk_registry.py"):
            continue
        hits = [n for n, line in enumerate(path.read_text().splitlines(), 1) if spelled.search(line)]
        assert not hits, f"{path.relative_to(ROOT)}:{hits} spells a quirk id; use simulator.quirks.Quirks"
