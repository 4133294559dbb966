"""The declared alias table (traces/aliases.toml): other builds' names for our keys, per source format.

    Aliases.load(path=None) -> Aliases
    aliases.lookup(source, section, name) -> Alias | None   # only where the table declares it
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "traces" / "aliases.toml"


@dataclass(frozen=True)
class Alias:
    source: str
    section: str
    name: str
    key: str
    factor: float
    meaning: str

    def as_dict(self) -> dict:
        return asdict(self)


class Aliases:
    def __init__(self, entries: list[Alias]):
        self._by = {(a.source, a.section, a.name): a for a in entries}
        self.entries = entries

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Aliases":
        return _load(str(path or TABLE))

    def lookup(self, source: str, section: str, name: str) -> Alias | None:
        return self._by.get((source, section, name))


@functools.lru_cache(maxsize=None)
def _load(path: str) -> Aliases:
    p = Path(path)
    if not p.exists():
        return Aliases([])
    with open(p, "rb") as fh:
        raw = tomllib.load(fh)
    return Aliases([Alias(source=e["source"], section=e["section"], name=e["name"], key=e["key"],
                          factor=float(e.get("factor", 1.0)), meaning=e["meaning"])
                    for e in raw.get("alias", [])])


class AliasLog:
    """Collects the aliases a reader applied (once each), for TraceFrames.aliases and the report."""

    def __init__(self, source: str, table: Aliases | None = None):
        self.source, self.table, self.used = source, table or Aliases.load(), {}

    def resolve(self, section: str, name: str) -> tuple[str, float]:
        """(our key, factor) for a printed name: the alias when declared for this source, else itself."""
        a = self.table.lookup(self.source, section, name)
        if a is None:
            return name, 1.0
        self.used.setdefault((section, name), a.as_dict())
        return a.key, a.factor

    def applied(self) -> list[dict]:
        return list(self.used.values())
