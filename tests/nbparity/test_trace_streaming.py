"""A big traced pixel is read streaming, into compact columns (issue 25 item 1): the file-streaming path
gives the frames the in-memory path gives, the column-wise printed precision equals the per-token rules of
nbparity/trace/numbers.py, and reading costs at most ~20x the trace's size in memory."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd

import nbparity.trace as trace_pkg
from nbparity.trace import load_trace, parse_trace
from nbparity.trace.columns import from_rows
from nbparity.trace.numbers import FULL_DIGITS, fixed_point, half_unit, number, printed_digits, sig_digits
from nbparity.trace.precision import precision_columns

REPO = Path(__file__).resolve().parents[2]


def _trace(oversample: int, phisteps: int = 2) -> str:
    """A C-style trace: config echo, blocks A/B and per-φ lines per sub-pixel, block C."""
    out = ["nanoBragg nanocrystal diffraction simulator",
           f"TRACE_C_CONFIG oversample={oversample} detector_thicksteps=1 phisteps={phisteps}"]
    for s in range(oversample):
        for f in range(oversample):
            y, z = 0.0085 - (s + 0.5) * 5e-4 / oversample, -0.0085 + (f + 0.5) * 5e-4 / oversample
            out += ["TRACE_C: pix0_vector_meters 0.10000000000000001 0.0085000000000000006 -0.0085",
                    f"TRACE_C: pixel_pos_meters 0.1 {y!r} {z!r}", f"TRACE_C: R_distance_meters {0.1 + y * z!r}",
                    "TRACE_C: hkl_rounded 0 0 0", f"TRACE_C: F_latt {2.5 + s - f / 3:.6f}",
                    "TRACE_C: unit_cell_A = [50.00, 60.00, 70.00] Angstroms"]
            out += [f"TRACE_C_PHI phi_tic={t} phi_deg={t * 0.5} k_frac={0.29 + f * 1e-7!r} F_latt={s * 1.5e-3:g}"
                    for t in range(phisteps)]
    out += ["TRACE_C: I_pixel_final 134.69440463225615", "TRACE_C: floatimage_accumulated 134.69441"]
    return "\n".join(out) + "\n"


def _same(a, b) -> None:
    for name in ("values", "config", "other"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert (a.warnings, a.truncated, a.binary, a.n_lines, a.occurrence_source) == \
           (b.warnings, b.truncated, b.binary, b.n_lines, b.occurrence_source)


def test_file_streaming_reads_what_the_text_reader_reads(tmp_path, monkeypatch):
    text = _trace(5).encode() + b"TRACE_C: note caf\xe9\nTRACE_C: F_cell 10"   # bad UTF-8, a cut last record
    path = tmp_path / "c.log"
    path.write_bytes(text)
    monkeypatch.setattr(trace_pkg, "_SAMPLE", 1024)   # a small sample: the file-streaming path
    streamed = load_trace(path, "C")
    whole = parse_trace(text, source=str(path))
    _same(streamed, whole)
    assert streamed.truncated and streamed.warnings[0].startswith(f"invalid UTF-8 (first at byte {text.index(b'caf') + 3})")
    layer_s_f = streamed.values.query("key == 'pixel_pos_meters' and component == 1")[["layer", "subS", "subF"]]
    assert layer_s_f.drop_duplicates().shape[0] == 25 and layer_s_f["subS"].max() == 4
    assert streamed.n_lines == text.count(b"\n") + 1


def test_big_file_format_from_its_first_look_or_its_whole_sample(tmp_path, monkeypatch):
    """A big file whose first look shows per-pixel lines is a line log (said as counted there); one whose
    first look shows only per-φ lines is judged on the whole sample, so later per-pixel lines still count."""
    monkeypatch.setattr(trace_pkg, "_SAMPLE", 4096)
    monkeypatch.setattr(trace_pkg, "_FIRST_LOOK", 1024)
    pixel_first = tmp_path / "pixel_first.log"
    pixel_first.write_text(_trace(8))
    got = load_trace(pixel_first, "C")
    assert got.format == "trace-log" and got.format_reason.endswith(" in its first 0.0 MiB")
    first_look = trace_pkg._sample(pixel_first.read_bytes()[:4096])
    assert 900 < len(first_look) <= 1024 and first_look.endswith(b"\n")
    phi = "".join(f"TRACE_C_PHI phi_tic={t} phi_deg={t * 0.5} k_frac=0.25 F_latt=1.5\n" for t in range(40))
    phi_first = tmp_path / "phi_first.log"
    phi_first.write_text(phi + _trace(8))   # per-φ lines only in the first look, pixel lines within 4096
    assert len(phi.encode()) > 1024
    got = load_trace(phi_first, "C")
    assert got.format == "trace-log" and (got.values["section"] == "pixel").any()
    assert len(trace_pkg._sample(phi_first.read_bytes()[:4096])) > 3000


def _reference_precision(rows: list) -> list[tuple[int, float]]:
    """The per-row rules, token by token (what precision_columns computes over columns)."""
    keys, families, out = {}, {}, []
    for r in rows:
        keys.setdefault((r[0], r[1], r[2]), []).append(str(r[12]))
        fam = (r[0], r[1], r[2].startswith("DETECTOR_"))
        families[fam] = max(families.get(fam, 0), sig_digits(str(r[12])))
    proven = {}
    for k, toks in keys.items():
        if fixed_point(toks) is not None:
            proven.setdefault((k[0], k[1], k[2].startswith("DETECTOR_")), set()).add(fixed_point(toks))
    for r in rows:
        printed = number(str(r[12]).rsplit(":", 1)[-1].strip())
        if printed is None or printed != printed:
            out.append((FULL_DIGITS if printed is not None else 0, 0.0))
            continue
        fam = (r[0], r[1], r[2].startswith("DETECTOR_"))
        d = fixed_point(keys[(r[0], r[1], r[2])], frozenset(proven.get(fam, ())))
        n = families[fam]
        mode, n = ("fixed", d) if d is not None else ("general", n if n >= 6 else FULL_DIGITS)
        scale = abs(r[11] / printed) if printed != 0.0 and r[11] == r[11] else 1.0
        out.append((printed_digits(printed, mode, n), half_unit(printed, mode, n) * scale))
    return out


def test_column_precision_matches_the_per_token_rules():
    tokens = {"a": ["0.10", "0.25", "1.50"], "b": ["0.12", "0.5"], "g": ["0.33", "0.45"], "h": ["0.5", "1.0"], "c": ["1e-10", "-3.0690020e-01", "0"],
              "DETECTOR_X": ["0.100", "0.200"], "d": ["X:8.25e-06", "rotx:0.10", "inf", "-nan", "0x1p-3"],
              "e": ["-0", "123456789012345678", "1.5e300", "text", ""], "f": ["0.001", "100"]}
    rows = []
    for key, toks in tokens.items():
        for comp, tok in enumerate(toks):
            val = number(tok.rsplit(":", 1)[-1]) if number(tok.rsplit(":", 1)[-1]) is not None else math.nan
            factor = 1e-3 if key == "f" else 1.0
            rows.append(["C", "pixel", key, comp, 0, 0, 0, -1, 0, 0, "block", val * factor, tok, 1])
    digits, half = precision_columns(from_rows(rows))
    want = _reference_precision(rows)
    assert list(digits) == [w[0] for w in want]
    for got, (_, exp) in zip(half, want):
        assert got == exp or (math.isnan(got) and math.isnan(exp))
    by_key = dict(zip([r[12] for r in rows], zip(digits, half)))
    assert by_key["0.10"] == (2, 0.005) and by_key["0.33"] == (2, 0.005)   # %.2f, g proven by key a's zero
    assert by_key["0.12"][0] == 18 and by_key["100"][1] == 0.5 * 10.0 ** (2 - 18 + 1) * 1e-3   # %g, 18 digits


_CHILD = """
import json, resource, sys
import pandas
from nbparity.trace import load_trace, parse_trace
parse_trace(b"TRACE_C: pix0_vector_meters 1 2 3\\n")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
frames = load_trace(sys.argv[1], "C")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"added": after - before, "values": len(frames.values)}))
"""


def _read_in_a_fresh_process(path: Path) -> dict:
    p = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, cwd=REPO,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_reading_costs_at_most_twenty_times_the_trace(tmp_path):
    """The memory a read adds grows by at most 20 bytes per byte of trace (two sizes, so the fixed cost of
    the first block and the frame's construction is not counted as the trace's)."""
    got = {}
    for oversample in (40, 80):
        path = tmp_path / f"os{oversample}.log"
        path.write_text(_trace(oversample))
        got[oversample] = (path.stat().st_size, _read_in_a_fresh_process(path))
        assert got[oversample][1]["values"] > oversample * oversample * 10
    (small, a), (big, b) = got[40], got[80]
    per_byte = (b["added"] - a["added"]) / (big - small)
    assert per_byte <= 20, f"{per_byte:.1f} bytes of memory per byte of trace"
    assert b["added"] <= 20 * big, f"{b['added'] / big:.1f}x the trace's {big} bytes"


def test_distinct_blocks_in_one_pass_or_sorted():
    """The blocks of the block-indexed lines: counted up line by line (one pass) or in any order (sorted)."""
    import numpy as np

    from nbparity.trace.occurrences import _distinct

    for block in ([0, 0, 1, 1, 1, 4, 7, 7], [3, 1, 1, 0, 3, 2], [5], []):
        block = np.array(block, np.int64)
        blocks, where = _distinct(block)
        assert blocks.tolist() == sorted(set(block.tolist()))
        assert (blocks[where] == block).all() and len(where) == len(block)
