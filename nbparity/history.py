"""The attempt ledger: every evidence bundle under a reports directory as one row, oldest first.

A row says when, on what (case, pixel, kind), on which sides (the C binary's sha256 and line; the
simulator's git sha, dtype and quirk mode, or the port's command) and with what outcome (verdict in the
five-state vocabulary, first divergence, root causes, relative Δ of I_before_scaling and I_pixel_final,
the run's note) an attempt ran. A change of verdict or first divergence is marked only against the
previous attempt of the same kind, case and pixel on the same sides (nbparity.attempt.side_key), so
"did the first divergence move?" is read off the ledger. A bundle that fails `bundle verify` or cannot
be read is a row too, with verdict "incomplete" / "unreadable" and the reason, never dropped.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from nbparity.attempt import COLUMNS, KEY_DELTAS, read_attempt, side_key

KINDS = ("compare", "image", "probe", "matrix")


@dataclass
class History:
    rows: list = field(default_factory=list)          # dicts with COLUMNS
    unreadable: list = field(default_factory=list)    # {"bundle": path, "reason": text}: rows not intact

    def frame(self):
        import pandas as pd

        df = pd.DataFrame([{k: r.get(k) for k in COLUMNS} for r in self.rows], columns=COLUMNS)
        df.attrs["unreadable"] = list(self.unreadable)
        return df

    def to_dict(self) -> dict:
        return {"attempts": [_json_row(r) for r in self.rows], "unreadable": list(self.unreadable)}


def _json_row(r: dict) -> dict:
    return {k: (None if isinstance(r.get(k), float) and not math.isfinite(r[k]) else r.get(k)) for k in COLUMNS}


def _candidates(root: Path) -> list[Path]:
    """Directories that are (or try to be) bundles: they hold a manifest or a metrics.json. Symlinked
    directories are not followed."""
    found = []
    for top, _dirs, files in os.walk(root, followlinks=False):
        if "sha256.txt" in files or "metrics.json" in files:
            found.append(Path(top))
    return sorted(found)


def _mark_changes(rows: list) -> None:
    """`change` of each intact row against the previous intact attempt with the same kind, case, pixel
    and sides (rows that failed verification neither get a mark nor serve as the previous attempt)."""
    last: dict = {}
    for r in rows:
        if not r["intact"]:
            continue
        key = (r["kind"], r["case"], r["pixel"], side_key(r["_sides"]))
        prev = last.get(key)
        if prev is not None:
            notes = []
            if prev["verdict"] != r["verdict"]:
                notes.append(f"verdict {prev['verdict']}→{r['verdict']}")
            if prev["first_divergence"] != r["first_divergence"]:
                notes.append(f"first divergence {prev['first_divergence'] or 'none'}→{r['first_divergence'] or 'none'}")
            r["change"] = "; ".join(notes)
        last[key] = r


def _keep(r: dict, case, pixel, kind) -> bool:
    if case is not None and r["case"] != case:
        return False
    if pixel is not None and r["pixel"] != f"{int(pixel[0])} {int(pixel[1])}":
        return False
    k = r["kind"] or ""
    return kind is None or k == kind or k.startswith(kind + "-")


def build_history(directory="reports", case: str | None = None, pixel=None, kind: str | None = None) -> History:
    """The ledger of every bundle under `directory`, oldest first; filtered by case, pixel (S, F) and
    kind (compare | image | probe | matrix; "probe" takes every probe-<name>)."""
    from nbparity.errors import UsageError

    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"{root}: no such directory")
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    rows = []
    for d in _candidates(root):
        row = read_attempt(d)
        row["bundle"] = str(d.relative_to(root)) if d != root else "."
        rows.append(row)
    rows.sort(key=lambda r: (r["time"] or "", r["bundle"]))
    _mark_changes(rows)   # before filtering: a change is relative to the previous attempt overall
    h = History(rows=[r for r in rows if _keep(r, case, pixel, kind)])
    h.unreadable = [{"bundle": r["bundle"], "reason": r["reason"]} for r in h.rows if not r["intact"]]
    return h


def load_history(directory="reports", case: str | None = None, pixel=None, kind: str | None = None):
    """The ledger as a pandas DataFrame (COLUMNS); the bundles that are not intact also in
    `df.attrs["unreadable"]`."""
    return build_history(directory, case, pixel, kind).frame()


def plot_history(history: History, path) -> Path:
    """PNG of the key relative deltas across attempts (log scale; an exact 0 is drawn at the floor)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 1e-18
    fig, ax = plt.subplots(figsize=(8, 4.2))
    xs = list(range(len(history.rows)))
    for key, marker in zip(KEY_DELTAS, ("o", "s")):
        ys = [r[f"rel_{key}"] for r in history.rows]
        shown = [(x, max(y, floor)) for x, y in zip(xs, ys) if isinstance(y, float) and math.isfinite(y)]
        if shown:
            ax.plot([p[0] for p in shown], [p[1] for p in shown], marker=marker, label=f"rel Δ {key}")
    for x, r in zip(xs, history.rows):
        if r["change"]:
            ax.axvline(x, color="tab:red", alpha=0.3, linestyle="--")
    ax.set_yscale("log")
    ax.axhline(1e-12, color="grey", linewidth=0.8, linestyle=":", label="float64 rtol 1e-12")
    ax.set_xticks(xs, [f"{i + 1}\n{r['verdict']}" for i, r in enumerate(history.rows)], fontsize=7)
    ax.set_xlabel("attempt (oldest first; red dashes: verdict or first divergence changed)")
    ax.set_ylabel(f"relative Δ torch vs C (0 drawn at {floor:g})")
    ax.set_title("nbparity history: key deltas across attempts", fontsize=10)
    if xs:
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
