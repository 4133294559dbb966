"""The registered quirk ids, as the harness sees them (simulator/quirk_registry.py, through simulator.quirks)."""

from __future__ import annotations


def all_ids() -> frozenset:
    from simulator.quirks import all_ids as ids

    return frozenset(ids())
