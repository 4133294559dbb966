"""The attempt ledger: every evidence bundle under a reports directory as one row, oldest first.

A row says when, on what (case, pixel, git sha + dirty, quirk mode, dtype) and with what outcome
(verdict, first divergence, root causes, relative Δ of I_before_scaling and I_pixel_final) an attempt
ran. A change of verdict or first divergence from the previous attempt on the same kind, case and pixel
is marked, so "did the first divergence move?" is read off the ledger. Bundles that cannot be read are
returned with the reason, never dropped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ["time", "bundle", "kind", "case", "pixel", "git_sha", "dirty", "quirks", "dtype", "verdict",
           "first_divergence", "root_causes", "rel_I_before_scaling", "rel_I_pixel_final", "change"]
KEY_DELTAS = ("I_before_scaling", "I_pixel_final")
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)_")


@dataclass
class History:
    rows: list = field(default_factory=list)          # dicts with COLUMNS
    unreadable: list = field(default_factory=list)    # {"bundle": path, "reason": text}

    def frame(self):
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=COLUMNS)
        df.attrs["unreadable"] = list(self.unreadable)
        return df

    def to_dict(self) -> dict:
        return {"attempts": [_json_row(r) for r in self.rows], "unreadable": list(self.unreadable)}


def _json_row(r: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}


def _where(fd) -> str | None:
    """'pixel.F_latt_b[0] (0,0,0) φ3' of a first-divergence record."""
    if not isinstance(fd, dict):
        return None if fd is None else str(fd)
    text = f"{fd.get('section', '?')}.{fd.get('key', '?')}[{fd.get('component', 0)}]"
    if fd.get("section") not in (None, "config") and fd.get("layer") is not None:
        text += f" ({fd.get('layer')},{fd.get('subS')},{fd.get('subF')})"
    tic = fd.get("phi_tic")
    if tic is not None and int(tic) >= 0:
        text += f" φ{int(tic)}"
    return text


def _step(fd) -> str | None:
    """A probe's first divergent φ step: 'φ_tic 3 (0.03°) a_y'."""
    if not isinstance(fd, dict):
        return None
    what = fd.get("first_divergence") or (f"{fd.get('vector')}_{fd.get('component')}" if fd.get("vector") else "")
    return f"φ_tic {fd.get('phi_tic')} ({fd.get('phi_deg'):.6g}°) {what}".strip()


def _rel_deltas(bundle: Path) -> dict:
    """Relative Δ of the key scalars from factors.csv (NaN when the bundle has no such row)."""
    import pandas as pd

    out = {k: math.nan for k in KEY_DELTAS}
    p = bundle / "factors.csv"
    if not p.is_file() or p.stat().st_size == 0:
        return out
    df = pd.read_csv(p)
    if "key" not in df.columns or "rel" not in df.columns:
        return out
    for k in KEY_DELTAS:
        rows = df[(df["key"] == k) & (df.get("section", "pixel") == "pixel")]
        if len(rows):
            out[k] = float(pd.to_numeric(rows["rel"], errors="coerce").max())
    return out


def _time(bundle: Path, metrics: dict) -> str:
    vol = metrics.get("volatile") or {}
    if vol.get("timestamp_utc"):
        return str(vol["timestamp_utc"])
    m = _STAMP.match(bundle.name)
    if m:
        s = m.group(1)
        return f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z"
    return ""


def read_row(bundle: Path) -> dict:
    """One ledger row from a bundle (ValueError/OSError with the reason when it cannot be read)."""
    from nbparity.bundle import verify_bundle
    from nbparity.errors import UsageError

    try:
        v = verify_bundle(bundle)
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    if not v.ok:
        raise ValueError("manifest check failed: " + "; ".join(v.lines()))
    mpath = bundle / "metrics.json"
    if not mpath.is_file():
        raise ValueError("no metrics.json")
    try:
        m = json.loads(mpath.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"metrics.json is not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(m, dict) or "verdict" not in m:
        raise ValueError("metrics.json has no verdict")
    env = {}
    if (bundle / "env.json").is_file():
        try:
            env = json.loads((bundle / "env.json").read_text())
        except json.JSONDecodeError:
            env = {}
    git = env.get("git") or {}
    case = m.get("case")
    case = case.get("name") if isinstance(case, dict) else case
    px = m.get("pixel") or {}
    comp = m.get("comparison") or {}
    roots = comp.get("root_causes") or m.get("root_causes") or []
    deltas = _rel_deltas(bundle)
    return {
        "time": _time(bundle, m), "bundle": bundle.name, "kind": m.get("kind", "compare"),
        "case": case, "pixel": f"{px['slow']} {px['fast']}" if "slow" in px else "",
        "git_sha": (git.get("sha") or "")[:12], "dirty": git.get("dirty"),
        "quirks": m.get("quirk_mode", m.get("quirks")), "dtype": m.get("dtype"),
        "verdict": str(m.get("verdict")).lower(),
        "first_divergence": _where(comp.get("first_divergence", m.get("first_divergence")))
                            or _step(m.get("first_divergent_step")),
        "root_causes": " ".join(str(r.get("node", r)) if isinstance(r, dict) else str(r) for r in roots),
        "rel_I_before_scaling": deltas["I_before_scaling"], "rel_I_pixel_final": deltas["I_pixel_final"],
        "change": "",
    }


def _candidates(root: Path) -> list[Path]:
    """Directories that are (or try to be) bundles: they hold a manifest or a metrics.json."""
    found = set()
    for name in ("sha256.txt", "metrics.json"):
        found |= {p.parent for p in root.rglob(name)}
    return sorted(found)


def _mark_changes(rows: list) -> None:
    last: dict = {}
    for r in rows:
        key = (r["kind"], r["case"], r["pixel"])
        prev = last.get(key)
        if prev is not None:
            notes = []
            if prev["verdict"] != r["verdict"]:
                notes.append(f"verdict {prev['verdict']}→{r['verdict']}")
            if prev["first_divergence"] != r["first_divergence"]:
                notes.append(f"first divergence {prev['first_divergence'] or 'none'}→{r['first_divergence'] or 'none'}")
            r["change"] = "; ".join(notes)
        last[key] = r


def build_history(directory="reports", case: str | None = None, pixel=None) -> History:
    """The ledger of every bundle under `directory`, oldest first; filtered by case and pixel (S, F)."""
    from nbparity.errors import UsageError

    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"{root}: no such directory")
    h = History()
    for d in _candidates(root):
        rel = str(d.relative_to(root)) if d != root else "."
        if any(part.startswith(".") for part in d.relative_to(root).parts):
            h.unreadable.append({"bundle": rel, "reason": "incomplete: temporary directory of a bundle "
                                                          "being written (or of one whose writer died)"})
            continue
        try:
            row = read_row(d)
        except (ValueError, OSError, KeyError, TypeError) as exc:
            h.unreadable.append({"bundle": rel, "reason": str(exc) or type(exc).__name__})
            continue
        row["bundle"] = rel
        h.rows.append(row)
    h.rows.sort(key=lambda r: (r["time"], r["bundle"]))
    _mark_changes(h.rows)   # before filtering: a change is relative to the previous attempt overall
    if case is not None:
        h.rows = [r for r in h.rows if r["case"] == case]
    if pixel is not None:
        want = f"{int(pixel[0])} {int(pixel[1])}"
        h.rows = [r for r in h.rows if r["pixel"] == want]
    return h


def load_history(directory="reports", case: str | None = None, pixel=None):
    """The ledger as a pandas DataFrame (COLUMNS); unreadable bundles in `df.attrs["unreadable"]`."""
    return build_history(directory, case, pixel).frame()


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
