"""Each divergent value's error split into what it inherits from the causes above it and what it adds
itself: `own` is its error left once every injectable cause is given the C's value (the run with all of
them, or the one run when there is one cause), `inherited` the rest of its error before."""

from __future__ import annotations

from nbparity.compare_align import ALIGN_ON

COLUMNS = ALIGN_ON + ["c", "py", "py_causes_fixed", "error", "inherited", "own", "injected"]


def error_split(comparison, fixed, injected=()):
    """DataFrame (COLUMNS) of the base comparison's failing values against `fixed`, the Comparison of the
    run with the causes given; a value the fixed run lacks has NaN own and inherited (not measured).
    `injected`: the nodes given the C's values (their rows are the causes, not inheritors)."""
    import numpy as np
    import pandas as pd

    base = pd.concat([comparison.config_table, comparison.table], ignore_index=True)
    base = base[base["status"] == "FAIL"]
    after = pd.concat([fixed.config_table, fixed.table], ignore_index=True)
    after = after[after["side"] == "both"][ALIGN_ON + ["py"]].rename(columns={"py": "py_causes_fixed"})
    m = base[ALIGN_ON + ["c", "py"]].merge(after, on=ALIGN_ON, how="left")
    error = (m["py"] - m["c"]).abs()
    own = (m["py_causes_fixed"] - m["c"]).abs()
    injected = set(injected)
    nodes = [f"{s}.{k}" for s, k in zip(m["section"], m["key"])]
    return m.assign(error=error, own=own, inherited=np.where(own.notna(), error - own, np.nan),
                    injected=[n in injected for n in nodes])[COLUMNS]


def split_summary(split) -> dict:
    """Counts for the reports: values split, wholly inherited, with an own part, not measured."""
    causes = int(split["injected"].sum())
    split = split[~split["injected"]]
    measured = split[split["own"].notna()]
    own = measured[measured["own"] > 0]
    worst = None
    if not own.empty:
        r = own.loc[(own["own"] / own["error"].where(own["error"] > 0, 1)).idxmax()]
        worst = {"key": r["key"], "section": r["section"], "component": int(r["component"]),
                 "phi_tic": int(r["phi_tic"]), "own": float(r["own"]), "error": float(r["error"])}
    return {"values": int(len(split)) + causes, "injected": causes,
            "wholly_inherited": int((measured["own"] == 0).sum()), "with_own_part": int(len(own)), "not_measured": int(len(split) - len(measured)), "largest_own": worst}
