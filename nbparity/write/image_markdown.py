"""summary.md of an image bundle: the terminal report's content, then every gate, metric and worst pixel."""

from __future__ import annotations


def _gates_md(gates) -> list[str]:
    out = ["", "## Gates", "", "| gate | value | limit | ok |", "|---|---|---|---|"]
    for g in gates:
        out.append(f"| {g['gate']} | {g['value']!r} | {g['op']} {g['limit']!r} | {'yes' if g['ok'] else '**NO**'} |")
    return out


def _metrics_md(m: dict) -> list[str]:
    h, pk, w = m["ulp_histogram"], m["peaks"], m["max_abs_diff_pixel"]
    return ["", "## Metrics", "", "| metric | value |", "|---|---|",
            f"| Pearson correlation | {m['corr']!r} |", f"| sum ratio torch/C | {m['sum_ratio']!r} |",
            f"| sum C / torch | {m['sum_c']!r} / {m['sum_torch']!r} |",
            f"| max abs Δ | {m['max_abs_diff']!r} at (slow {w['slow']}, fast {w['fast']}) |",
            f"| one float32 ulp of max C | {m['one_ulp_of_max']!r} |",
            f"| max rel Δ (C > {m['max_rel_floor']:.3g}) | {m['max_rel_diff']!r} |",
            f"| RMSE | {m['rmse']!r} |", f"| pixels outside tolerance | {m['outside_tolerance']} |",
            f"| pixels outside the ROI that differ | {m['outside_roi_mismatch']} |",
            f"| pixels not finite C / torch | {m['nonfinite_c']} / {m['nonfinite_torch']} |",
            "| ulp histogram 0 / 1 / 2–4 / 5–16 / >16 | "
            f"{h['0']} / {h['1']} / {h['2-4']} / {h['5-16']} / {h['>16']} |",
            f"| peaks C / torch / matched | {pk['n_c']} / {pk['n_torch']} / {pk['matched']} "
            f"(mean {pk['mean_distance_px']}, max {pk['max_distance_px']} px) |"]


def _worst_md(m: dict) -> list[str]:
    out = ["", "## Worst pixels", "", "| slow | fast | C | torch | abs Δ | ulps |", "|---|---|---|---|---|---|"]
    for w in m["worst_pixels"]:
        out.append(f"| {w['slow']} | {w['fast']} | {w['c']!r} | {w['torch']!r} | {w['abs_diff']!r} | {w['ulps']} |")
    return out


def summary_markdown(result) -> str:
    from nbparity.write.image_text import next_step, region_line, side_lines

    m = result.to_metrics()
    from nbparity.write.textfmt import summary_head

    out = summary_head("image", result, m, [*side_lines(m, width=10 ** 6), region_line(result)])
    if result.image is not None:
        out += _gates_md(result.image.gates) + _metrics_md(result.image.metrics) + _worst_md(result.image.metrics)
        out += ["", "![C, torch and torch − C](comparison.png)"]
    out += ["", next_step(result), "", "Re-run with `bash commands.txt` (it re-runs request.json).", ""]
    return "\n".join(out)
