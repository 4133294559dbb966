"""Evidence bundles: write atomically (temp sibling + rename, never overwrite), verify, load.

Layout: reports/<YYYYmmddTHHMMSSZ>_<case>_<slow>-<fast>/ with metrics.json, summary.md, commands.txt,
env.json, c_trace.log, py_trace.log, factors.csv, per_phi.csv and sha256.txt (written last, in
`sha256sum -c` format over every other file).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

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


def write_bundle(reports_dir, name: str, files: dict) -> Path:
    """Write `files` (name -> str | bytes) plus sha256.txt into reports_dir/name (or name-2, name-3, …
    on collision). Nothing is visible under the final name until the bundle is complete."""
    root = Path(reports_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()
    try:
        for fname in sorted(files):
            data = files[fname]
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass
class Verification:
    path: Path
    changed: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    extra: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        if self.ok:
            return [f"bundle intact: {self.path}"]
        return ([f"changed: {f}" for f in self.changed] + [f"missing: {f}" for f in self.missing]
                + [f"extra: {f}" for f in self.extra])

    def to_dict(self) -> dict:
        return {"path": str(self.path), "ok": self.ok, "changed": self.changed, "missing": self.missing,
                "extra": self.extra, "exit_code": self.exit_code}


def _read_manifest(d: Path) -> dict:
    m = d / MANIFEST
    if not d.is_dir() or not m.is_file():
        raise UsageError(f"{d} is not a bundle (no {MANIFEST})")
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
        entries[fname] = digest
    return entries


def verify_bundle(path) -> Verification:
    """Re-hash every file: report changed, missing and extra files (UsageError if not a bundle)."""
    d = Path(path)
    entries = _read_manifest(d)
    v = Verification(d)
    for fname, digest in sorted(entries.items()):
        p = d / fname
        if not p.is_file():
            v.missing.append(fname)
        elif _sha256(p) != digest:
            v.changed.append(fname)
    present = {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}
    v.extra = sorted(present - set(entries) - {MANIFEST})
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

    metrics = json.loads(text("metrics.json") or "{}")
    env = json.loads(text("env.json") or "{}")
    return Bundle(d, metrics, frame("factors.csv"), frame("per_phi.csv"), text("c_trace.log"),
                  text("py_trace.log"), text("summary.md"), text("commands.txt"), env)
