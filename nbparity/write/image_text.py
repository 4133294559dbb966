"""The image report a person reads on a terminal: one screen (≤ 40 lines, ≤ 120 columns) with one headline
verdict, the case, both sides, the region measured, the failed gates, the key metrics, the bundle and the
next step. The bundle (summary.md, report.html) has every gate, metric and picture."""

from __future__ import annotations

from nbparity.verdict import Verdict
from nbparity.write.compare_text import STYLE
from nbparity.write.textfmt import WIDTH, cut as _cut, g as _g

MAX_GATES = 9




def _short(path: str, width: int) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1):]


def side_lines(m: dict, width: int = WIDTH) -> list[str]:
    """One line per side: the C binary (sha256, line), the simulator's settings or the port's command."""
    c = (m.get("identity") or {}).get("c") or {}
    c_text = f"C: {_short(str(c.get('binary', '?')), width - 45)}"
    if c.get("sha256"):
        c_text += f" (sha256 {c['sha256'][:12]}" + (f", line {c['line']})" if c.get("line") else ")")
    if m.get("port"):
        t_text = f"torch: port `{m['port']['command']}`"
    else:
        t_text = f"torch: simulator {m['device']} {m['dtype']}, quirks {m['quirk_mode']}"
    return [_cut(c_text, width), _cut(t_text, width)]


def region_line(result) -> str:
    """'measured: fast 2–17, slow 4–15 of a 24x24 frame (192 pixels); …' for reports."""
    m = result.image.metrics if result.image is not None else {}
    if result.plan is None:
        return "measured: nothing (the run failed before the images were read)"
    y0, y1, x0, x1 = result.plan.crop
    s, f = result.plan.shape
    text = f"measured: fast {x0}–{x1}, slow {y0}–{y1} of a {f}x{s} frame ({(y1 - y0 + 1) * (x1 - x0 + 1)} pixels)"
    if m.get("outside_roi_mismatch"):
        text += f"; {m['outside_roi_mismatch']} pixels outside it differ"
    return text


def metric_lines(metrics: dict) -> list[str]:
    """The key numbers: the largest difference, the ulp histogram, the peaks, the sums and correlation."""
    if not metrics:
        return []
    h, pk, w = metrics["ulp_histogram"], metrics["peaks"], metrics["max_abs_diff_pixel"]
    return [_cut(f"max |Δ| {_g(metrics['max_abs_diff'])} at (slow {w['slow']}, fast {w['fast']}); "
                 f"one float32 ulp of max C {_g(metrics['one_ulp_of_max'], 6)}; RMSE {_g(metrics['rmse'], 6)}; "
                 f"max rel Δ {_g(metrics['max_rel_diff'], 6)}"),
            _cut(f"ulps 0/1/2–4/5–16/>16: {h['0']}/{h['1']}/{h['2-4']}/{h['5-16']}/{h['>16']}; peaks C "
                 f"{pk['n_c']} torch {pk['n_torch']} matched {pk['matched']} (max {_g(pk['max_distance_px'], 3)} px)"),
            _cut(f"sum C {_g(metrics['sum_c'])} torch {_g(metrics['sum_torch'])} (ratio "
                 f"{_g(metrics['sum_ratio'], 15)}); corr {_g(metrics['corr'], 15)}; not finite C "
                 f"{metrics['nonfinite_c']} torch {metrics['nonfinite_torch']}")]


def gate_lines(result) -> list[str]:
    v = result.image
    if v is None:
        return []
    failed = v.failed_gates
    out = [f"gates: {len(v.gates)} checked, {len(failed)} failed"]
    for g in failed[:MAX_GATES]:
        out.append(_cut(f"  {g['gate']} = {_g(g['value'], 12)}  (limit {g['op']} {_g(g['limit'], 12)})"))
    return out


def next_step(result) -> str:
    v = result.judgement.verdict
    where = "report.html in the bundle"
    if v is Verdict.DIVERGENT and result.image is not None:
        w = result.image.metrics["max_abs_diff_pixel"]
        return (f"next: trace the worst pixel factor by factor: nbparity compare --pixel {w['slow']} {w['fast']} "
                f"(same case and sides); pictures: {where}")
    if v is Verdict.INCOMPLETE:
        return f"next: make both sides write a usable float image, or accept empty ones with --allow-empty; {where}"
    if v is Verdict.ERROR:
        return "next: fix the side that failed; its output is in the bundle (c_trace.log, py_trace.log, report.html)"
    return f"pictures and every metric: {where}"


def report_lines(result) -> list[tuple[str, str]]:
    """(line, style) pairs of the terminal report."""
    m = result.to_metrics()
    out = [(_cut(result.judgement.headline), STYLE[result.judgement.verdict])]
    if m.get("case"):
        out.append((_cut(f"case {m['case']['name']} — {m['case']['why']}"), ""))
    out += [(line, "") for line in side_lines(m)]
    if m.get("c_line"):
        out.append((_cut(m["c_line"]["text"]), ""))
    out.append((_cut(region_line(result)), ""))
    if m.get("note"):
        out.append((_cut(f"note: {m['note']}"), ""))
    out += [(_cut(f"WARNING: {w}"), "yellow") for w in result.warnings[:3]]
    out += [(line, "") for line in gate_lines(result)]
    out += [(line, "") for line in metric_lines(m.get("metrics") or {})]
    if result.error:
        out.append((_cut(f"error: {result.error}"), "red"))
    out.append((_cut(next_step(result)), ""))
    out.append((f"bundle: {result.bundle}", ""))
    return out


def render(result) -> None:
    from nbparity.console import make_console

    con = make_console()
    for line, style in report_lines(result):
        con.print(line, style=style or None, markup=False, highlight=False, soft_wrap=True)
