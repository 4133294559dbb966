"""Declared unit words (traces/units.toml) and the factor that brings a printed value to its key's unit.

    unit_of(word) -> (dimension, factor to the dimension's base unit) | None
    conversion(word, key_unit=None) -> (factor, note | None)
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "traces" / "units.toml"


@functools.lru_cache(maxsize=None)
def _table(path: str = str(TABLE)) -> dict[str, tuple[str, float]]:
    p = Path(path)
    if not p.exists():
        return {}
    with open(p, "rb") as fh:
        raw = tomllib.load(fh)
    return {u["word"]: (u["dimension"], float(u["factor"])) for u in raw.get("unit", [])}


def unit_of(word: str) -> tuple[str, float] | None:
    return _table().get(word)


def conversion(word: str, key_unit: str | None = None) -> tuple[float, str | None]:
    """Factor from the printed unit `word` to the key's unit: the schema unit `key_unit` when it is a declared
    unit of the same dimension, else the dimension's base unit. (1, note) for a unit of another dimension."""
    printed = unit_of(word)
    if printed is None:
        return 1.0, None
    target = unit_of(key_unit) if key_unit else None
    if target is None:
        return printed[1], None
    if target[0] != printed[0]:
        return 1.0, f"printed in {word} ({printed[0]}) but the schema unit is {key_unit}: kept as printed"
    return printed[1] / target[1], None
