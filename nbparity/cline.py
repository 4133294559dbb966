"""Which upstream C line (spec §12) a C binary follows, from what it prints.

R2 (the instrumented golden copy) always prints `TRACE_C:key=value` geometry lines and free-text
`TRACE:` lines during setup; R1 and our c_reference never do (c_reference prints `TRACE_C: key value`
and `TRACE_C_CONFIG …`). Output without either marker is R1 ("our c_reference is R1 unless told
otherwise").

Why a probe: the line decides how some argvs parse (quirk C-ARGV-001), and compare runs the torch side
while the C side runs, so where the user's argv parses differently under the two lines the line must be
known before either side starts. `probe_line` runs the binary once on a tiny frame (cached per binary
path, size and mtime). Where the argv parses the same under both lines the line cannot change a number,
and the harness reads it from the run's own stdout instead; the placement of harness tokens is verified
under both lines either way, so it holds whichever line the binary is.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbparity import tempdirs

R2_KEY_VALUE = re.compile(r"^TRACE_C:[A-Za-z_][A-Za-z0-9_]*=", re.M)
R2_FREE_TEXT = re.compile(r"^TRACE: ", re.M)
PROBE_ARGV = ["-cell", "10", "10", "10", "90", "90", "90", "-default_F", "1", "-detpixels", "2",
              "-misset", "0", "0", "0", "-nonoise", "-nopgm", "-floatfile", "probe.bin", "-intfile",
              "probe.img"]
_cache: dict = {}


def detect_line(stdout: str) -> str:
    """'R2' when the text carries R2's markers (TRACE_C:key=value or free-text TRACE: lines), else 'R1'."""
    text = stdout or ""
    return "R2" if R2_KEY_VALUE.search(text) or R2_FREE_TEXT.search(text) else "R1"


def markers(stdout: str) -> list[str]:
    """The first lines that made detect_line say R2 (for the report), at most two."""
    out = [m.group(0).splitlines()[0] for rx in (R2_KEY_VALUE, R2_FREE_TEXT)
           for m in [rx.search(stdout or "")] if m]
    return out[:2]


def probe_line(binary, timeout: float = 60) -> str:
    """The line of `binary`, from one tiny run (cached). A probe that fails says R1 (the default)."""
    from nbparity.errors import RunnerError
    from nbparity.runners import run_c

    p = Path(binary).resolve()
    try:
        st = p.stat()
        key = (str(p), st.st_size, st.st_mtime_ns)
    except OSError:
        return "R1"
    if key not in _cache:
        with tempdirs.folder("probe") as wd:
            try:
                _cache[key] = detect_line(run_c(p, PROBE_ARGV, wd, timeout=timeout).stdout)
            except RunnerError as exc:
                run = getattr(exc, "run", None)
                _cache[key] = detect_line(run.stdout) if run is not None else "R1"
    return _cache[key]


def torch_mode(mode: str, line: str) -> str:
    """The torch-side quirk mode that emulates the C line: in a c-based mode that does not name
    C-ARGV-001 itself, R2 turns it off (R1 keeps it on). Spec mode and explicit toggles are kept."""
    parts = [p.strip() for p in mode.split(",")]
    if parts[0].lower() != "c" or any(p[1:].strip() == "C-ARGV-001" for p in parts[1:]):
        return mode
    return mode + ",-C-ARGV-001" if line == "R2" else mode


def line_of_mode(mode: str) -> str:
    """The line a quirk mode's option matching follows."""
    from simulator.quirks import resolve

    return "R1" if "C-ARGV-001" in resolve(mode) else "R2"


def report_line(line: str, source: str, stdout: str = "") -> dict:
    """The JSON block compare, image and cases report: {'line', 'source', 'markers', 'text'}."""
    what = ("R2 (instrumented golden copy: exact -misset, no -dump)" if line == "R2"
            else "R1 (bl831 / c_reference: substring -misset, -dump)")
    return {"line": line, "source": source, "markers": markers(stdout) if line == "R2" else [],
            "text": f"C side is {what}, from {source}"}

