"""traces/one_sided.toml as Python: which build a trace came from, and which keys that build prints alone.

    detect_build(frames) -> str | None                   # the build id of a parsed trace (None: unknown)
    declared_reason(build, section, key, frames, against=None, same=False) -> str | None
                                                         # why `build` prints section.key alone
    side_id(frames) -> str                               # 'ours:C' (c_reference), 'ours:PY', 'unregistered', …
    load_declarations() -> Declarations                  # cached

A one-sided value is fine (listed, not deciding) only when the side that has it is a known build that
declares the key; anything else makes a comparison incomplete (nbparity.compare_judge). A declaration
with `against` holds only when the side lacking the keys is one of the sides it names; naming that side,
it holds also between two sides of the same build.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from nbparity.schema import TRACES_DIR

FINAL_VALUE = ("pixel", "I_pixel_final")   # never declarable: the value the image stores


@dataclass(frozen=True)
class Build:
    id: str
    doc: str
    config_echo: bool | None = None
    impl: str | None = None
    format: str | None = None

    def matches(self, frames) -> bool:
        impl = _dominant_impl(frames)
        echo = len(frames.config) > 0
        return ((self.config_echo is None or self.config_echo == echo)
                and (self.impl is None or self.impl == impl)
                and (self.format is None or self.format == getattr(frames, "format", "trace-log")))


@dataclass(frozen=True)
class Declaration:
    build: str
    keys: tuple
    reason: str
    when: tuple = ()      # ((config key, (allowed values, …)), …)
    against: tuple = ()   # side ids ('ours:C', 'unregistered') the other side must be; () any other build

    def covers(self, section: str, key: str) -> bool:
        return f"{section}.{key}" in self.keys or f"{section}.*" in self.keys

    def applies(self, frames) -> bool:
        for cfg_key, allowed in self.when:
            value = frames.config_value(cfg_key) if len(frames.config) else None
            if value is None or str(value) not in allowed:
                return False
        return True


@dataclass(frozen=True)
class Declarations:
    builds: tuple
    entries: tuple

    def build_of(self, frames) -> str | None:
        for b in self.builds:
            if b.matches(frames):
                return b.id
        return None

    def reason(self, build: str | None, section: str, key: str, frames, against: str | None = None,
               same: bool = False) -> str | None:
        """`against`: the side id of the side lacking the key; `same`: both sides are one build."""
        if build is None or (section, key) == FINAL_VALUE:
            return None
        for d in self.entries:
            other_ok = against in d.against if d.against else not same
            if d.build == build and other_ok and d.covers(section, key) and d.applies(frames):
                return d.reason
        return None

    def side_id(self, frames) -> str:
        build = self.build_of(frames)
        return f"{build}:{_dominant_impl(frames)}" if build else "unregistered"


def _dominant_impl(frames) -> str | None:
    v = frames.values
    if len(v):
        return str(v["impl"].value_counts().index[0])
    return str(frames.config["impl"].iloc[0]) if len(frames.config) else None


@functools.lru_cache(maxsize=None)
def load_declarations(traces_dir: str | None = None) -> Declarations:
    path = Path(traces_dir or TRACES_DIR) / "one_sided.toml"
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    builds = tuple(Build(bid, body.get("doc", ""), body.get("config_echo"), body.get("impl"), body.get("format"))
                   for bid, body in raw.get("build", {}).items())
    known = {b.id for b in builds}
    entries = []
    for i, e in enumerate(raw.get("one_sided", [])):
        if e.get("build") not in known:
            raise ValueError(f"{path}: one_sided[{i}] names unknown build {e.get('build')!r}")
        keys = tuple(e["keys"])
        if "pixel.I_pixel_final" in keys:
            raise ValueError(f"{path}: one_sided[{i}]: the final pixel value cannot be declared one-sided")
        when = tuple((k, tuple(str(x) for x in v)) for k, v in (e.get("when") or {}).items())
        entries.append(Declaration(e["build"], keys, e["reason"], when, tuple(e.get("against") or ())))
    return Declarations(builds, tuple(entries))


def detect_build(frames) -> str | None:
    return load_declarations().build_of(frames)


def declared_reason(build: str | None, section: str, key: str, frames, against: str | None = None,
                    same: bool = False) -> str | None:
    return load_declarations().reason(build, section, key, frames, against, same)


def side_id(frames) -> str:
    return load_declarations().side_id(frames)
