"""The probe report a person reads on a terminal: one headline, the case and sides, the probe's table
(at most MAX_ROWS rows), its findings and the bundle; at most 40 lines of at most 120 columns."""

from __future__ import annotations

from nbparity.write.compare_text import STYLE, sides_line
from nbparity.write.textfmt import cut as _cut

MAX_ROWS = 20
MAX_LINES = 40


def _cell(v) -> str:
    if isinstance(v, float):
        return "-" if v != v else f"{v:.12g}"   # NaN: not compared
    return str(v)


def table_lines(title: str, df) -> list[str]:
    """A fixed-width text table of `df` (numbers to 12 significant digits; the bundle has them in full)."""
    if df is None or not len(df):
        return [f"{title}: (none)"]
    cols = [str(c) for c in df.columns]
    cells = [[_cell(v) for v in row] for row in df.head(MAX_ROWS).itertuples(index=False)]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    out = [f"{title}:", "  " + "  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    out += ["  " + "  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    if len(df) > MAX_ROWS:
        out.append(f"  … {len(df) - MAX_ROWS} more rows in the bundle")
    return out


def report_lines(result) -> list[tuple[str, str]]:
    """(line, style) pairs of the terminal report."""
    m = result.to_metrics()
    out = [(result.headline, STYLE[result.judgement.verdict])]
    if m.get("case"):
        out.append((f"case {m['case']['name']} — {m['case']['why']}", ""))
    out.append((sides_line(m), ""))
    if m.get("c_line"):
        out.append((m["c_line"]["text"], ""))
    out += [(f"WARNING: {w}", "yellow") for w in result.warnings[:3]]
    if result.text_table is not None:
        out += [(line, "") for line in table_lines(*result.text_table)]
    out += [(f, "") for f in result.findings[:6]]
    if result.bundle:
        out.append((f"bundle: {result.bundle}", ""))
    keep = out[:MAX_LINES - 1] + ([out[-1]] if len(out) >= MAX_LINES else [])
    return [(_cut(line), style) for line, style in keep]


def render(result) -> None:
    from nbparity.console import make_console

    con = make_console()
    for line, style in report_lines(result):
        con.print(line, style=style or None, markup=False, highlight=False, soft_wrap=True)
