"""Attribute spec-mode divergences to registered C quirks (traces/quirks.toml).

For every quirk whose trigger holds for this case, the torch side is re-run with that quirk alone, then
with all triggered quirks together, then all-but-one (leave-one-out), so a quirk whose effect is hidden
behind another one (e.g. the φ=0 carry-over behind an ignored -pix0_vector) is still named. Divergences
that the all-triggered run removes are "explained": they do not fail the run unless --strict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# ----------------------------------------------------------------------------- triggers (one per id)


def _f(x) -> float:
    return float(x)  # Setup scalars may be 0-dim tensors


def _phi_hits_zero(s, o) -> bool:
    n = int(s.phisteps)
    if n <= 1:
        return False
    phi0, step = _f(getattr(s, "phi0", 0.0)), _f(getattr(s, "phistep", 0.0))
    return any(phi0 + step * i == 0.0 for i in range(n))  # C evaluates φ0 + (S_φ·n)


def _cell_triclinic(s, o) -> bool:
    if o is None or not getattr(o, "user_cell", False):
        return False
    al, be, ga = (_f(x) or math.pi / 2 for x in (o.cell_alpha, o.cell_beta, o.cell_gamma))  # 0 = 90°
    cos_gs = (math.cos(al) * math.cos(be) - math.cos(ga)) / (math.sin(al) * math.sin(be))
    return math.sin(ga) != math.sqrt(max(0.0, 1.0 - cos_gs * cos_gs))


def _argv_line_sensitive(s, o) -> bool:
    from simulator.argv import line_sensitive

    return o is not None and bool(getattr(o, "argv", ())) and line_sensitive(list(o.argv))


TRIGGERS = {
    "C-PARITY-001": _phi_hits_zero,
    # whether an evaluation falls out of range is only known while rendering: interpolation on may trigger
    "C-INTERP-001": lambda s, o: bool(s.interpolate),
    "C-OVERSAMPLE-001": lambda s, o: bool(s.oversample_thick or s.oversample_polar or s.oversample_omega),
    "C-CAPTURE-001": lambda s, o: _f(s.detector_thick) > 0 and int(s.thicksteps) > 1 and not s.oversample_thick,
    "C-WATER-001": lambda s, o: _f(getattr(s, "water_size", 0.0)) > 0,
    "C-RANDROT-001": lambda s, o: int(getattr(s, "mosaic_domains", 1)) > 1
    or (o is not None and getattr(o, "misset_mode", None) == "random"),
    "C-POLAR-001": lambda s, o: not s.nopolar and (len(s.source_dirs) > 1 or bool(s.oversample_polar)),
    "C-CELL-001": _cell_triclinic,
    "C-PIX0-001": lambda s, o: o is not None and getattr(o, "pix0_vector", None) is not None,
    "C-ARGV-001": _argv_line_sensitive,
    # not a function of the configuration alone: the C's thread count (triggered_quirks' `threads`)
    "C-OMP-001": _phi_hits_zero,
}
RUN_TRIGGERS = {"C-OMP-001"}   # also need an OpenMP C run on more than one thread


def load_registry() -> list[dict]:
    import tomllib

    from nbparity.cbuild import repo_root

    with open(repo_root() / "traces" / "quirks.toml", "rb") as fh:
        return tomllib.load(fh).get("quirk", [])


def triggered_quirks(setup, registry=None, threads: int = 1) -> list[str]:
    """Ids of the registered quirks whose trigger holds for this setup, in registry order. threads: the
    OpenMP thread count the C ran on (1 for a serial build), which C-OMP-001's trigger needs."""
    registry = registry if registry is not None else load_registry()
    opts = getattr(setup, "options", None)
    out = []
    for q in registry:
        pred = TRIGGERS.get(q["id"])
        if q["id"] in RUN_TRIGGERS and int(threads) <= 1:
            continue
        try:
            if pred is not None and pred(setup, opts):
                out.append(q["id"])
        except (AttributeError, TypeError, ValueError):
            out.append(q["id"])  # cannot decide: re-running with it is harmless, missing it is not
    return out


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
