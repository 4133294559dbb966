"""One evidence bundle read as one attempt of the ledger (`nbparity history`): what ran on which sides
and with what outcome. Never raises for what a bundle holds: a bundle that fails `bundle verify` or
whose metrics.json cannot be read is still a row, with verdict "incomplete" / "unreadable" and the
reason.

The sides are read from metrics.json's "identity" block ({"c": {binary, sha256, line, threads},
"torch": {kind: simulator|port, command, git_sha, dirty, dtype, device, quirk_mode}}), with fallbacks
for bundles written before it existed (C sha256 unknown, the C line from "c_line", a --py-cmd run from
"port", the simulator's git sha from env.json).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

VERDICTS = ("identical", "within_tolerance", "explained", "divergent", "incomplete", "error")
# the words of bundles written before the five-state vocabulary
_OLD_VERDICTS = {"pass": "within_tolerance", "parity": "within_tolerance", "within tolerance": "within_tolerance",
                 "fail": "divergent", "failure": "divergent", "divergence": "divergent"}
KEY_DELTAS = ("I_before_scaling", "I_pixel_final")
MAX_FACTORS_BYTES = 64 * 1024 * 1024
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)_")
_CELL = 300   # longest text kept from a metrics field


def normalize_verdict(raw) -> tuple[str, str]:
    """(verdict in the five-state vocabulary or "error", reason when the verdict could not be taken)."""
    if raw is None:
        return "incomplete", "metrics.json has no verdict"
    word = str(raw).strip().lower()
    word = _OLD_VERDICTS.get(word, word)
    if word in VERDICTS:
        return word, ""
    return "incomplete", f"unknown verdict {str(raw)[:40]!r}"


def _text(v, n: int = _CELL) -> str | None:
    return None if v is None else str(v)[:n]


def _str(v, n: int = _CELL) -> str | None:
    """A string field of metrics.json (cut to n characters); None when absent or not a string."""
    return v[:n] if isinstance(v, str) and v else None


def _int(v) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def sides(metrics: dict, env: dict) -> dict:
    """The identity of both sides: metrics["identity"] where written, else what older bundles hold."""
    ident = _dict(metrics.get("identity"))
    c_in, t_in = _dict(ident.get("c")), _dict(ident.get("torch"))
    vol = _dict(metrics.get("volatile"))
    c_argv = _dict(vol.get("argv")).get("c")
    binary = _str(c_in.get("binary")) or _str(_dict(vol.get("paths")).get("binary")) or (
        _str(c_argv[0]) if isinstance(c_argv, list) and c_argv else None)
    c = {"binary": binary, "sha256": _str(c_in.get("sha256"), 64),
         "line": _str(c_in.get("line"), 8) or _str(_dict(metrics.get("c_line")).get("line"), 8),
         "threads": _int(c_in.get("threads"))}
    port, git = _dict(metrics.get("port")), _dict(env.get("git"))
    kind = t_in.get("kind") or ("port" if port else "simulator")
    dirty = t_in.get("dirty", git.get("dirty"))
    torch = {"kind": "port" if kind == "port" else "simulator",
             "command": _str(t_in.get("command")) or _str(port.get("command")) or _str(vol.get("port_command")),
             "git_sha": _str(t_in.get("git_sha"), 40) or _str(git.get("sha"), 40),
             "dirty": dirty if isinstance(dirty, bool) else None,
             "dtype": _str(t_in.get("dtype"), 16) or _str(metrics.get("dtype"), 16),
             "device": _str(t_in.get("device"), 32) or _str(metrics.get("device"), 32),
             "quirk_mode": _str(t_in.get("quirk_mode"), 80) or _str(metrics.get("quirk_mode"), 80)
                           or _str(metrics.get("quirks"), 80)}
    if torch["kind"] == "simulator":
        torch["command"] = None
    return {"c": c, "torch": torch}


def side_key(s: dict) -> tuple:
    """What makes two attempts comparable: the same C binary (sha256; unknown counts as one value) and
    line, and the same torch side (simulator with dtype, device, quirk mode; or the port's command).
    The simulator's git sha is left out on purpose: its effect is what the ledger follows."""
    c, t = s["c"], s["torch"]
    torch = (t["kind"], t["command"], t["dtype"]) if t["kind"] == "port" else (
        t["kind"], t["dtype"], t["device"], t["quirk_mode"])
    return (c["sha256"], c["line"]) + torch


def c_label(s: dict) -> str:
    c = s["c"]
    return f"{(c['sha256'] or '?')[:8]} {c['line'] or '?'}"


def torch_label(s: dict, width: int = 40) -> str:
    t = s["torch"]
    if t["kind"] == "port":
        return shorten("port " + (t["command"] or "?"), width)
    sha = (t["git_sha"] or "?")[:8] + ("+" if t["dirty"] else "")
    return shorten(f"sim {sha} {t['dtype'] or '?'} {t['quirk_mode'] or '?'}", width)


def shorten(text, width: int) -> str:
    """`text` cut to `width` characters with a trailing … when cut."""
    text = "" if text is None else " ".join(str(text).split())
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def where(fd) -> str | None:
    """'pixel.F_latt_b[0] (0,0,0) φ3' of a first-divergence record."""
    if not isinstance(fd, dict):
        return None if fd is None else _text(fd)
    text = f"{fd.get('section', '?')}.{fd.get('key', '?')}[{fd.get('component', 0)}]"
    if fd.get("section") not in (None, "config") and fd.get("layer") is not None:
        text += f" ({fd.get('layer')},{fd.get('subS')},{fd.get('subF')})"
    tic = fd.get("phi_tic")
    if isinstance(tic, (int, float)) and math.isfinite(tic) and int(tic) >= 0:
        text += f" φ{int(tic)}"
    return _text(text)


def step(fd) -> str | None:
    """A probe's first divergent φ step: 'φ_tic 3 (0.03°) a_y'."""
    if not isinstance(fd, dict):
        return None
    what = fd.get("first_divergence") or (f"{fd.get('vector')}_{fd.get('component')}" if fd.get("vector") else "")
    deg = fd.get("phi_deg")
    deg = f"{deg:.6g}" if isinstance(deg, (int, float)) else str(deg)
    return _text(f"φ_tic {fd.get('phi_tic')} ({deg}°) {what}".strip())


def rel_deltas(bundle: Path) -> dict:
    """Relative Δ of the key scalars from factors.csv (NaN when the bundle has no such row)."""
    import pandas as pd

    out = {k: math.nan for k in KEY_DELTAS}
    p = bundle / "factors.csv"
    if not p.is_file() or p.is_symlink() or not 0 < p.stat().st_size <= MAX_FACTORS_BYTES:
        return out
    try:
        df = pd.read_csv(p)
        if "key" not in df.columns or "rel" not in df.columns:
            return out
        for k in KEY_DELTAS:
            rows = df[(df["key"] == k) & (df.get("section", "pixel") == "pixel")]
            if len(rows):
                out[k] = float(pd.to_numeric(rows["rel"], errors="coerce").max())
    except (ValueError, TypeError, KeyError, pd.errors.ParserError):
        return {k: math.nan for k in KEY_DELTAS}
    return out


def attempt_time(bundle: Path, metrics: dict) -> str:
    stamp = _dict(metrics.get("volatile")).get("timestamp_utc")
    if isinstance(stamp, str) and stamp:
        return stamp[:32]
    m = _STAMP.match(bundle.name)
    if m:
        s = m.group(1)
        return f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z"
    return ""


COLUMNS = ["time", "bundle", "kind", "case", "pixel", "verdict", "c_sha256", "c_line", "c_binary", "c_threads",
           "torch", "torch_kind", "port_command", "git_sha", "dirty", "quirks", "dtype", "device", "note",
           "first_divergence", "root_causes", "rel_I_before_scaling", "rel_I_pixel_final", "change", "intact",
           "reason"]


def _verify(bundle: Path) -> tuple[bool, str, str]:
    """(intact, the verdict to show when not intact, the reason)."""
    from nbparity.bundle import verify_bundle
    from nbparity.errors import UsageError

    try:
        v = verify_bundle(bundle)
    except UsageError as exc:
        return False, "incomplete", str(exc)
    except OSError as exc:
        return False, "unreadable", f"cannot read the bundle: {exc.strerror or exc}"
    if v.ok:
        return True, "", ""
    unreadable = any(p.startswith("metrics.json unreadable") for p in v.problems)
    return False, "unreadable" if unreadable else "incomplete", "manifest check failed: " + v.reason()


def _load(path: Path) -> tuple[dict, str]:
    from nbparity.safejson import JSONRefused, load_object

    if path.is_symlink() or not path.is_file():
        return {}, f"no {path.name}"
    try:
        return load_object(path), ""
    except JSONRefused as exc:
        return {}, f"{path.name} unreadable: {exc}"


def _kind(bundle: Path, metrics: dict) -> str | None:
    from nbparity.bundle_kinds import kind_of

    try:
        names = [p.name for p in bundle.iterdir()]
    except OSError:
        names = []
    kind = kind_of(metrics, names)[0]
    return kind or (_text(metrics.get("kind"), 40) if metrics.get("kind") is not None else None)


def _fields(bundle: Path, m: dict, env: dict) -> dict:
    """The ledger cells taken from metrics.json and env.json (TypeError etc. on a malformed one)."""
    s = sides(m, env)
    case = m.get("case")
    case = _str(case.get("name")) if isinstance(case, dict) else (_str(case) or _str(m.get("name")))
    px = _dict(m.get("pixel"))
    slow, fast = _int(px.get("slow")), _int(px.get("fast"))
    comp = _dict(m.get("comparison"))
    roots = comp.get("root_causes") or m.get("root_causes") or []
    roots = roots if isinstance(roots, list) else [roots]
    t = s["torch"]
    return {
        "time": attempt_time(bundle, m), "kind": _kind(bundle, m), "case": case,
        "pixel": f"{slow} {fast}" if slow is not None and fast is not None else "",
        "c_sha256": s["c"]["sha256"], "c_line": s["c"]["line"], "c_binary": s["c"]["binary"],
        "c_threads": s["c"]["threads"], "torch": torch_label(s), "torch_kind": t["kind"],
        "port_command": t["command"], "git_sha": (t["git_sha"] or "")[:12], "dirty": t["dirty"],
        "quirks": t["quirk_mode"], "dtype": t["dtype"], "device": t["device"],
        "note": _str(m.get("note")),
        "first_divergence": where(comp.get("first_divergence", m.get("first_divergence")))
                            or step(m.get("first_divergent_step")),
        "root_causes": _text(" ".join(str(r.get("node", r)) if isinstance(r, dict) else str(r) for r in roots)),
        "_sides": s,
    }


def read_attempt(bundle: Path) -> dict:
    """One ledger row (COLUMNS, plus "_sides" for grouping) from a bundle; never raises for content."""
    intact, shown, reason = _verify(bundle)
    metrics, why = _load(bundle / "metrics.json")
    env = _load(bundle / "env.json")[0] if metrics else {}
    row = dict.fromkeys(COLUMNS)
    row.update(bundle=bundle.name, change="", rel_I_before_scaling=math.nan, rel_I_pixel_final=math.nan,
               time=attempt_time(bundle, {}), intact=intact, reason=reason or None)
    row["_sides"] = sides({}, {})
    try:
        row["kind"] = _kind(bundle, metrics)
        if metrics:
            row.update(_fields(bundle, metrics, env))
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        why = why or f"metrics.json malformed ({type(exc).__name__}: {shorten(exc, 80)})"
    if why:   # metrics.json absent, unreadable or malformed: verify reads it too, so not intact
        shown = shown if why.startswith("no ") and not intact else "unreadable"
        intact = False
        row["reason"] = reason if why in reason else "; ".join(r for r in (reason, why) if r)
    if not intact:
        row.update(verdict=shown, intact=False)
        return row
    row["verdict"], problem = normalize_verdict(metrics.get("verdict"))
    if problem:
        row["reason"] = problem
    row.update({f"rel_{k}": v for k, v in rel_deltas(bundle).items()})
    return row
