"""The candidate causes of a divergent comparison and how each is injected into the torch side.

A candidate is a failing configuration value that an option sets (traces/injection.toml; root or not:
the value the port got wrong may sit below a root the port reads back from it, as pix0 below Fbeam), a
root cause that is an intermediate of the traced pixel (injected through the protocol of
docs/injection.md, where the side implements it), or a root cause nothing can inject."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Candidate:
    node: str                       # "section.key"
    how: str                        # "option" | "protocol" | "none"
    tokens: list = field(default_factory=list)    # argv tokens appended (how == "option")
    inject: dict = field(default_factory=dict)    # protocol payload (how == "protocol")
    why: str = ""                   # how == "none": why it cannot be injected
    row: dict = field(default_factory=dict)       # the first failing value (c, py, rel, phi_tic, …)
    label: str = ""                 # what reports call it ("pix0", "rotated vectors (a, b, c) at φ step 0")
    nodes: list = field(default_factory=list)     # the trace nodes it stands for

    @property
    def key(self) -> str:
        return self.node.split(".", 1)[1]

    @property
    def injectable(self) -> bool:
        return self.how != "none"


def _config_word(comparison, key: str) -> str | None:
    """The C's printed word of a configuration key (convention, pivot), None where it printed none."""
    t = comparison.config_table
    word = t[(t["key"] == key) & (t["side"] != "PY")]["raw_c"]
    return str(word.iloc[0]) if len(word) else None


def _convention(comparison) -> str | None:
    return _config_word(comparison, "convention")


def option_candidates(comparison) -> list[Candidate]:
    """Every failing configuration key: its option's tokens with the C's printed components, or why not."""
    from nbparity.prove.table import injection_for

    t = comparison.config_table
    convention = _convention(comparison)
    roots = {r["node"] for r in comparison.root_causes}
    out = []
    for key, rows in t[t["status"] == "FAIL"].groupby("key", sort=False):
        node = f"config.{key}"
        entry = injection_for(node, convention)
        all_rows = t[t["key"] == key].sort_values("component")
        row = rows.iloc[0].to_dict()
        if entry is None:
            if node in roots:
                out.append(Candidate(node, "none", why=f"no option sets {key}", row=row, label=key,
                                     nodes=[node]))
            continue
        try:
            tokens = entry.tokens(list(all_rows["raw_c"]), _config_word(comparison, "pivot"))
        except (ValueError, IndexError) as exc:
            out.append(Candidate(node, "none", why=f"the C's {key} cannot be written into argv: {exc}",
                                 row=row, label=key, nodes=[node]))
            continue
        out.append(Candidate(node, "option", tokens=tokens, row=row, label=key, nodes=[node]))
    return out


def intermediate_candidates(comparison, protocol: bool) -> list[Candidate]:
    """The root causes that are intermediates of the traced pixel, grouped by what the protocol injects
    (one candidate per protocol key and φ step: the three rotated vectors go together); `protocol`:
    whether the torch side may implement it (a port that ignores it is found out by its unchanged trace)."""
    from nbparity.prove.protocol import LABELS, PER_PIXEL, payload_for, protocol_key

    groups: dict = {}
    out = []
    for r in comparison.root_causes:
        if r["section"] == "config":
            continue
        key = protocol_key(r["section"], r["key"])
        if key is None or not protocol:
            why = (f"the injection protocol has no {r['key']}" if key is None else
                   "the torch side does not implement the injection protocol (docs/injection.md)")
            out.append(Candidate(r["node"], "none", why=why, row=r, label=r["key"], nodes=[r["node"]]))
            continue
        tic = -1 if key in PER_PIXEL else max(int(r.get("phi_tic", -1)), 0)
        cand = groups.get((key, tic))
        if cand is None:
            cand = groups[(key, tic)] = Candidate(
                r["node"], "protocol", inject=payload_for(comparison, key, tic), row=r,
                label=LABELS[key] + (f" at φ step {tic}" if tic >= 0 else ""), nodes=[])
            out.append(cand)
        cand.nodes.append(r["node"])
        if _size(r) > _size(cand.row):
            cand.row = r
    return [c for c in out if c.how != "protocol" or c.inject["values"]] + \
        [Candidate(c.node, "none", why=f"the C printed no per-φ values of {c.label}", row=c.row, label=c.label,
                   nodes=c.nodes) for c in out if c.how == "protocol" and not c.inject["values"]]


def _size(row) -> float:
    try:
        return abs(float(row.get("rel")))
    except (TypeError, ValueError):
        return 0.0
