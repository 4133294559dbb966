"""The registered quirk ids, as the harness sees them (traces/quirks.toml through the simulator's reader)."""

from __future__ import annotations


def all_ids() -> frozenset:
    from simulator.quirks import all_ids as ids

    return frozenset(ids())
