"""report.html: one self-contained page per evidence bundle, built from the bundle's own files.

Verdict (coloured), configuration differences, first divergence, root causes, the factor and per-φ
tables, every other CSV table of the bundle (probe tables) and its PNGs, inlined as data: URIs. Inline
CSS only, no script, no external resource: the page opens the same offline, from a copied bundle or
an archive, in ten years.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from html import escape

VERDICT_COLOURS = {"identical": "#1a7f37", "within_tolerance": "#1a7f37", "explained": "#b7791f",
                   "divergent": "#c62828", "incomplete": "#c62828", "error": "#c62828"}
_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.3em} h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
.verdict{color:#fff;padding:.7em 1em;font-size:1.15em;font-weight:bold;border-radius:4px}
table{border-collapse:collapse;font-size:.8em;font-family:monospace;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#eee} tr.bad td{background:#fde2e2;font-weight:bold}
.meta td{text-align:left;font-family:sans-serif} img{max-width:100%;border:1px solid #ddd;margin:.4em 0}
.note{color:#555;font-size:.85em}
"""
_BAD = {"fail", "FAIL", "diverge", "divergent", "DIVERGENCE", "NO", "False", "one-sided", "incomplete",
        "not compared"}
MAX_ROWS = 2000


def _table(headers, rows, bad_rows=(), total: int | None = None) -> str:
    """At most MAX_ROWS rows; `total`: how many the file has (rows may be its first ones only)."""
    out = ["<table><tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in headers) + "</tr>"]
    for i, row in enumerate(rows[:MAX_ROWS]):
        cls = ' class="bad"' if i in bad_rows else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    more = (len(rows) if total is None else total) - min(len(rows), MAX_ROWS)
    if more > 0:
        out.append(f'<p class="note">{more} more rows in the CSV file.</p>')
    return "\n".join(out)


def _csv_table(text: str, total: int | None = None) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return '<p class="note">(empty)</p>'
    head, body = rows[0], rows[1:]
    status = [i for i, h in enumerate(head) if h in ("status", "verdict", "diverges", "ok")]
    bad = {n for n, r in enumerate(body) for i in status if i < len(r) and r[i] in _BAD}
    return _table(head, body, bad, total)


def _meta(metrics: dict) -> str:
    case = metrics.get("case")
    case = case.get("name") if isinstance(case, dict) else case
    px = metrics.get("pixel") or {}
    items = [("kind", metrics.get("kind", "compare")), ("case", case),
             ("pixel (slow, fast)", f"{px.get('slow')}, {px.get('fast')}" if px else None),
             ("dtype", metrics.get("dtype")), ("device", metrics.get("device")),
             ("quirks", metrics.get("quirk_mode", metrics.get("quirks")))]
    return _table(["", ""], [(k, v) for k, v in items if v is not None]).replace("<table>", '<table class="meta">', 1)


def _where(d: dict) -> str:
    occ = "" if d.get("section") == "config" else f" ({d.get('layer')},{d.get('subS')},{d.get('subF')})"
    tic = d.get("phi_tic")
    tic = f" φ{tic}" if tic is not None and int(tic) >= 0 else ""
    return f"{d.get('section')}.{d.get('key')}[{d.get('component')}]{occ}{tic}"


def _not_compared(comp: dict, section: str, counted: str) -> str | None:
    """'not compared: …' where a section had nothing on both sides: never 'none' for what was not seen."""
    why = (comp.get("not_compared") or {}).get(section)
    if why:
        return f"<p><b>not compared</b>: {escape(str(why))}</p>"
    if (comp.get("counts") or {}).get(counted, 1) == 0:
        return "<p><b>not compared</b>: neither side's values of this section were printed by both sides</p>"
    return None


def _comparison(comp: dict) -> list[str]:
    out = []
    diffs = comp.get("config_diffs") or []
    out.append("<h2>Configuration differences</h2>")
    out.append(_not_compared(comp, "config", "config_compared") or (
        _table(["key", "component", "C", "torch", "rel"],
               [(d.get("key"), d.get("component"), d.get("c"), d.get("py"), d.get("rel")) for d in diffs],
               set(range(len(diffs)))) if diffs else "<p>none</p>"))
    fd = comp.get("first_divergence")
    out.append("<h2>First divergence (C emission order)</h2>")
    out.append(f"<p><b>{escape(_where(fd))}</b>: C {escape(str(fd.get('c')))}, torch {escape(str(fd.get('py')))}, "
               f"rel {escape(str(fd.get('rel')))}</p>" if isinstance(fd, dict) else "<p>none</p>")
    roots = comp.get("root_causes") or []
    out.append("<h2>Root causes (failing keys whose parents all agree)</h2>")
    out.append(_table(["node", "components", "C", "torch", "downstream"],
                      [(r.get("node"), ",".join(str(c) for c in r.get("components", [])), r.get("c"), r.get("py"),
                        " ".join(r.get("downstream_nodes") or [])) for r in roots]) if roots else "<p>none</p>")
    return out


def _verdict(metrics: dict) -> str:
    from nbparity.verdict import Verdict

    try:
        v = Verdict.parse(str(metrics.get("verdict", "?"))).value
    except ValueError:
        v = "?"
    colour = VERDICT_COLOURS.get(v, "#555")
    line = metrics.get("verdict_line") or metrics.get("summary") or v.upper()
    return f'<div class="verdict" style="background:{colour}">{escape(str(line))}</div>'


def _parts(metrics: dict) -> list[str]:
    """What decided the verdict (trace, pixel, image …) and the note of the attempt."""
    parts = (metrics.get("judgement") or {}).get("parts") or {}
    rows = [(name, str(p.get("verdict", "")).replace("_", " "), p.get("reason", "")) for name, p in parts.items()]
    out = [_table(["decided by", "verdict", "reason"], rows,
                  {i for i, r in enumerate(rows) if r[1] in ("divergent", "incomplete", "error")})] if rows else []
    if metrics.get("note"):
        out.append(f'<p class="note">note: {escape(str(metrics["note"]))}</p>')
    return out


def render_page(files: dict) -> str:
    """The HTML page for a bundle's files (name -> str | bytes), before they are written."""
    def text(name):
        data = files.get(name, "")
        if hasattr(data, "preview"):   # a Streamed file: its first lines only
            return data.preview
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    try:
        metrics = json.loads(text("metrics.json") or "{}")
    except json.JSONDecodeError:
        metrics = {}
    case = metrics.get("case")
    case = case.get("name") if isinstance(case, dict) else case
    title = f"nbparity {metrics.get('kind', 'compare')} — {case}"
    body = [f"<h1>{escape(title)}</h1>", _verdict(metrics), _meta(metrics), *_parts(metrics)]
    if isinstance(metrics.get("comparison"), dict):
        body += _comparison(metrics["comparison"])
    if metrics.get("gates"):
        gates = metrics["gates"]
        body += ["<h2>Gates</h2>", _table(["gate", "value", "limit", "ok"],
                                          [(g.get("gate"), g.get("value"), f"{g.get('op')} {g.get('limit')}",
                                            "yes" if g.get("ok") else "NO") for g in gates],
                                          {i for i, g in enumerate(gates) if not g.get("ok")})]
    if "first_divergent_step" in metrics:            # probes: the φ step where the sides part
        fd = metrics["first_divergent_step"]
        body += ["<h2>First divergent φ step</h2>",
                 "<p>none</p>" if not fd else
                 "<p><b>" + escape(", ".join(f"{k} {v}" for k, v in fd.items())) + "</b></p>"]
    for name in metrics.get("html_findings", []):   # probe results worth a line of their own
        body.append(f"<p>{escape(str(name))}</p>")
    order = ["factors.csv", "per_phi.csv"] + sorted((n for n in files if n.endswith(".csv")
                                                      and n not in ("factors.csv", "per_phi.csv")),
                                                     key=lambda n: (not n.endswith("_steps.csv"), n))
    titles = {"factors.csv": "Factors (C emission order)", "per_phi.csv": "Per-φ steps (source 0, mosaic 0)"}
    for name in order:
        if name in files:
            empty = name == "per_phi.csv" and not text(name).strip()
            table = ('<p><b>not compared</b>: no per-φ values on both sides</p>' if empty
                     else _csv_table(text(name), getattr(files[name], "rows", None)))
            body += [f"<h2>{escape(titles.get(name, name))}</h2>", table]
    for name in sorted((n for n in files if n.endswith(".png")), key=lambda n: (n != "comparison.png", n)):
        data = files[name] if isinstance(files[name], bytes) else files[name].encode()
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        body += [f"<h2>{escape(name)}</h2>", f'<img alt="{escape(name)}" src="{uri}">']
    body.append('<p class="note">Every file of this bundle is listed in sha256.txt; '
                "reproduce with <code>bash commands.txt</code> where present.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def add_report(files: dict) -> dict:
    """Put report.html into a bundle's files dict (in place, returned). A page that cannot be built
    still leaves the evidence: a one-line page saying why."""
    try:
        files["report.html"] = render_page(files)
    except Exception as exc:  # the bundle's evidence matters more than its page
        files["report.html"] = (f"<!DOCTYPE html><html><body><p>report.html could not be built: "
                                f"{escape(type(exc).__name__)}: {escape(str(exc))}</p></body></html>\n")
    return files
