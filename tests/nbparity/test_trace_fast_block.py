"""The block reader of the dominant line shapes (nbparity/trace/fast_block.py) gives exactly the frames,
warnings and aliases of the line-by-line reader (read_trace_log(fast=False), the reference): on every
shipped trace, the goldens, the bench's synthetic trace, and traces made to hit each rule it mirrors."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pandas as pd
import pytest

import nbparity.trace.columns as columns
import nbparity.trace.fast_block as fast_block
from nbparity.trace.trace_log import read_trace_log

REPO = Path(__file__).resolve().parents[2]
DATA = Path("/work/shared/data")


def _same(text, **kw) -> object:
    fast, slow = read_trace_log(text, fast=True, **kw), read_trace_log(text, fast=False, **kw)
    for name in ("values", "config", "other"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name), check_exact=True)
    assert fast.warnings == slow.warnings
    assert (fast.aliases, fast.occurrence_source, fast.n_lines, fast.truncated) == \
           (slow.aliases, slow.occurrence_source, slow.n_lines, slow.truncated)
    return fast


@pytest.fixture
def every_block(monkeypatch):
    """Blocks read over columns however few of their lines have the fast shapes; small chunks of records
    merged three at a time."""
    monkeypatch.setattr(fast_block, "_MIN_FAST_SHARE", 0.0)
    monkeypatch.setattr(fast_block, "_MAX_OTHER", 0)
    monkeypatch.setattr(columns, "_MERGE", 3)


def _shipped() -> list[Path]:
    files = sorted((REPO / "traces" / "golden").glob("*.log"))
    files += sorted((DATA / "legacy-traces" / "files").glob("*.log"))
    files += sorted((DATA / "conformance").glob("*/trace_*.log"))
    return files


@pytest.mark.parametrize("path", _shipped(), ids=lambda p: p.name[-60:])
def test_shipped_traces_read_the_same(path, every_block):
    _same(path.read_bytes())


def test_the_bench_trace_reads_the_same(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    from trace_reading import write_synthetic_trace

    write_synthetic_trace(tmp_path / "t.log", 300_000, phisteps=2)
    frames = _same((tmp_path / "t.log").read_bytes())
    assert len(frames.values) > 10_000 and frames.occurrence_source == "config"


def _block(s: int, f: int, rng: random.Random, fields: bool) -> list[str]:
    idx = f" layer=0 subS={s} subF={f}" if fields else ""
    return [f"TRACE_C: pix0_vector_meters 0.1 {rng.random()!r} -{rng.random():.6f}",
            f"TRACE_C: pixel_pos_meters 0.1 1e-3 {rng.uniform(-1, 1):.17g}",
            f"TRACE_C: hkl_frac {rng.random():g} 2.50 -.5",
            f"TRACE_C: F_latt {rng.random() * 1e5:.3e}",
            f"TRACE_C_PHI phi_tic=0 phi_deg=0 k={rng.random()!r} F_latt=1.0{idx}",
            f"TRACE_C_PHI phi_tic=1 phi_deg=0.5 k_frac={rng.random()!r} F_latt=2{idx}",
            "TRACE_C: F_cell 100"]


_ODD_LINES = [
    "TRACE_C: F_latt 1-2",                 # numbers-only characters, no number
    "TRACE_C: F_latt 1e999",               # a number float() takes as inf
    "TRACE_C: F_latt  2",                  # two spaces
    "TRACE_C: F_latt 2 ",                  # trailing space
    "TRACE_C: F_latt 2\r",                 # CRLF
    "TRACE_C: hkl_frac 1 2",               # arity
    "TRACE_C: I_before_scaling 5",         # block C key, repeated
    "TRACE_C: fluence 7",                  # an alias
    "TRACE_C:F_latt=3",                    # the other spelling
    "TRACE_C_PHI phi_deg=1 F_latt=3",      # no phi_tic
    "TRACE_C_PHI phi_tic=1.5 F_latt=3",    # not a whole number
    "TRACE_C_PHI phi_tic=0 phi_tic=1 F_latt=3",
    "TRACE_C_PHI φ_tic=0 F_latt=3",        # an alias of phi_tic
    "TRACE_C_PHI phi_tic=0 layer=0",       # no value field
    "TRACE_C_PHI phi_tic=0 F_latt=3 F_latt=4",
    "TRACE_C_PHI phi_tic=0 F_latt=<val>",
    "TRACE_PY: F_latt 9",                  # another implementation
    "TRACE_CONFIG: F_latt 9",
    "TRACE_C_CONFIG oversample=3",
    "WARNING: further warnings will not be printed! TRACE_C: F_latt 4",
    "some program output",
    "",
    "   ",
    "TRACE: V_cell = 210000",
    "DETECTOR_PIX0_VECTOR 0.1 0.0085 -0.0085",
    "TRACE_C_TAP5: F_latt 1",
]


@pytest.mark.parametrize("seed", range(6))
def test_odd_lines_among_the_blocks_read_the_same(seed, every_block):
    rng = random.Random(seed)
    fields = seed % 2 == 1
    out = [f"TRACE_C_CONFIG oversample={3 + seed} detector_thicksteps=1"] if seed < 4 else []
    for s in range(3 + seed):
        for f in range(3 + seed):
            lines = _block(s, f, rng, fields)
            if rng.random() < 0.6:
                lines.insert(rng.randrange(len(lines) + 1), rng.choice(_ODD_LINES))
            if rng.random() < 0.2:
                lines.insert(rng.randrange(len(lines) + 1), lines[rng.randrange(len(lines))])   # a repeat
            out += lines
    out += ["TRACE_C: I_before_scaling 1", "TRACE_C: I_pixel_final 2.5", "TRACE_C: I_pixel_final 2.5"]
    text = "\n".join(out) + "\n"
    frames = _same(text.encode())
    assert len(frames.values) > 100 and len(frames.warnings) > 3
    _same(text)   # text in: blocks of characters
    _same(text.encode() + b"TRACE_C: F_latt 1")   # a cut last record
    _same(text.encode(), phi_only=True)


def test_more_warnings_than_are_kept(every_block):
    text = "".join("TRACE_C: I_pixel_final 1\nTRACE_C: hkl_frac 1 2\n" for _ in range(300))
    frames = _same(text.encode())
    assert len(frames.warnings) == 202 and frames.warnings[200] == "… further warnings suppressed"


def test_a_trace_of_fast_lines_only_uses_the_block_reader(monkeypatch):
    """The equality above is not two runs of the same code: a block reader that misreads is seen."""
    text = "".join(f"TRACE_C: pix0_vector_meters 1 {k} 3\nTRACE_C_PHI phi_tic=0 F_latt={k}\n"
                   for k in range(2000)).encode()
    assert len(_same(text).values) == 8000
    floats = fast_block._floats
    monkeypatch.setattr(fast_block, "_floats", lambda strings: floats(strings) + 1)
    fast, slow = read_trace_log(text, fast=True), read_trace_log(text, fast=False)
    assert list(fast.values["value"][:4]) == [2.0, 1.0, 4.0, 1.0] and list(slow.values["value"][:4]) == [1, 0, 3, 0]


def test_numbers_made_of_decimal_characters_read_as_the_line_reader_reads_them(every_block):
    """Tokens of [0-9.eE+-] only, numbers or not (`1-2`, `.`, `1e`, `+-1`), and long or tiny ones."""
    rng = random.Random(7)
    alphabet = "0123456789.eE+-"
    toks = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    toks += ["2.4703282292062327e-324", "1e-400", "1e999", "-0", "0.1000000000000000055511151231257827"]
    lines = [f"TRACE_C: F_latt {t}" if k % 2 else f"TRACE_C_PHI phi_tic=0 F_latt={t}" for k, t in enumerate(toks)]
    frames = _same(("\n".join(lines) + "\n").encode())
    assert frames.values["value"].isna().sum() > 100 and (frames.values["value"] == 0).sum() > 10


def test_format_detection_counts_the_lines_the_line_start_patterns_count():
    """detect.py's patterns, written from the end-of-line before a line, count what `^…` under re.M counts."""
    import re

    from nbparity.trace import detect

    old = {"_VALUE_LINE": r"^\s*TRACE_(?!CONFIG)[A-Za-z0-9]+(?:_(?!PHI\b)[A-Za-z0-9_]+?)?[: ]\s*\S",
           "_PHI_LINE": r"^\s*TRACE_[A-Za-z0-9]+_PHI\s+\S+=",
           "_SETUP_LINE": r"^\s*(?:TRACE:[^\n=]*\S\s*=\s*\S|DETECTOR_[A-Z0-9_]+\s+\S)"}
    pieces = ["TRACE_C: k 1", "TRACE_C:", "  TRACE_C: x", "\n", "\n\n", " \t", "TRACE_C_PHI phi_tic=0 a=1",
              "TRACE_C_PHI a=<v>", "TRACE_CONFIG: a 1", "TRACE: a = 1", "DETECTOR_X 1", "TRACE_C_TAP5: x 1", "\r\n",
              "text", "TRACE_C_PHI", "=", " ", "\x0b"]
    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        for name, pattern in old.items():
            want = [m.start() for m in re.finditer(pattern, text, re.M)]
            assert [m.start() for m in getattr(detect, name).finditer("\n" + text)] == want, (name, text)
