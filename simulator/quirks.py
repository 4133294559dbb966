"""Quirk mode strings (docs/contracts.md §2): `c` | `c-r2` | `spec`, then `,+ID` / `,-ID` toggles.
`c-r2` is shorthand for `c,-C-ARGV-001` (the R2 C line's option matching).

The ids come from traces/quirks.toml, the registry shared with the harness."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

REGISTRY = Path(__file__).resolve().parent.parent / "traces" / "quirks.toml"


@functools.lru_cache(maxsize=1)
def registry() -> dict:
    """id -> the quirk's table (title, keys, trigger, …), in registry order."""
    with open(REGISTRY, "rb") as fh:
        data = tomllib.load(fh)
    return {q["id"]: q for q in data.get("quirk", [])}


def all_ids() -> frozenset:
    return frozenset(registry())


def resolve(mode: str) -> frozenset:
    """Enabled quirk ids for a mode string such as 'c', 'spec', 'spec,+C-PARITY-001', 'c,-C-WATER-001'."""
    if not isinstance(mode, str) or not mode.strip():
        raise ValueError("quirk mode must be 'c', 'c-r2' or 'spec', optionally followed by ,+ID or ,-ID")
    parts = [p.strip() for p in mode.split(",")]
    base = parts[0].lower()
    if base == "c":
        enabled = set(all_ids())
    elif base == "c-r2":  # the R2 C line: every quirk but R1 option matching
        enabled = set(all_ids()) - {"C-ARGV-001"}
    elif base == "spec":
        enabled = set()
    else:
        raise ValueError(f"bad quirk mode {mode!r}: must start with 'c', 'c-r2' or 'spec'")
    known = all_ids()
    for p in parts[1:]:
        if len(p) < 2 or p[0] not in "+-":
            raise ValueError(f"bad quirk toggle {p!r} in {mode!r}: expected +ID or -ID")
        qid = p[1:].strip()
        if qid not in known:
            raise ValueError(f"unknown quirk id {qid!r} (known: {', '.join(sorted(known))})")
        (enabled.add if p[0] == "+" else enabled.discard)(qid)
    return frozenset(enabled)


def keys_of(qid: str) -> tuple:
    """The trace keys the registry says a quirk can change."""
    return tuple(registry()[qid].get("keys", ()))
