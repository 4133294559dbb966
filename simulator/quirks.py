"""Quirk mode strings (docs/contracts.md §2): `c` | `c-r2` | `spec`, then `,+ID` / `,-ID` toggles.
`c-r2` is shorthand for `c,-C-ARGV-001` (the R2 C line's option matching).

The ids come from quirk_registry.py, the one definition of each quirk (traces/quirks.toml is generated
from it) shared with the harness. The simulator asks a typed
`Quirks` (one named boolean per registered quirk), never a set of id strings, so that a misspelled
quirk is an AttributeError or an unknown-id error, not a silent spec-mode branch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .quirk_registry import BY_ID, QUIRKS

REGISTRY = "simulator/quirk_registry.py"


def all_ids() -> frozenset:
    return frozenset(BY_ID)


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
    return tuple(BY_ID[qid].keys)


# registry id -> Quirks field, as the registry names the switches (checked against the dataclass below)
FIELDS = {q.id: q.switch for q in QUIRKS}


@dataclass(frozen=True)
class Quirks:
    """The enabled quirks of a run: one boolean per registered quirk, plus the ids and the mode."""
    phi_carryover: bool = False                 # C-PARITY-001
    interp_kill_switch: bool = False            # C-INTERP-001
    oversample_running_products: bool = False   # C-OVERSAMPLE-001
    last_layer_capture: bool = False            # C-CAPTURE-001
    water_scaled_twice: bool = False            # C-WATER-001
    float32_random_rotation: bool = False       # C-RANDROT-001
    polar_renormalizes: bool = False            # C-POLAR-001
    triclinic_cell_basis: bool = False          # C-CELL-001
    pix0_ignored: bool = False                  # C-PIX0-001
    r1_option_matching: bool = False            # C-ARGV-001
    omp_block_restart: bool = False             # C-OMP-001 (acts with omp_threads > 1)
    mode: str = field(default="spec", compare=False)   # the mode string it came from (informational)

    @classmethod
    def from_mode(cls, mode: str) -> "Quirks":
        """Quirks of a mode string ('c', 'spec,+C-PARITY-001', …); ValueError on an unknown id."""
        return cls.from_ids(resolve(mode), mode=mode)

    @classmethod
    def from_ids(cls, ids, mode: str | None = None) -> "Quirks":
        """Quirks with exactly these registry ids enabled; ValueError on an unknown id."""
        ids = frozenset(ids)
        unknown = ids - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown quirk id(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(FIELDS))})")
        spelled = "spec" + "".join(f",+{q}" for q in sorted(ids))
        return cls(mode=spelled if mode is None else mode, **{FIELDS[q]: True for q in ids})

    @property
    def ids(self) -> frozenset:
        """The enabled registry ids."""
        return frozenset(q for q, name in FIELDS.items() if getattr(self, name))

    def __contains__(self, qid) -> bool:
        """`"C-PARITY-001" in quirks` for callers holding ids (the harness); an unknown id is an error."""
        if qid not in FIELDS:
            raise ValueError(f"unknown quirk id {qid!r}")
        return bool(getattr(self, FIELDS[qid]))

    def __iter__(self):
        return iter(sorted(self.ids))


def as_quirks(quirks) -> Quirks:
    """A Quirks from a Quirks, a mode string or an iterable of registry ids."""
    if isinstance(quirks, Quirks):
        return quirks
    if isinstance(quirks, str):
        return Quirks.from_mode(quirks)
    return Quirks.from_ids(quirks)


def _check_fields() -> None:
    """Fail at import when the registry's switches and the Quirks fields disagree, either way."""
    switches = {f.name for f in dataclasses.fields(Quirks) if f.type in (bool, "bool")}
    missing = all_ids() - set(FIELDS)
    stale = set(FIELDS) - all_ids()
    unbound = set(FIELDS.values()) ^ switches
    if missing or stale or unbound:
        raise ImportError(f"simulator.quirks out of step with {REGISTRY}: ids without a field "
                          f"{sorted(missing)}, fields without a registry id {sorted(stale)}, "
                          f"table/dataclass mismatch {sorted(unbound)}")


_check_fields()
