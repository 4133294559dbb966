"""The trace contract as Python objects: traces/schema.toml (keys, order, units, dependency graph) and
traces/tolerances.toml (tolerance classes), loaded once and cached.

Nodes of the dependency graph are written ``"section.key"`` (sections: ``config``, ``pixel``, ``phi``)
because names repeat across sections (``config.steps`` is the parent of ``pixel.steps``; ``pixel.F_latt``
and ``phi.F_latt`` are different nodes). Every function that takes a ``key`` also accepts a bare key plus
an optional ``section``; a bare key without section resolves in the order pixel, phi, config.

Public API::

    load_schema() -> Schema                              # cached
    Schema.spec(key, section=None) -> KeySpec            # KeySpec: section key order arity type unit
                                                         #   name_unit parents tol_class id line required note
    Schema.node(key, section=None) -> str                # "section.key"
    Schema.has(key, section=None) -> bool
    Schema.parents(key, section=None) -> list[str]       # nodes
    Schema.children(key, section=None) -> list[str]
    Schema.descendants(key, section=None) -> list[str]   # in emission order
    Schema.ancestors(key, section=None) -> list[str]
    Schema.emission_order(section=None) -> list[str]     # nodes ("config.*" then "pixel.*" then "phi.*")
    Schema.tolerance_for(key, dtype, section=None) -> (rtol, atol)   # unknown keys -> class "default"
    Schema.class_defaults(cls, dtype) -> (rtol, atol)
    Schema.classes -> dict[name, {"doc", "float64": (rtol, atol), "float32": (rtol, atol)}]
    tolerance_for(key, dtype="float64", section=None)    # module-level shortcut on the cached schema
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

TRACES_DIR = Path(__file__).resolve().parent.parent / "traces"
SECTIONS = ("config", "pixel", "phi")
DTYPES = ("float64", "float32")
_BARE_LOOKUP_ORDER = ("pixel", "phi", "config")


@dataclass(frozen=True)
class KeySpec:
    section: str
    key: str
    order: int  # emission position inside its section
    arity: int
    type: str  # float | int | str
    unit: str  # the true unit
    name_unit: str | None  # the unit the name claims, when it differs (scattering_vec_A_inv)
    parents: tuple[str, ...]
    tol_class: str
    id: str | None = None  # A1..C14 for per-pixel keys
    line: int | None = None  # config echo line 1..5
    required: bool | None = None  # per-φ: printed by every instrumented build
    note: str = ""

    @property
    def node(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def exact(self) -> bool:
        return self.tol_class == "exact" or self.type in ("int", "str")


class Schema:
    def __init__(self, specs: list[KeySpec], classes: dict, phi_index_fields: tuple[str, ...]):
        self.specs = {s.node: s for s in specs}
        self.classes = classes
        self.phi_index_fields = phi_index_fields
        self._children: dict[str, list[str]] = {n: [] for n in self.specs}
        for spec in specs:
            for p in spec.parents:
                if p in self._children:
                    self._children[p].append(spec.node)
        self._rank = {n: i for i, n in enumerate(self.specs)}

    # --- lookup -------------------------------------------------------------------------------------
    def node(self, key: str, section: str | None = None) -> str:
        if section is not None:
            return f"{section}.{key}"
        if "." in key and key.split(".", 1)[0] in SECTIONS:
            return key
        for sec in _BARE_LOOKUP_ORDER:
            if f"{sec}.{key}" in self.specs:
                return f"{sec}.{key}"
        return f"pixel.{key}"  # unknown keys are per-pixel lines of some other build

    def has(self, key: str, section: str | None = None) -> bool:
        return self.node(key, section) in self.specs

    def spec(self, key: str, section: str | None = None) -> KeySpec:
        node = self.node(key, section)
        try:
            return self.specs[node]
        except KeyError:
            raise KeyError(f"{node} is not in traces/schema.toml") from None

    # --- graph --------------------------------------------------------------------------------------
    def parents(self, key: str, section: str | None = None) -> list[str]:
        node = self.node(key, section)
        return list(self.specs[node].parents) if node in self.specs else []

    def children(self, key: str, section: str | None = None) -> list[str]:
        return list(self._children.get(self.node(key, section), []))

    def _walk(self, start: str, step) -> list[str]:
        seen, stack = set(), [start]
        while stack:
            for nxt in step(stack.pop()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        seen.discard(start)
        return sorted(seen, key=lambda n: self._rank.get(n, len(self._rank)))

    def descendants(self, key: str, section: str | None = None) -> list[str]:
        return self._walk(self.node(key, section), lambda n: self._children.get(n, []))

    def ancestors(self, key: str, section: str | None = None) -> list[str]:
        return self._walk(self.node(key, section), lambda n: self.specs[n].parents if n in self.specs else ())

    def emission_order(self, section: str | None = None) -> list[str]:
        return [n for n, s in self.specs.items() if section is None or s.section == section]

    # --- tolerances ---------------------------------------------------------------------------------
    def class_defaults(self, cls: str, dtype: str = "float64") -> tuple[float, float]:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        return self.classes[cls][dtype]

    def class_of(self, key: str, section: str | None = None) -> str:
        node = self.node(key, section)
        return self.specs[node].tol_class if node in self.specs else "default"

    def tolerance_for(self, key: str, dtype: str = "float64", section: str | None = None) -> tuple[float, float]:
        return self.class_defaults(self.class_of(key, section), dtype)


def _read_toml(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


@functools.lru_cache(maxsize=None)
def load_schema(traces_dir: str | None = None) -> Schema:
    base = Path(traces_dir) if traces_dir else TRACES_DIR
    raw = _read_toml(base / "schema.toml")
    tol = _read_toml(base / "tolerances.toml")
    specs = []
    for section in SECTIONS:
        for order, entry in enumerate(raw.get(section, [])):
            specs.append(KeySpec(
                section=section, key=entry["key"], order=order, arity=int(entry["arity"]),
                type=entry["type"], unit=entry["unit"], name_unit=entry.get("name_unit"),
                parents=tuple(entry.get("parents", [])), tol_class=entry["class"], id=entry.get("id"),
                line=entry.get("line"), required=entry.get("required"), note=entry.get("note", "")))
    classes = {
        name: {"doc": body.get("doc", ""),
               **{dt: (float(body[dt]["rtol"]), float(body[dt]["atol"])) for dt in DTYPES if dt in body}}
        for name, body in tol.items()
    }
    return Schema(specs, classes, tuple(raw.get("phi_index_fields", ())))


def tolerance_for(key: str, dtype: str = "float64", section: str | None = None) -> tuple[float, float]:
    """(rtol, atol) of `key` for `dtype` from traces/tolerances.toml."""
    return load_schema().tolerance_for(key, dtype, section)
