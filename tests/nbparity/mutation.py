"""Mutation test over the shared legacy-trace sample (issue 22 item 6): each file is diffed against a copy
in which ONE traced value is (a) rewritten in another notation of the same double, (b) multiplied by
1+1e-15, (c) multiplied by 1+1e-3. (a) and (b) must be parity, (c) a divergence naming that value.

The values are found without the readers (a value a reader misses must still be chosen): every number
token of every trace line (`TRACE…` but the `TRACE_CONFIG:` banner, `DETECTOR_*`), of the per-φ records of a
JSON file and of the rows of a per-φ table. Eligible: float tokens (a '.' or an exponent; integers are
indices, counts and flags), not a per-φ index field, and, for (c), non-zero and of its line's own scale
(|v| >= 1e-3 of the line's largest number: a 0.1 % change of a 1e-15 rounding residue beside 50 is not
a physical change). One value per file, chosen deterministically from the file name.

    python -m tests.nbparity.mutation      # prints the counts and the run time
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
LEGACY = DATA / "legacy-traces" / "files"

_TRACE = re.compile(r"^\s*(TRACE[A-Za-z0-9_]*[: ]|DETECTOR_\w+\s)")
_NUM = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_JSON_FIELD = re.compile(r'^\s*"(?P<name>[^"]+)"\s*:\s*(?P<num>[-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*,?\s*$')
_INDEX = {"phi_tic", "layer", "subS", "subF", "φ_tic", "subpixel", "source_index"}
_LINE_SCALE = 1e-3


@dataclass(frozen=True)
class Token:
    line: int      # 0-based line of the file
    start: int
    end: int
    text: str
    line_max: float   # the largest |number| of its line

    @property
    def value(self) -> float:
        return float(self.text)


def _is_float(text: str) -> bool:
    return "." in text or "e" in text.lower()


def _index_field(line: str, start: int) -> bool:
    """`phi_tic=3`, `"phi_tic": 3`, `subpixel=0 0`: an index, not a traced value."""
    before = line[:start].rstrip()
    m = re.search(r"([\w\u03c6]+)\"?\s*[:=]\s*(?:[-+\d.eE]+\s+)*$", before)
    return m is not None and m.group(1) in _INDEX


def _line_tokens(no: int, line: str, span: tuple[int, int] = (0, -1)) -> list[Token]:
    lo, hi = span[0], (len(line) if span[1] < 0 else span[1])
    found = [m for m in _NUM.finditer(line, lo, hi)]
    if not found:
        return []
    top = max(abs(float(m.group(0))) for m in found)
    return [Token(no, m.start(), m.end(), m.group(0), top) for m in found
            if _is_float(m.group(0)) and not _index_field(line, m.start())]


def _json_tokens(lines: list[str]) -> list[Token]:
    out, inside, record = [], False, []
    for no, line in enumerate(lines):
        if '"traces"' in line or '"per_phi_entries"' in line:
            inside = True
            continue
        if not inside:
            continue
        m = _JSON_FIELD.match(line)
        if m and m["name"] not in _INDEX and _is_float(m["num"]):
            record.append(Token(no, m.start("num"), m.end("num"), m["num"], 0.0))
        if line.strip().startswith("}"):
            top = max((abs(t.value) for t in record), default=0.0)
            out += [Token(t.line, t.start, t.end, t.text, top) for t in record]
            record = []
    return out


def _table_tokens(path: Path, lines: list[str]) -> list[Token]:
    from nbparity.trace import load_trace

    rows = sorted(set(int(n) for n in load_trace(path).values["line"]))
    out = []
    for no in rows:
        line = lines[no - 1]
        first = line.split()[0]   # the φ_tic column
        out += [t for t in _line_tokens(no - 1, line) if not (t.start == line.index(first) and t.text == first)]
    return out


def tokens(path: Path) -> list[Token]:
    """Every traced float token of a file, in file order."""
    from nbparity.trace import detect_format

    text = path.read_text(errors="replace")
    lines = text.split("\n")
    fmt, _ = detect_format(text)
    if fmt == "phi-json":
        return _json_tokens(lines)
    if fmt == "phi-table":
        return _table_tokens(path, lines)
    out = []
    for no, line in enumerate(lines):
        m = _TRACE.match(line)
        if m is None or line.lstrip().startswith("TRACE_CONFIG"):
            continue
        out += _line_tokens(no, line, (m.end(), -1))
    return out


def choose(path: Path, eligible: list[Token]) -> Token | None:
    if not eligible:
        return None
    h = int.from_bytes(hashlib.sha256(path.name.encode()).digest()[:8], "big")
    return eligible[h % len(eligible)]


def chosen(path: Path) -> tuple[Token | None, Token | None]:
    """(the value for (a)/(b), the value for (c)): deterministic per file."""
    toks = tokens(path)
    scaled = [t for t in toks if t.value != 0 and abs(t.value) >= _LINE_SCALE * t.line_max]
    return choose(path, toks), choose(path, scaled)


def other_notation(text: str) -> str:
    """The same double written another way: exponent <-> fixed point (exact decimal expansion)."""
    d = Decimal(repr(float(text)))
    if "e" in text.lower():
        return format(d, "f")
    out = format(d, "e")
    return out if float(out) == float(text) else format(d, ".20e")


def scaled(text: str, factor: float) -> str:
    return repr(float(text) * factor)


def mutate(path: Path, tok: Token, new: str) -> str:
    lines = path.read_text(errors="replace").split("\n")
    line = lines[tok.line]
    lines[tok.line] = line[:tok.start] + new + line[tok.end:]
    return "\n".join(lines)


@dataclass
class Outcome:
    file: str
    case: str
    token: str
    new: str
    exit_code: int
    ok: bool
    why: str = ""


def _diff(original, path: Path, text: str):
    """The diff function in-process: the original file (C side, parsed once) against the mutated copy."""
    from nbparity.compare import compare_traces
    from nbparity.trace import parse_trace

    return compare_traces(original, parse_trace(text, source=f"{path.name} (mutated)"), dtype="float64")


def _named(result, new: str) -> tuple[bool, str]:
    """(c): exactly one value fails, it is the mutated one, and the verdict names its key."""
    table = result.table
    fails = table[table["status"].isin(["FAIL", "divergent"])]
    if len(fails) != 1:
        return False, f"{len(fails)} failing values"
    row = fails.iloc[0]
    if new not in str(row["raw_py"]):
        return False, f"failing value {row['key']} {row['raw_py']!r} is not the mutated one"
    if row["key"] not in result.verdict:
        return False, f"verdict does not name {row['key']}: {result.verdict[:160]}"
    return True, str(row["key"])


def run_file(path: Path) -> list[Outcome]:
    from nbparity.trace import load_trace

    original = load_trace(path, "C")
    tok, tok_c = chosen(path)
    out = []
    if tok is not None:
        for case, new in (("a", other_notation(tok.text)), ("b", scaled(tok.text, 1 + 1e-15))):
            res = _diff(original, path, mutate(path, tok, new))
            out.append(Outcome(path.name, case, tok.text, new, res.exit_code, res.exit_code == 0,
                               "" if res.exit_code == 0 else res.verdict[:200]))
    if tok_c is not None:
        new = scaled(tok_c.text, 1 + 1e-3)
        res = _diff(original, path, mutate(path, tok_c, new))
        named, why = _named(res, new) if res.exit_code == 1 else (False, res.verdict[:200])
        out.append(Outcome(path.name, "c", tok_c.text, new, res.exit_code, res.exit_code == 1 and named, why))
    return out


def run_all() -> tuple[list[Outcome], float, float]:
    """(outcomes, CPU seconds of this process, wall seconds): the CPU time is the test's own cost, the wall
    time also counts whatever else the machine runs."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = []
    for path in sorted(LEGACY.iterdir()):
        out += run_file(path)
    return out, time.process_time() - c0, time.perf_counter() - t0


def main() -> int:
    outcomes, seconds, wall = run_all()
    for case in "abc":
        mine = [o for o in outcomes if o.case == case]
        print(f"({case}) {sum(o.ok for o in mine)}/{len(mine)}")
        for o in mine:
            if not o.ok:
                print(f"    {o.file}: {o.token} -> {o.new}: exit {o.exit_code} {o.why}")
    print(f"{len(outcomes)} diffs in {seconds:.1f} s CPU ({wall:.1f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
