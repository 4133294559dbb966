"""summary.md of a compare bundle: the terminal report's content, then the tables, capped so the page
stays small (well under 1 MB) whatever the trace size; factors.csv and per_phi.csv hold every row."""

from __future__ import annotations

MAX_FACTOR_ROWS = 2000   # ~100-200 bytes a row
MAX_PHI_TEXT_ROWS = 200  # the fixed-width per-φ table: ~1 kB a row
MAX_PHI_ROWS = 500


def summary_markdown(result) -> str:
    from nbparity.session import describe_region
    from nbparity.write.compare_text import next_step, pixel_line, sides_line
    from nbparity.write.textfmt import summary_head

    m = result.to_metrics()
    out = summary_head("compare", result, m, [
        f"pixel: slow {result.slow}, fast {result.fast}; {describe_region(m.get('region'))}",
        sides_line(m), pixel_line(result)])
    att = result.attribution
    if att is not None and (att.messages or att.triggered):
        out += ["", "## Attribution to known C quirks", ""]
        out += [f"* {line}" for line in att.messages] or ["* no quirk explains the divergences"]
        if att.unexplained:
            out.append(f"* {att.unexplained} divergent value(s) remain unexplained with all triggered quirks "
                       f"({', '.join(att.triggered)}) emulated")
    if result.comparison is not None:
        from nbparity.write import report

        out += ["", report.to_markdown(result.comparison, max_rows=MAX_FACTOR_ROWS,
                                             max_phi_rows=MAX_PHI_TEXT_ROWS).strip()]
        out += _per_phi_md(result.comparison)
    if getattr(result, "proof", None) is not None:
        from nbparity.write.compare_prove import prove_markdown

        out += prove_markdown(result.proof)
    out += ["", next_step(result), ""]
    return "\n".join(out)


def _per_phi_md(comparison) -> list[str]:
    from nbparity.write.report import failing_first, left_out_line

    pp = comparison.per_phi
    if pp is None or not len(pp):
        return ["", "## Per-φ steps", "", "not compared: no per-φ lines on both sides"]
    cols = [c for c in ("occurrence", "phi_tic", "phi_deg_c", "h_frac_c", "k_frac_c", "l_frac_c", "F_latt_c",
                        "F_latt_py", "max_rel_delta", "status") if c in pp.columns]
    s = comparison.phi_summary or {}
    out = ["", "## Per-φ steps (source 0, mosaic 0)", "",
           f"{s.get('steps')} steps, {s.get('failing_steps')} failing; first divergent: {s.get('first_divergent')}",
           "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    shown = failing_first(pp, MAX_PHI_ROWS)
    for row in shown[cols].itertuples(index=False):
        out.append("| " + " | ".join(f"{v:.17g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return out + left_out_line(len(shown), len(pp), "per_phi.csv")
