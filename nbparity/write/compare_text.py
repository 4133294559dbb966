"""The compare report a person reads on a terminal: one screen (≤ 40 lines, ≤ 120 columns) with one
headline verdict, the case and both sides, the pixel's value, the root causes (largest first), the
failing rows, a per-φ summary and the next step. `--all` adds every row; the bundle has the full tables."""

from __future__ import annotations

from nbparity.write.textfmt import cut as _cut, g as _g

from nbparity.verdict import Verdict

MAX_ROOTS = 5
MAX_ROWS = 8
STYLE = {Verdict.IDENTICAL: "bold green", Verdict.WITHIN_TOLERANCE: "bold green", Verdict.EXPLAINED: "bold yellow",
         Verdict.DIVERGENT: "bold red", Verdict.INCOMPLETE: "bold red", Verdict.ERROR: "bold red"}




def sides_line(m: dict) -> str:
    ident = m.get("identity") or {}
    c = ident.get("c") or {}
    c_text = (f"C built from {_short_path(c['built_from'])}" if c.get("built_from")
              else f"C {_short_path(c.get('binary', '?'))}")
    if c.get("sha256"):
        c_text += f" (sha256 {c['sha256'][:12]}"
        c_text += f", line {c['line']})" if c.get("line") else ")"
    if m.get("port"):
        t_text = f"port `{m['port']['command']}`"
    else:
        t_text = f"simulator {m['device']} {m['dtype']}, quirks {m['quirk_mode']}"
    return f"sides: {c_text}; {t_text}"


def _short_path(path: str) -> str:
    """A path relative to the working folder where that is shorter."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if len(rel) < len(path) else path


def pixel_line(result) -> str:
    from nbparity.flows.compare_judge import relative_gap

    pv = result.pixel_values or {}
    c, t = pv.get("c_float"), pv.get("torch_float")
    gap = relative_gap(c, t)
    tail = "" if gap is None or gap == 0 else f"  (torch/C − 1 = {gap:+.3g})"
    return f"pixel ({result.slow}, {result.fast}) value: C {c!r}, torch {t!r}{tail}"


def _root_rows(comparison) -> list[str]:
    roots = sorted(comparison.root_causes, key=lambda r: -_mag(r.get("rel")))
    out = [f"root causes ({len(roots)}, largest relative difference first):"] if roots else []
    for r in roots[:MAX_ROOTS]:
        occ = "config" if r.get("section") == "config" else f"({r['layer']},{r['subS']},{r['subF']})"
        if r.get("phi_tic") is not None and int(r.get("phi_tic", -1)) >= 0:
            occ += f" φ{int(r['phi_tic'])}"
        down = len(r.get("downstream_nodes") or [])
        out.append(_cut(f"  {r['node']}[{r['component']}] {occ}: C {_g(r.get('c'))} torch {_g(r.get('py'))} "
                        f"rel {_g(r.get('rel'), 3)}; {down} keys downstream"))
    if len(roots) > MAX_ROOTS:
        out.append(f"  … {len(roots) - MAX_ROOTS} more in the bundle (summary.md)")
    for h in comparison.hints[:3]:
        if h["factor"] == "float32":   # the ratio is 1 to many digits: the meaning says it all
            out.append(_cut(f"  hint: {h['node']}: {h['meaning']}"))
            continue
        out.append(_cut(f"  hint: {h['node']} torch/C = {_g(h['ratio'], 6)} ≈ {h['factor']}: {h['meaning']}"))
    return out


def _mag(x) -> float:
    try:
        v = abs(float(x))
    except (TypeError, ValueError):
        return 0.0
    return v if v == v else float("inf")


def _failing_rows(comparison, show_all: bool) -> list[str]:
    import pandas as pd

    t = pd.concat([comparison.config_table, comparison.table], ignore_index=True)
    fails = t if show_all else t[t["status"] == "FAIL"]
    if fails.empty:
        return []
    limit = len(fails) if show_all else MAX_ROWS
    title = "rows" if show_all else f"failing rows ({min(limit, len(fails))} of {len(fails)})"
    out = [f"{title}:  key[comp] occurrence  C  torch  rel  ulps  digits  rtol needed"]
    for r in fails.head(limit).to_dict("records"):
        occ = "config" if r["section"] == "config" else f"({r['layer']},{r['subS']},{r['subF']})"
        if r.get("phi_tic") is not None and int(r["phi_tic"]) >= 0:
            occ += f" φ{int(r['phi_tic'])}"
        out.append(_cut(f"  {r['key']}[{r['component']}] {occ}  {_g(r['c'], 12)}  {_g(r['py'], 12)}  "
                        f"{_g(r['rel'], 3)}  {_closeness(r)}  {r['status']}"))
    return out


def _closeness(r: dict) -> str:
    """'ulps 12 · 15.2 digits · needs 3.1e-15' (nbparity.agreement), '-' where nothing was measured."""
    ulps, digits, need = r.get("ulps"), r.get("digits"), r.get("rtol_needed")
    if ulps is None or ulps != ulps:
        return "-"
    text = f"{_g(ulps, 3)} ulp {_g(digits, 3)} dig"
    return text + ("" if need is None or need != need else f" need {_g(need, 2)}")


def _phi_line(comparison) -> list[str]:
    s = comparison.phi_summary or {}
    if not s.get("steps"):
        return ["per-φ: not compared (no per-φ lines on both sides)"]
    fd = s.get("first_divergent")
    where = (f"first divergent step {fd['phi_tic']} at ({fd['occurrence']}): {fd['fields']}"
             if isinstance(fd, dict) else "no step diverges")
    return [_cut(f"per-φ: {s['steps']} steps compared, {s.get('failing_steps', 0)} failing; {where}")]


def next_step(result) -> str:
    v = result.judgement.verdict
    where = "report.html in the bundle below" if result.bundle else "the bundle"
    if v is Verdict.EXPLAINED:
        return f"next: emulate the C quirks with --quirks c to check the rest agrees bit for bit; details: {where}"
    if v is Verdict.DIVERGENT:
        if result.request.torch.quirks.startswith("spec") and not result.request.torch.external:
            return f"next: fix the first root cause above; the tables: {where}"
        return f"next: fix the first root cause above (or see if --quirks spec names a C quirk); tables: {where}"
    if v is Verdict.INCOMPLETE:
        return f"next: make both sides print what is missing (see the reason above); details: {where}"
    return f"full tables: {where}"


def report_lines(result, show_all: bool = False) -> list[tuple[str, str]]:
    """(line, style) pairs of the terminal report."""
    m = result.to_metrics()
    out = [(_cut(result.judgement.headline), STYLE[result.judgement.verdict])]
    out.append((_cut(f"case {m['case']['name']} — {m['case']['why']}"), ""))
    out.append((_cut(sides_line(m)), ""))
    if m.get("c_line"):
        out.append((_cut(m["c_line"]["text"]), ""))
    out.append((pixel_line(result), ""))
    for w in result.warnings[:3]:
        out.append((_cut(f"WARNING: {w}"), "yellow"))
    c = result.comparison
    if c is not None:
        out.append((_cut(_scope(c)), ""))
        if c.config_diffs:
            from nbparity.config_objects import describe

            out.append((_cut(f"configuration differs: {describe(c.config_diffs)}"), "red"))
        out += [(line, "") for line in _root_rows(c)]
        out += [(line, "") for line in _failing_rows(c, show_all)]
        out += [(line, "") for line in _phi_line(c)]
    att = result.attribution
    if att is not None:
        out += [(_cut(f"attributed: {line}"), "yellow") for line in att.messages[:4]]
        if att.unexplained:
            out.append((_cut(f"unexplained: {att.unexplained} divergent values with "
                             f"{', '.join(att.triggered) or 'no'} quirk(s) emulated"), "red"))
    if getattr(result, "proof", None) is not None:
        from nbparity.write.compare_prove import prove_lines

        out += [(line, "cyan") for line in prove_lines(result.proof)]
    if result.error:
        out.append((_cut(f"error: {result.error}"), "red"))
    out.append((_cut(next_step(result)), ""))
    out.append((f"bundle: {_short_path(str(result.bundle)) if result.bundle else None}", ""))
    return out


def _scope(c) -> str:
    k = c.counts
    text = (f"compared: {k['compared']} traced values, {k['config_compared']} configuration values; "
            f"{k['failed'] + k['config_failed']} outside tolerance; "
            f"{k['one_sided'] + k['config_one_sided']} one-sided")
    nc = getattr(c, "not_compared", None) or {}
    if nc:
        text += "; not compared: " + ", ".join(f"{s} ({why})" for s, why in nc.items())
    return text


def render(result, show_all: bool = False) -> None:
    from nbparity.console import make_console

    con = make_console()
    for line, style in report_lines(result, show_all):
        con.print(line, style=style or None, markup=False, highlight=False, soft_wrap=True)
