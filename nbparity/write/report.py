"""Render a Comparison (nbparity.compare) for people: rich on a terminal, markdown for bundles.

Order everywhere: verdict line, configuration differences, first divergence, root causes (with their
downstream keys), unit hints, one-sided keys, then the factor table (failing rows highlighted, every
number at full %.17g precision).

Public API (reusable by other commands, e.g. `nbparity compare` adds its per-φ table and bundle path)::

    fmt(x) -> str                                        # %.17g, '-' for a missing value
    fmt_tol(x) -> str                                    # shortest round-trip repr, for tolerances
    occurrence(row) -> str                               # "(layer,subS,subF)" [+ " φ3"]
    summary_lines(comparison) -> list[str]               # plain-text lines of everything above the table
    factor_table(comparison, *, failing_only=False, max_rows=None) -> rich.text.Text (fixed-width)
    render(comparison, console=None, *, failing_only=False, max_rows=None) -> None
    to_markdown(comparison, *, failing_only=False, max_rows=None, max_phi_rows=None, title="nbparity diff") -> str
"""

from __future__ import annotations

import math

MAX_LISTED = 20   # occurrences of a root cause, unit hints: a huge trace must not make a huge summary
_STATUS_STYLE = {"pass": "green", "FAIL": "bold red", "one-sided": "yellow"}


def fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(xf):
        return "nan"
    return "%.17g" % xf


def occurrence(row) -> str:
    if row.get("section") == "config":
        return "config"
    text = f"({row['layer']},{row['subS']},{row['subF']})"
    if row.get("phi_tic", -1) is not None and int(row.get("phi_tic", -1)) >= 0:
        text += f" φ{int(row['phi_tic'])}"
    if int(row.get("repeat", 0) or 0):
        text += f" rep{int(row['repeat'])}"
    return text


def fmt_tol(x) -> str:
    """Tolerances: the shortest repr that round-trips (1e-12, not 9.9999999999999998e-13)."""
    return repr(float(x)) if x is not None else "-"


def _where(d: dict) -> str:
    return f"{d['section']}.{d['key']}[{d['component']}] {occurrence(d)}"


def _value_pair(d: dict) -> str:
    c = d.get("raw_c") if isinstance(d.get("raw_c"), str) else fmt(d.get("c"))
    py = d.get("raw_py") if isinstance(d.get("raw_py"), str) else fmt(d.get("py"))
    return f"C={c} torch={py} abs={fmt(d.get('abs'))} rel={fmt(d.get('rel'))} (rtol={fmt_tol(d.get('rtol'))}, atol={fmt_tol(d.get('atol'))})"


def input_lines(comparison) -> list[str]:
    """Which reader read each side, and the aliases it applied."""
    out = []
    for label, info in (getattr(comparison, "inputs", None) or {}).items():
        src = comparison.c_source if label == "C" else comparison.py_source
        out.append(f"{label} input {src}: read as {info.get('format')} ({info.get('format_reason')})")
        for a in info.get("aliases") or []:
            factor = "" if a["factor"] == 1 else f" ×{a['factor']!r}"
            out.append(f"  alias {a['section']}.{a['name']} → {a['key']}{factor} ({a['source']}: {a['meaning']})")
    return out


def summary_lines(comparison) -> list[str]:
    """Everything above the factor table, as plain lines (shared by rich and markdown renderings)."""
    out = [comparison.verdict] + input_lines(comparison)
    if comparison.config_diffs:
        out.append("Configuration differences (the likely cause of everything downstream):")
        out += [f"  {d['key']}[{d['component']}]: {_value_pair(d)}" for d in comparison.config_diffs]
    if comparison.first_divergence:
        out.append(f"First divergence (C emission order, line {comparison.first_divergence.get('line_c')}): "
                   f"{_where(comparison.first_divergence)}: {_value_pair(comparison.first_divergence)}")
    if comparison.root_causes:
        out.append("Root causes (failing keys whose parents all agree):")
        for r in comparison.root_causes:
            comps = ",".join(str(c) for c in r["components"])
            occs = " ".join("(" + ",".join(str(v) for v in o) + ")" for o in r["occurrences"][:MAX_LISTED])
            if len(r["occurrences"]) > MAX_LISTED:
                occs += f" … and {len(r['occurrences']) - MAX_LISTED} more"
            out.append(f"  {r['node']} components [{comps}] at {occs}; first failing [{r['component']}] "
                       f"{occurrence(r)}: {_value_pair(r)}")
            out.append(f"    downstream: {', '.join(r['downstream_nodes']) if r['downstream_nodes'] else '(none)'}")
    for h in comparison.hints[:MAX_LISTED]:
        out.append(f"Hint: {h['node']}[{h['component']}] torch/C = {fmt(h['ratio'])} ≈ {h['factor']}: {h['meaning']}")
    if len(comparison.hints) > MAX_LISTED:
        out.append(f"… and {len(comparison.hints) - MAX_LISTED} more hints (metrics.json holds all of them)")
    if comparison.one_sided:
        sides = {"C": "C only", "PY": "torch only"}
        declared = [o for o in comparison.one_sided if o.get("declared")]
        undeclared = [o for o in comparison.one_sided if not o.get("declared")]
        if undeclared:
            out.append("One-sided keys nobody declared (the verdict is incomplete): " + ", ".join(
                f"{o['node']} ({sides.get(o['side'], o['side'])})" for o in undeclared))
        if declared:
            out.append("One-sided keys declared in traces/one_sided.toml (listed, not deciding): " + ", ".join(
                f"{o['node']} ({sides.get(o['side'], o['side'])}: {o['declared']})" for o in declared))
    return out


def _rows(comparison, failing_only: bool, max_rows: int | None):
    import pandas as pd

    table = pd.concat([comparison.config_table[comparison.config_table["status"] != "pass"],
                       comparison.table], ignore_index=True)
    if failing_only:
        table = table[table["status"] != "pass"]
    if max_rows is not None and len(table) > max_rows:
        # keep failing rows first so truncation never hides a divergence
        table = pd.concat([table[table["status"] == "FAIL"], table[table["status"] != "FAIL"]]).head(max_rows)
    return table


_HEADERS = ["key", "comp", "occurrence", "C", "torch", "abs", "rel", "tolerance", "status"]


def _cells(row) -> list[str]:
    c = row["raw_c"] if isinstance(row["raw_c"], str) and row["c"] != row["c"] else fmt(row["c"]) if row["side"] != "PY" else "-"
    py = row["raw_py"] if isinstance(row["raw_py"], str) and row["py"] != row["py"] else fmt(row["py"]) if row["side"] != "C" else "-"
    tol = "exact" if row["tol_class"] == "exact" else f"rtol {fmt_tol(row['rtol'])} atol {fmt_tol(row['atol'])}"
    return [f"{row['section']}.{row['key']}", str(row["component"]), occurrence(row), c, py,
            fmt(row["abs"]) if row["side"] == "both" else "-", fmt(row["rel"]) if row["side"] == "both" else "-",
            tol, row["status"]]


_RIGHT = {"comp", "C", "torch", "abs", "rel"}


_last_table: tuple | None = None   # (comparison, failing_only, max_rows, Text) of the last factor_table


def factor_table(comparison, *, failing_only: bool = False, max_rows: int | None = None):
    """The factor table as fixed-width rich Text: every value at full %.17g precision, failing rows
    highlighted. (A rich Table measures every cell: ~0.3 s for a few hundred rows, a sixth of a
    single-pixel compare.) The last table is kept, so a caller can build it ahead of printing it
    (`nbparity compare` does, while torch re-runs for the attribution)."""
    global _last_table
    last = _last_table
    if last is not None and last[0] is comparison and last[1:3] == (failing_only, max_rows):
        return last[3].copy()
    rows = _rows(comparison, failing_only, max_rows)
    cells = [_cells(row) for row in _records(rows)]
    text = text_table("factors (C emission order)", _HEADERS, cells, list(rows["status"]), right=_RIGHT)
    _last_table = (comparison, failing_only, max_rows, text)
    return text.copy()


def _records(rows) -> list[dict]:
    """The rows as plain dicts of Python scalars (what iterrows gives cell by cell, without a Series per
    row: ~10× cheaper for a few hundred rows)."""
    return rows.to_dict("records")


def text_table(title: str, headers: list[str], cells: list[list[str]], statuses: list[str], right=()):
    """Fixed-width rich Text table: columns padded to their widest cell, rows styled by status
    ('FAIL'/'fail' red, 'one-sided' yellow). Cheap for hundreds of rows, and never folds a number."""
    from rich.text import Text

    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.rjust(w) if h in right else v.ljust(w) for v, w, h in zip(values, widths, headers))

    text = Text(no_wrap=True, overflow="ignore")
    text.append(title + "\n", style="bold")
    text.append(line(headers) + "\n", style="bold")
    text.append("  ".join("─" * w for w in widths) + "\n")
    for values, status in zip(cells, statuses):
        style = _STATUS_STYLE.get("FAIL" if status == "fail" else status) if status not in ("pass", "ok") else None
        text.append(line(values) + "\n", style=style)
    return text


_PHI_LEAD = ["occurrence", "phi_tic"]


def per_phi_text(comparison, max_rows: int | None = None):
    """The per-φ table (one row per (occurrence, φ step): C, torch and Δ = torch − C of every shared
    field, status) as fixed-width Text, or None without per-φ rows; `max_rows`: failing steps first."""
    pp = getattr(comparison, "per_phi", None)
    if pp is None or len(pp) == 0:
        return None
    steps = len(pp)
    pp = failing_first(pp, max_rows)
    fields = [c[:-6] for c in pp.columns if c.endswith("_delta") and f"{c[:-6]}_c" in pp.columns]
    shared = [f for f in fields if pp[f"{f}_delta"].notna().any()]
    cols = _PHI_LEAD + [c for f in shared for c in (f"{f}_c", f"{f}_py", f"{f}_delta")] + ["status", "failing"]
    cells = [[fmt(v) if not isinstance(v, str) else v for v in row] for row in pp[cols].itertuples(index=False)]
    headers = ["occurrence", "φ"] + [("Δ" + c[:-6]) if c.endswith("_delta") else c for c in cols[2:]]
    s = getattr(comparison, "phi_summary", {}) or {}
    fd = s.get("first_divergent")
    title = (f"per-φ steps ({s.get('steps', steps)} aligned by (occurrence, phi_tic); first divergent step: "
             + (f"{fd['phi_tic']} at ({fd['occurrence']}): {fd['fields']}" if fd else "none") + ")")
    return text_table(title, headers, cells, list(pp["status"]),
                      right=set(headers) - {"occurrence", "status", "failing"})


def render(comparison, console=None, *, failing_only: bool = False, max_rows: int | None = None,
           table_last: bool = False, per_phi: bool = False) -> None:
    """Print to a rich console. Default layout (terminal): verdict, factor table, then the configuration
    differences, first divergence and root causes, so they stay visible under a long table;
    table_last=True gives the report order (summary first, table last)."""
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    lines = summary_lines(comparison)
    style = "bold green" if comparison.exit_code == 0 else "bold red"
    console.print(escape(lines[0]), style=style, soft_wrap=True)  # one line, whatever the width
    if not table_last:
        console.print(factor_table(comparison, failing_only=failing_only, max_rows=max_rows), soft_wrap=True)
    for line in lines[1:]:
        console.print(escape(line), style="red" if line.startswith(("First", "Configuration")) else None)
    if table_last:
        console.print(factor_table(comparison, failing_only=failing_only, max_rows=max_rows), soft_wrap=True)
    phi_text = per_phi_text(comparison) if per_phi else None
    if phi_text is not None:
        console.print(phi_text, soft_wrap=True)
    for w in comparison.warnings:
        console.print(escape(f"warning: {w}"), style="yellow")


def to_markdown(comparison, *, failing_only: bool = False, max_rows: int | None = None,
                max_phi_rows: int | None = None, title: str = "nbparity diff") -> str:
    """Markdown of the summary and the tables; `max_rows` / `max_phi_rows` cap the factor and per-φ
    tables (failing rows first) with a line saying how many rows were left out and where all of them are."""
    lines = summary_lines(comparison)
    out = [f"# {title}", "", f"**{lines[0]}**", ""]
    out += [f"- {l.strip()}" if l.startswith("  ") else l for l in lines[1:]]
    rows = _rows(comparison, failing_only, max_rows)
    out += ["", "## Factors (C emission order)", "", section_counts(comparison), "",
            "| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
    for row in _records(rows):
        cells = _cells(row)
        if row["status"] == "FAIL":
            cells = [f"**{c}**" for c in cells]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out += left_out_line(len(rows), len(_rows(comparison, failing_only, None)), "factors.csv")
    phi_text = per_phi_text(comparison, max_rows=max_phi_rows)
    if phi_text is not None:
        out += ["", "## Per-φ steps", "", "```", phi_text.plain.rstrip("\n"), "```"]
        out += left_out_line(min(len(comparison.per_phi), max_phi_rows or len(comparison.per_phi)),
                             len(comparison.per_phi), "per_phi.csv")
    if comparison.warnings:
        out += ["", "## Parser warnings", ""] + [f"- {w}" for w in comparison.warnings[:MAX_LISTED]]
        if len(comparison.warnings) > MAX_LISTED:
            out.append(f"- … and {len(comparison.warnings) - MAX_LISTED} more (metrics.json holds all of them)")
    return "\n".join(out) + "\n"


def section_counts(comparison) -> str:
    """'rows by section: config 87 (0 failing), pixel 51314 (2 failing), …' of the whole factor table."""
    import pandas as pd

    table = pd.concat([comparison.config_table, comparison.table], ignore_index=True)
    if not len(table):
        return "rows by section: none"
    failing = (table["status"] == "FAIL").groupby(table["section"], sort=False).agg(["size", "sum"])
    return "rows by section: " + ", ".join(f"{s} {int(n)} ({int(f)} failing)" for s, (n, f) in failing.iterrows())


def left_out_line(shown: int, total: int, full_file: str) -> list[str]:
    """The line under a capped table (nothing when the table is whole)."""
    if shown >= total:
        return []
    return ["", f"*{total - shown} of {total} rows left out (failing rows first, then in order); "
                f"{full_file} in this bundle holds all of them.*"]


def failing_first(table, max_rows: int | None):
    """The first `max_rows` rows, those whose status is not 'pass' first (a cap never hides a failure)."""
    if max_rows is None or len(table) <= max_rows:
        return table
    import pandas as pd

    ok = table["status"] == "pass"
    return pd.concat([table[~ok], table[ok]]).head(max_rows)
