"""summary.md stays small whatever the trace size (issue 25): its tables are capped, failing rows first,
with a line saying how many rows were left out; factors.csv and per_phi.csv keep every row."""

from __future__ import annotations

import csv
import os
import re

from nbparity.compare import compare_traces
from nbparity.traces import parse_trace
from nbparity.write import compare_markdown, report

LEFT_OUT = re.compile(r"\*(\d+) of (\d+) rows left out .*; (\S+) in this bundle holds all of them\.\*")


def _trace(prefix: str, oversample: int, shift: float = 0.0) -> str:
    """A trace with oversample² sub-pixel blocks and two φ steps each; `shift` changes F_latt (a divergence
    at every sub-pixel)."""
    out = [f"{prefix}_CONFIG oversample={oversample} detector_thicksteps=1 phisteps=2"]
    for s in range(oversample):
        for f in range(oversample):
            out += [f"{prefix}: pixel_pos_meters 0.1 {0.0085 - s * 1e-5!r} {-0.0085 + f * 1e-5!r}",
                    f"{prefix}: R_distance_meters {0.1 + s * f * 1e-9!r}", f"{prefix}: hkl_rounded 0 0 0",
                    f"{prefix}: F_latt {2.5 + s - f / 3 + shift:.6f}"]
            out += [f"{prefix}_PHI phi_tic={t} phi_deg={t * 0.5} k_frac={0.29 + f * 1e-7!r} F_latt={s * 1.5e-3:g}"
                    for t in range(2)]
    out += [f"{prefix}: I_pixel_final 134.69440463225615"]
    return "\n".join(out) + "\n"


def _large_comparison(oversample: int = 60):
    return compare_traces(parse_trace(_trace("TRACE_C", oversample), "c"),
                          parse_trace(_trace("TRACE_PY", oversample, shift=0.5), "py"))


def test_a_large_comparison_makes_a_small_summary():
    cmp = _large_comparison()
    assert len(cmp.table) > 10 * compare_markdown.MAX_FACTOR_ROWS   # 3600 sub-pixels: ~29 000 values
    md = report.to_markdown(cmp, max_rows=compare_markdown.MAX_FACTOR_ROWS,
                            max_phi_rows=compare_markdown.MAX_PHI_TEXT_ROWS)
    md += "\n".join(compare_markdown._per_phi_md(cmp))
    assert len(md.encode()) < 1_000_000
    notes = LEFT_OUT.findall(md)
    assert [n[2] for n in notes] == ["factors.csv", "per_phi.csv", "per_phi.csv"]
    total = len(cmp.table) + int((cmp.config_table["status"] != "pass").sum())
    assert (int(notes[0][0]), int(notes[0][1])) == (total - compare_markdown.MAX_FACTOR_ROWS, total)
    assert int(notes[1][1]) == len(cmp.per_phi)
    factor_rows = [ln for ln in md.split("## Factors", 1)[1].split("## Per-φ", 1)[0].splitlines()
                   if ln.startswith("| ") and not ln.startswith("| key")]
    assert len(factor_rows) == compare_markdown.MAX_FACTOR_ROWS
    n_fail = int((cmp.table["status"] == "FAIL").sum())
    assert 0 < n_fail and sum("**FAIL**" in r for r in factor_rows) == min(n_fail, len(factor_rows))
    assert "rows by section: " in md and f"pixel {int((cmp.table['section'] == 'pixel').sum())}" in md
    assert "… and " in md, "the root cause's 3600 occurrences are listed in part"


def test_a_small_comparison_is_shown_whole():
    cmp = _large_comparison(oversample=2)
    md = report.to_markdown(cmp, max_rows=compare_markdown.MAX_FACTOR_ROWS,
                            max_phi_rows=compare_markdown.MAX_PHI_TEXT_ROWS)
    assert not LEFT_OUT.search(md) and "left out" not in md


def test_the_bundle_summary_is_capped_and_factors_csv_is_whole(tmp_path, monkeypatch, capsys):
    """A real compare (oversample 6: 36 sub-pixels) with small caps: summary.md shows the cap, factors.csv
    every value, report.html says how many rows the CSV has beyond those it shows."""
    import json

    from nbparity.bundle import verify_bundle
    from nbparity.cli import main
    from nbparity.write import htmlreport

    monkeypatch.setattr(compare_markdown, "MAX_FACTOR_ROWS", 40)
    monkeypatch.setattr(compare_markdown, "MAX_PHI_ROWS", 5)
    monkeypatch.setattr(htmlreport, "MAX_ROWS", 30)
    monkeypatch.setitem(os.environ, "NBPARITY_TEST_PERTURB", "default_F:1.01")
    args = ("-cell 50 60 70 90 90 90 -distance 100 -pixel 0.5 -nonoise -nopgm -lambda 1 -N 4 -detpixels 8 "
            "-default_F 100 -oversample 6")
    rc = main(["compare", "--pixel", "4", "4", "--quirks", "c", "--no-attribution", "--json", "--args", args,
               "--out", str(tmp_path)])
    doc = json.loads(capsys.readouterr().out)
    bundle = tmp_path / os.path.basename(doc["bundle"])
    assert rc == 1 and verify_bundle(bundle).ok
    with open(bundle / "factors.csv", newline="") as fh:
        n_values = sum(1 for _ in csv.DictReader(fh))
    summary = (bundle / "summary.md").read_text()
    notes = LEFT_OUT.findall(summary)
    assert notes[0][2] == "factors.csv" and int(notes[0][0]) + 40 == int(notes[0][1]) >= n_values > 40
    assert notes[-1][2] == "per_phi.csv" and int(notes[-1][0]) + 5 == int(notes[-1][1])
    html = (bundle / "report.html").read_text()
    assert f"{n_values - 30} more rows in the CSV file." in html
