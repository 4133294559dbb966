"""What --prove adds to a compare report: the ranked causes on the terminal and in summary.md, and one
log per re-run in the bundle (its command, what was injected, its verdict and its trace)."""

from __future__ import annotations

import json

from nbparity.write.csv_table import csv_text
from nbparity.write.textfmt import cut, g

MAX_CAUSES = 6


def _effect(v) -> str:
    if v.moved is None:
        return ""
    alone = "" if v.how == "all" else " alone"
    return f"[{100 * v.moved:.6g}% of the pixel's gap closed{alone}]"


def _line(v) -> str:
    """The verdict with its effect right after the cause's name (the part a cut line keeps)."""
    eff = _effect(v)
    return v.message.replace(f"{v.label}:", f"{v.label} {eff}:", 1) if eff else v.message


def prove_lines(proof) -> list[str]:
    """The terminal lines: the headline, then each cause by rank, then all causes together."""
    out = [cut(proof.headline),
           f"prove: {len(proof.runs)} re-run(s) in {proof.seconds:.1f} s; causes by effect on the pixel:"]
    for i, v in enumerate(proof.causes[:MAX_CAUSES], 1):
        out.append(cut(f"  {i}. {_line(v)}"))
    if len(proof.causes) > MAX_CAUSES:
        out.append(f"  … {len(proof.causes) - MAX_CAUSES} more in the bundle (summary.md)")
    if proof.together is not None:
        out.append(cut(f"  {_line(proof.together)}"))
    s = proof.to_dict().get("error_split")
    if s:
        text = (f"  error split (every injectable cause given): {s['values']} divergent values, "
                f"{s['injected']} injected, {s['wholly_inherited']} wholly inherited, "
                f"{s['with_own_part']} with an own part")
        if s["largest_own"]:
            w = s["largest_own"]
            text += f" (largest: {w['key']}[{w['component']}] own {g(w['own'], 3)} of {g(w['error'], 3)})"
        if s["not_measured"]:
            text += f", {s['not_measured']} not measured"
        out.append(cut(text))
    return out


def prove_markdown(proof) -> list[str]:
    out = ["", "## Proof (--prove)", "", proof.headline, "",
           "| rank | cause | verdict (what was given) | pixel after (fixed alone) | gap closed |",
           "|---|---|---|---|---|"]
    for i, v in enumerate(proof.causes, 1):
        moved = "" if v.moved is None else f"{100 * v.moved:.3g}%"
        given = f"`{v.injected}`" if v.injected else "-"
        out.append(f"| {i} | {v.label} | {v.message}; given: {given} | {g(v.pixel_after, 17)} | {moved} |")
    if proof.together is not None:
        out += ["", proof.together.message]
    return out


def prove_files(proof) -> dict:
    """{name: text}: one log per re-run."""
    files = {}
    for i, r in enumerate(proof.runs, 1):
        head = [f"# prove re-run {i}: {r.label}", f"# injected options: {' '.join(r.tokens) or '(none)'}",
                f"# command: {' '.join(str(t) for t in r.command)}",
                f"# verdict: {r.error or (r.comparison.verdict if r.comparison is not None else '-')}"]
        if r.payloads:
            head.append("# NBPARITY_INJECT file: " + json.dumps(r.payloads))
        files[f"py_trace_prove{i}.log"] = "\n".join(head) + "\n" + (r.trace_text or "")
    if proof.split is not None:
        files["prove_split.csv"] = csv_text(proof.split)
    return files
