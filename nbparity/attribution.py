"""Attribute spec-mode divergences to registered C quirks (simulator/quirk_registry.py, whose triggers
decide which quirks a case can show; traces/quirks.toml is generated from it).

For every quirk whose trigger holds for this case, the torch side is re-run with that quirk alone, then
with all triggered quirks together, then all-but-one (leave-one-out), so a quirk whose effect is hidden
behind another one (e.g. the φ=0 carry-over behind an ignored -pix0_vector) is still named. Divergences
that the all-triggered run removes are "explained": they do not fail the run unless --strict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ----------------------------------------------------------------------------- triggers


def load_registry() -> list[dict]:
    """The registered quirks as tables (id, title, trigger, keys, …), in registry order: from
    simulator/quirk_registry.py, the one definition traces/quirks.toml is generated from."""
    from simulator.quirk_registry import QUIRKS

    return [q.table() for q in QUIRKS]


def triggered_quirks(setup, registry=None, threads: int = 1) -> list[str]:
    """Ids of the quirks of `registry` (default: all) whose trigger holds for this setup, in registry
    order. threads: the OpenMP thread count the C ran on (1 for a serial build), which C-OMP-001's
    trigger needs. A trigger that fails raises: a guess here would hide a bug in it."""
    from simulator.quirk_registry import triggered

    ids = None if registry is None else [q["id"] for q in registry]
    return triggered(setup, threads, ids)


# ----------------------------------------------------------------------------- failing-value sets


def failing_ids(comparison) -> set:
    """Identities of every failing value (config differences included) of a Comparison."""
    from nbparity.phi import failing_rows, row_id

    ids = {("config", str(d.get("key")), d.get("component"), None, None, None) if isinstance(d, dict)
           else ("config", str(d), None, None, None, None) for d in (comparison.config_diffs or [])}
    for row in failing_rows(comparison.table).to_dict("records"):   # iterrows' values, ~10x cheaper
        ids.add(row_id(row))
    return ids


def describe(ids: set) -> str:
    """'37 divergent values at φ step 0' (rows outside the φ lines — block B at φ_tic 0 and the pixel
    totals downstream — are counted with the φ steps they come from) / '12 divergent values (keys…)'."""
    n = len(ids)
    noun = "divergent value" if n == 1 else "divergent values"
    steps = sorted({int(i[4]) for i in ids if len(i) >= 5 and i[4] is not None and int(i[4]) >= 0})
    if steps:
        where = f"φ step {steps[0]}" if len(steps) == 1 else f"φ steps {', '.join(map(str, steps))}"
        return f"{n} {noun} at {where}"
    keys = sorted({i[1] for i in ids})
    head = ", ".join(keys[:6]) + (", …" if len(keys) > 6 else "")
    return f"{n} {noun} ({head})"


@dataclass
class Attribution:
    mode: str
    triggered: list = field(default_factory=list)
    base_failing: int = 0
    explained: dict = field(default_factory=dict)   # quirk id -> number of values it explains
    messages: list = field(default_factory=list)     # one line per named quirk
    unexplained: int = 0
    runs: dict = field(default_factory=dict)         # quirk mode string -> number of failing values
    skipped: str = ""

    @property
    def all_explained(self) -> bool:
        return self.base_failing > 0 and self.unexplained == 0

    def to_dict(self) -> dict:
        return {"mode": self.mode, "triggered": self.triggered, "base_failing": self.base_failing,
                "explained": self.explained, "messages": self.messages, "unexplained": self.unexplained,
                "runs": self.runs, "skipped": self.skipped}


def _mode_with(mode: str, ids) -> str:
    return ",".join([mode, *(f"+{q}" for q in ids)])


def planned_modes(setup, mode: str, registry=None, threads: int = 1) -> list[str]:
    """The quirk modes attribute() re-runs the torch side with, in its order, when the comparison under
    `mode` diverges: all triggered quirks together, then each alone and all but that one. Lets a runner
    start them before they are asked for (attribute() itself does not depend on it)."""
    from simulator.quirks import resolve

    registry = registry if registry is not None else load_registry()
    enabled = set(resolve(mode))
    triggered = [q for q in triggered_quirks(setup, registry, threads) if q not in enabled]
    if not triggered:
        return []
    keys = [frozenset(triggered)]
    for q in triggered:
        keys += [frozenset([q]), frozenset(x for x in triggered if x != q)]
    out: list[str] = []
    for key in keys:
        m = _mode_with(mode, sorted(key))
        if key and m not in out:
            out.append(m)
    return out


def attribute(base_comparison, setup, mode: str, rerun, registry=None, log=None, threads: int = 1) -> Attribution:
    """`rerun(mode) -> Comparison` re-runs the torch side under a quirk mode and compares with C; threads:
    the OpenMP C's thread count (C-OMP-001's trigger)."""
    registry = registry if registry is not None else load_registry()
    titles = {q["id"]: q.get("title", "") for q in registry}
    base = failing_ids(base_comparison)
    att = Attribution(mode=mode, base_failing=len(base))
    if not base:
        return att
    from simulator.quirks import resolve

    enabled = set(resolve(mode))
    att.triggered = [q for q in triggered_quirks(setup, registry, threads) if q not in enabled]
    if not att.triggered:
        att.unexplained = len(base)
        att.skipped = "no registered quirk is triggered by this case"
        return att
    cache: dict[frozenset, set] = {frozenset(): base}

    def fails(ids) -> set:
        key = frozenset(ids)
        if key not in cache:
            m = _mode_with(mode, sorted(key))
            if log:
                log(f"attribution: re-running torch with {m}…")
            cache[key] = failing_ids(rerun(m))
            att.runs[m] = len(cache[key])
        return cache[key]

    all_on = fails(att.triggered)
    explained = base - all_on
    att.unexplained = len(all_on)
    per: dict[str, set] = {}
    for q in att.triggered:
        alone = (base - fails([q])) & explained
        loo = fails([x for x in att.triggered if x != q]) - all_on  # what comes back without q
        per[q] = alone | (loo & base)
    for q in att.triggered:
        if per[q]:
            att.explained[q] = len(per[q])
            att.messages.append(f"{q}: {titles.get(q, '')} explains {describe(per[q])}")
    return att
