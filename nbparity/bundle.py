"""Evidence bundles: write atomically (temp sibling + rename, never overwrite), verify, load.

Layout: reports/<YYYYmmddTHHMMSSZ>_<case>_<slow>-<fast>/ with metrics.json, summary.md, commands.txt,
env.json, c_trace.log, py_trace.log, factors.csv, per_phi.csv and sha256.txt (written last, in
`sha256sum -c` format over every other file).

`verify_bundle` fails closed: intact only when the manifest is non-empty and lists every file the
bundle's kind requires (nbparity/bundle_kinds.py), every listed file is a regular file inside the bundle
(no symlink on the way), metrics.json is readable (nbparity/safejson.py) and the folder is not a
writer's temporary one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbparity import tempdirs
from nbparity.errors import UsageError

MANIFEST = "sha256.txt"
REQUIRED = ("metrics.json", "summary.md", "commands.txt", "env.json", "c_trace.log", "py_trace.log",
            "factors.csv", "per_phi.csv")


def bundle_name(case: str, slow: int, fast: int, when: float | None = None) -> str:
    from nbparity.cases import safe_name

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when if when is not None else time.time()))
    return f"{stamp}_{safe_name(case)}_{int(slow)}-{int(fast)}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Streamed:
    """A bundle file written piece by piece, so a table of millions of rows is never one string in memory:
    `write(binary file)` writes it; `preview` (its first lines) and `rows` (how many data rows it has)
    are what report.html shows of it."""

    def __init__(self, write, preview: str = "", rows: int = 0):
        self.write, self.preview, self.rows = write, preview, rows


def write_bundle(reports_dir, name: str, files: dict) -> Path:
    """Write `files` (name -> str | bytes | Streamed) plus sha256.txt into reports_dir/name (or name-2, name-3, …
    on collision). Nothing is visible under the final name until the bundle is complete."""
    root = Path(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    # named after this process: a later command removes it if a SIGKILL stops this one (tempdirs.sweep)
    tmp = root / f".{name}.tmp-{tempdirs.owner_tag()}-{time.monotonic_ns()}"
    tmp.mkdir()
    try:
        for fname in sorted(files):
            data = files[fname]
            if isinstance(data, Streamed):
                with open(tmp / fname, "wb") as fh:
                    data.write(fh)
            else:
                (tmp / fname).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        lines = [f"{_sha256(tmp / f)}  {f}\n" for f in sorted(files)]
        (tmp / MANIFEST).write_text("".join(lines))
        n = 1
        while True:
            final = root / (name if n == 1 else f"{name}-{n}")
            try:
                # rename onto an existing non-empty directory fails atomically: concurrent runs that
                # started in the same second each get their own suffix
                if final.exists():
                    raise FileExistsError(errno.EEXIST, "exists")
                os.rename(tmp, final)
                return final
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                n += 1
    except OSError as exc:   # a full disk, a folder made read-only meanwhile: the output is not usable
        shutil.rmtree(tmp, ignore_errors=True)
        raise UsageError(f"cannot write the bundle in {root}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class Verification:
    path: Path
    changed: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    problems: list = field(default_factory=list)   # one line each: why the bundle cannot be trusted
    kind: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra or self.problems)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        """One line per reason (a control character in a file name is escaped, never a line break)."""
        if self.ok:
            return [_printable(f"bundle intact: {self.path}")]
        return [_printable(ln) for ln in (list(self.problems) + [f"changed: {f}" for f in self.changed]
                                          + [f"missing: {f}" for f in self.missing]
                                          + [f"extra: {f}" for f in self.extra])]

    def reason(self) -> str:
        """All the failure lines as one line (for a ledger cell)."""
        return "; ".join(self.lines()) if not self.ok else ""

    def to_dict(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "kind": self.kind, "problems": self.problems,
                "changed": self.changed, "missing": self.missing, "extra": self.extra,
                "exit_code": self.exit_code}


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


MAX_MANIFEST_BYTES = 4 * 1024 * 1024
_TEMP_NAME = re.compile(r"^\..*\.tmp-\d+(\.\d+\.\d+)?-\d+$")   # (older writers: no start, namespace)


def _read_manifest(d: Path) -> dict:
    m = d / MANIFEST
    if not d.is_dir() or not m.is_file():
        raise UsageError(f"{d} is not a bundle (no {MANIFEST})")
    if m.stat().st_size > MAX_MANIFEST_BYTES:
        raise UsageError(f"{d} is not a bundle ({MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes)")
    entries = {}
    for ln in m.read_text(errors="replace").splitlines():
        if not ln.strip():
            continue
        digest, sep, fname = ln.partition("  ")
        if not sep or len(digest) != 64:
            raise UsageError(f"{d} is not a bundle (malformed {MANIFEST} line: {ln[:60]!r})")
        fname = fname.lstrip("*")
        # a manifest may only name files inside the bundle: never hash (and so trust) anything else
        if not fname or Path(fname).is_absolute() or ".." in Path(fname).parts:
            raise UsageError(f"{d} is not a valid bundle ({MANIFEST} names a path outside it: {fname[:60]!r})")
        if entries.get(fname, digest) != digest:
            raise UsageError(f"{d} is not a valid bundle ({MANIFEST} names {fname[:60]!r} twice)")
        entries[fname] = digest
    return entries


def _folder_problem(d: Path) -> str | None:
    """Why `d` is the temporary or partial folder of a bundle writer, or None."""
    for name in {Path(os.path.abspath(d)).name, d.resolve().name}:
        if _TEMP_NAME.match(name):
            return f"temporary folder of an unfinished bundle write ({name}): the writer died before the rename"
        if name.startswith("."):
            return f"hidden folder ({name}): not a finished bundle (writers rename into a visible name)"
    return None


def _entry_problem(d: Path, fname: str) -> str | None:
    """Why the manifest entry `fname` is not a regular file inside the bundle (None when it is, or
    when it does not exist: that is reported as missing)."""
    p = d
    for part in Path(fname).parts:
        p = p / part
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"{fname}: cannot be read ({exc.strerror})"
        if stat.S_ISLNK(st.st_mode):
            return (f"{fname}: reached through a symlink ({p.relative_to(d)} -> {os.readlink(p)[:80]}); "
                    f"a bundle holds regular files only")
    if not stat.S_ISREG(st.st_mode):
        return f"{fname}: not a regular file"
    return None


def _present(d: Path) -> set:
    """Every non-directory entry under d (symlinks included, never followed), relative names."""
    out = set()
    for top, dirs, files in os.walk(d, followlinks=False):
        rel = Path(top).relative_to(d)
        out |= {str(rel / f) for f in files}
        out |= {str(rel / x) for x in dirs if os.path.islink(os.path.join(top, x))}
    return out


def _kind_problems(d: Path, entries: dict, v: Verification) -> None:
    """metrics.json readable, the kind known, and every file the kind requires in the manifest."""
    from nbparity.bundle_kinds import kind_of, missing_required
    from nbparity.safejson import JSONRefused, load_object

    metrics: dict = {}
    if "metrics.json" in entries and not _entry_problem(d, "metrics.json") and (d / "metrics.json").is_file():
        try:
            metrics = load_object(d / "metrics.json")
        except JSONRefused as exc:
            v.problems.append(f"metrics.json unreadable: {exc}")
            return
    v.kind, how = kind_of(metrics, entries)
    if v.kind is None:
        v.problems.append(f"kind unknown: {how}")
        return
    for name in missing_required(v.kind, metrics, entries):
        v.problems.append(f"required file not in {MANIFEST} ({v.kind} bundle): {name}")


def verify_bundle(path) -> Verification:
    """Re-hash every file and check the bundle is complete for its kind: changed, missing and extra
    files plus one-line problems (empty manifest, required file unlisted, symlink, temporary folder,
    unreadable metrics.json). UsageError when `path` is not a bundle at all."""
    d = Path(path)
    entries = _read_manifest(d)
    v = Verification(d)
    problem = _folder_problem(d)
    if problem:
        v.problems.append(problem)
    if (d / MANIFEST).is_symlink():
        v.problems.append(f"{MANIFEST} is a symlink; a bundle holds regular files only")
    if not entries:
        v.problems.append(f"{MANIFEST} lists no files")
    for fname, digest in sorted(entries.items()):
        bad = _entry_problem(d, fname)
        if bad:
            v.problems.append(bad)
        elif not (d / fname).is_file():
            v.missing.append(fname)
        elif _sha256(d / fname) != digest:
            v.changed.append(fname)
    v.extra = sorted(_present(d) - set(entries) - {MANIFEST})
    if entries:
        _kind_problems(d, entries, v)
    return v


@dataclass
class Bundle:
    path: Path
    metrics: dict
    factors: object  # pandas DataFrame
    per_phi: object  # pandas DataFrame
    c_trace: str
    py_trace: str
    summary: str
    commands: str
    env: dict

    def __getitem__(self, key):  # dict-style access too: bundle["metrics"]
        return getattr(self, key)

    def keys(self):
        return ["path", "metrics", "factors", "per_phi", "c_trace", "py_trace", "summary", "commands", "env"]


def load_bundle(path) -> Bundle:
    """Load a bundle's metrics, aligned tables (DataFrames) and raw traces."""
    import pandas as pd

    d = Path(path)
    _read_manifest(d)

    def text(name):
        p = d / name
        return p.read_text(errors="replace") if p.is_file() else ""

    def frame(name):
        p = d / name
        if not p.is_file() or p.stat().st_size == 0:
            return pd.DataFrame()
        try:
            return pd.read_csv(p)
        except pd.errors.EmptyDataError:
            return pd.DataFrame()

    from nbparity.safejson import load_json

    # guarded: a hostile metrics.json raises ValueError (JSONRefused) with a one-line reason
    metrics = load_json(text("metrics.json") or "{}")
    env = load_json(text("env.json") or "{}")
    return Bundle(d, metrics, frame("factors.csv"), frame("per_phi.csv"), text("c_trace.log"),
                  text("py_trace.log"), text("summary.md"), text("commands.txt"), env)
