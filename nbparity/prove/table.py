"""traces/injection.toml: which option sets a traced configuration value, and the argv tokens that give
the C's printed value to the torch side in full printed precision (scaled in decimal, never in binary)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "traces" / "injection.toml"


@dataclass(frozen=True)
class Injection:
    node: str                 # "config.<key>"
    argv: str                 # template: {0} {1} {2} are the scaled components
    scale: float
    conventions: tuple = ()   # empty: every convention
    note: str = ""

    @property
    def option(self) -> str:
        """The option that carries the value (the token before {0})."""
        toks = self.argv.split()
        return toks[toks.index("{0}") - 1]

    def applies(self, convention: str | None) -> bool:
        return not self.conventions or (convention or "").upper() in self.conventions

    def tokens(self, raw_values, pivot: str | None = None) -> list[str]:
        """The argv tokens with the C's printed components (and the C's pivot, where the option would
        move it) written in; ValueError on an unreadable value."""
        scaled = [scaled_text(raw, self.scale) for raw in raw_values]
        if "{pivot}" in self.argv and not pivot:
            raise ValueError("the C printed no pivot")
        return [t.format(*scaled, pivot=(pivot or "").lower()) if "{" in t else t for t in self.argv.split()]


def scaled_text(raw: str, scale: float) -> str:
    """`raw` × `scale` as decimal text: every printed digit kept, no binary rounding on the way."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"not finite: {raw!r}")
    if scale == 1:
        return str(raw).strip()
    out = (value * Decimal(repr(float(scale)))).normalize()
    if out == 0:
        return "0"
    return format(out, "f") if -7 < out.adjusted() < 16 else format(out, "g")


@lru_cache(maxsize=1)
def load_table() -> dict:
    """{node: Injection} of traces/injection.toml."""
    import tomllib

    with open(TABLE, "rb") as fh:
        data = tomllib.load(fh)
    out = {}
    for e in data["inject"]:
        out[e["key"]] = Injection(e["key"], e["argv"], float(e.get("scale", 1)),
                                  tuple(c.upper() for c in e.get("conventions", ())), e.get("note", ""))
    return out


def injection_for(node: str, convention: str | None = None) -> Injection | None:
    entry = load_table().get(node)
    return entry if entry is not None and entry.applies(convention) else None
