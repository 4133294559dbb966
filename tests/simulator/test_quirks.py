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
