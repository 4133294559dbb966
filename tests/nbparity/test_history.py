"""The attempt ledger (`nbparity history`): sides identity, change marks only against the previous
attempt on the same sides, the five-state verdicts (old words mapped), --kind, and bundles that fail
`bundle verify` or hold hostile JSON listed as incomplete / unreadable rows instead of failing the ledger.

Fixture bundles are written by hand (fast); one test reads the bundle of a real compare."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from nbparity.bundle import REQUIRED, write_bundle
from nbparity.cli import main
from nbparity.history import build_history, load_history

TINY = "-default_F 100 -cell 30 30 30 90 90 90 -detpixels 8 -N 1 -oversample 1 -nonoise -nopgm -noprogress"
SHA_C = "c0ffee00" + "1" * 56
SHA_C2 = "beef0000" + "2" * 56
GIT = "0123456789abcdef0123456789abcdef01234567"


def ident(c_sha=SHA_C, line="R1", kind="simulator", command=None, git=GIT, dtype="float64", quirks="c"):
    return {"c": {"binary": "/opt/nanoBragg", "sha256": c_sha, "line": line, "threads": 1},
            "torch": {"kind": kind, "command": command, "git_sha": git, "dirty": False, "dtype": dtype,
                      "device": "cpu", "quirk_mode": quirks}}


def bundle(root: Path, second: int, verdict: str, identity=None, v2=True, first=None, **fields) -> Path:
    """A compare bundle (every file the kind requires) whose metrics say what the test needs: `fields`
    go into metrics.json as they are (case, pixel, note, kind, …), `first` names a config key as the
    first divergence; v2=False writes an old bundle (no schema 2, kind, identity, request.json)."""
    m = {"verdict": verdict, "exit_code": 0, "case": {"name": "cubic"}, "pixel": {"slow": 3, "fast": 4},
         "volatile": {"timestamp_utc": f"2026-01-01T00:00:{second:02d}Z"}}
    if v2:
        m.update(schema="nbparity.metrics/2", kind="compare", note=None, identity=identity or ident())
    if first:
        m["comparison"] = {"first_divergence": {"section": "config", "key": first, "component": 0}}
    m.update(fields)
    files = {n: f"{n}\n" for n in REQUIRED}
    files.update({"metrics.json": json.dumps(m), "env.json": json.dumps({"git": {"sha": "f" * 40, "dirty": True}}),
                  "factors.csv": "section,key,rel\npixel,I_pixel_final,0.25\n"})
    if v2:
        files.update({"request.json": "{}\n", "report.html": "<html></html>\n"})
    case = m["case"]["name"] if isinstance(m["case"], dict) else m["case"]
    return write_bundle(root, f"20260101T0000{second:02d}Z_{case[:20]}", files)


def rows(root, **kw):
    return build_history(root, **kw).rows


def test_port_attempt_is_not_a_change_of_the_simulator_series(tmp_path):
    bundle(tmp_path, 1, "within_tolerance")
    bundle(tmp_path, 2, "divergent", identity=ident(kind="port", command="python -m myport {argv}"),
           first="fluence")
    bundle(tmp_path, 3, "divergent", first="fluence")
    bundle(tmp_path, 4, "identical", identity=ident(kind="port", command="python -m myport {argv}"))
    r = rows(tmp_path)
    assert [x["change"] for x in r] == [
        "", "", "verdict within_tolerance→divergent; first divergence none→config.fluence[0]",
        "verdict divergent→identical; first divergence config.fluence[0]→none"]
    assert [x["torch"] for x in r] == ["sim 01234567 float64 c", "port python -m myport {argv}"] * 2
    assert r[1]["port_command"] == "python -m myport {argv}" and r[1]["torch_kind"] == "port"


def test_sides_define_the_series_but_the_simulator_commit_does_not(tmp_path):
    bundle(tmp_path, 1, "divergent", first="fluence")
    bundle(tmp_path, 2, "within_tolerance", identity=ident(git="a" * 40))           # a fix: marked
    bundle(tmp_path, 3, "divergent", identity=ident(git="a" * 40, c_sha=SHA_C2))    # another C binary
    bundle(tmp_path, 4, "divergent", identity=ident(git="a" * 40, line="R2"))       # the other C line
    bundle(tmp_path, 5, "divergent", identity=ident(git="a" * 40, dtype="float32"))
    bundle(tmp_path, 6, "divergent", identity=ident(git="a" * 40, quirks="spec"))
    bundle(tmp_path, 7, "explained", identity=ident(git="a" * 40, c_sha=SHA_C2))
    r = rows(tmp_path)
    assert [x["change"] for x in r] == ["", "verdict divergent→within_tolerance; first divergence "
                                            "config.fluence[0]→none", "", "", "", "", "verdict divergent→explained"]
    assert [(x["c_sha256"][:8], x["c_line"]) for x in r][:4] == [("c0ffee00", "R1"), ("c0ffee00", "R1"),
                                                                 ("beef0000", "R1"), ("c0ffee00", "R2")]
    assert r[4]["dtype"] == "float32" and r[5]["quirks"] == "spec" and r[0]["git_sha"] == GIT[:12]


def test_case_pixel_and_kind_separate_series_too(tmp_path):
    bundle(tmp_path, 1, "within_tolerance")
    bundle(tmp_path, 2, "divergent", pixel={"slow": 5, "fast": 6})
    bundle(tmp_path, 3, "divergent", case={"name": "other"})
    bundle(tmp_path, 4, "within_tolerance")
    assert [x["change"] for x in rows(tmp_path)] == ["", "", "", ""]


def test_old_bundles_fall_back_and_map_their_verdict_words(tmp_path):
    old = {"schema": "nbparity.metrics/1", "dtype": "float64", "device": "cpu", "quirk_mode": "spec",
           "c_line": {"line": "R1"}, "volatile": {"paths": {"binary": "/cache/nanoBragg"}}}
    bundle(tmp_path, 1, "pass", v2=False, **old)
    bundle(tmp_path, 2, "fail", v2=False, **old, port={"command": "python -m myport -dtype float64"})
    bundle(tmp_path, 3, "DIVERGENCE", v2=False, **old)
    bundle(tmp_path, 4, "ERROR", v2=False, **old)
    bundle(tmp_path, 5, "explained", v2=False, **old)
    bundle(tmp_path, 6, "PASS", v2=False, **old)
    r = rows(tmp_path)
    assert [x["verdict"] for x in r] == ["within_tolerance", "divergent", "divergent", "error", "explained",
                                         "within_tolerance"]
    assert [x["kind"] for x in r] == ["compare"] * 6
    assert (r[0]["c_sha256"], r[0]["c_line"], r[0]["c_binary"]) == (None, "R1", "/cache/nanoBragg")
    assert r[0]["torch"] == "sim ffffffff+ float64 spec"   # git sha + dirty flag from env.json
    assert r[1]["torch"] == "port python -m myport -dtype float64"
    assert r[2]["change"] == "verdict within_tolerance→divergent"   # the port attempt is its own series
    assert r[0]["rel_I_pixel_final"] == 0.25


def test_unknown_verdict_is_incomplete_with_the_reason(tmp_path):
    bundle(tmp_path, 1, "looks fine to me")
    (r,) = rows(tmp_path)
    assert (r["verdict"], r["reason"]) == ("incomplete", "unknown verdict 'looks fine to me'")


def test_note_is_shown(tmp_path, capsys):
    bundle(tmp_path, 1, "within_tolerance", note="after fixing the φ carry-over")
    (r,) = rows(tmp_path)
    assert r["note"] == "after fixing the φ carry-over"
    assert main(["history", str(tmp_path)]) == 0
    assert "note: after fixing the φ carry-over" in capsys.readouterr().out


def test_kind_filter(tmp_path, capsys):
    bundle(tmp_path, 1, "within_tolerance", kind="compare")
    bundle(tmp_path, 2, "divergent", kind="image")
    bundle(tmp_path, 3, "within_tolerance", kind="probe", probe="single-phi")
    bundle(tmp_path, 4, "within_tolerance", v2=False, kind="probe-rotation")
    bundle(tmp_path, 5, "PASS", v2=False, kind="matrix")
    assert [x["kind"] for x in rows(tmp_path)] == ["compare", "image", "probe-single-phi", "probe-rotation",
                                                   "matrix"]
    assert [x["kind"] for x in rows(tmp_path, kind="probe")] == ["probe-single-phi", "probe-rotation"]
    assert [x["kind"] for x in rows(tmp_path, kind="image")] == ["image"]
    assert main(["history", str(tmp_path), "--kind", "matrix", "--json"]) == 0
    assert [a["kind"] for a in json.loads(capsys.readouterr().out)["attempts"]] == ["matrix"]
    assert main(["history", str(tmp_path), "--kind", "probes"]) == 2


@pytest.mark.parametrize("content, reason", [
    ("[" * 100000 + "]" * 100000, "metrics.json unreadable: nested 100000 deep (limit 100)"),
    ('{"verdict": "pass", "exit_code": ' + "9" * 100000 + "}", "metrics.json unreadable: a number literal"),
    ('{"verdict": "pass", "rel": 1e999}', "metrics.json unreadable: number out of range"),
    ("garbage \x00\x01", "metrics.json unreadable: not JSON"),
])
def test_hostile_metrics_is_one_unreadable_row_and_the_ledger_goes_on(tmp_path, capsys, content, reason):
    bundle(tmp_path, 1, "within_tolerance")
    bad = bundle(tmp_path, 2, "within_tolerance", case={"name": "hostile"})
    (bad / "metrics.json").write_text(content)
    _rehash(bad)
    bundle(tmp_path, 3, "divergent")
    assert main(["history", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [a["verdict"] for a in doc["attempts"]] == ["within_tolerance", "unreadable", "divergent"]
    assert reason in doc["attempts"][1]["reason"] and doc["attempts"][1]["intact"] is False
    assert doc["attempts"][2]["change"] == "verdict within_tolerance→divergent"
    assert [u["bundle"] for u in doc["unreadable"]] == [bad.name]
    assert main(["history", str(tmp_path)]) == 0
    assert "unreadable" in capsys.readouterr().out


def _rehash(b: Path, drop=()) -> None:
    import hashlib

    names = sorted(p.name for p in b.iterdir() if p.name != "sha256.txt" and p.name not in drop)
    (b / "sha256.txt").write_text("".join(f"{hashlib.sha256((b / n).read_bytes()).hexdigest()}  {n}\n"
                                          for n in names))


def test_bundles_failing_verify_are_incomplete_rows_never_a_baseline(tmp_path):
    bundle(tmp_path, 1, "divergent", first="fluence")
    gone = bundle(tmp_path, 2, "within_tolerance")
    (gone / "py_trace.log").unlink()
    _rehash(gone)
    empty = tmp_path / "20260101T000003Z_empty"
    empty.mkdir()
    (empty / "sha256.txt").write_text("")
    temp = bundle(tmp_path, 4, "within_tolerance")
    temp = temp.rename(tmp_path / f".{temp.name}.tmp-123-456")
    bundle(tmp_path, 5, "within_tolerance")
    r = rows(tmp_path)
    by = {x["bundle"]: x for x in r}
    assert by[gone.name]["verdict"] == "incomplete"
    assert "required file not in sha256.txt (compare bundle): py_trace.log" in by[gone.name]["reason"]
    assert by[empty.name]["verdict"] == "incomplete" and "sha256.txt lists no files" in by[empty.name]["reason"]
    assert by[temp.name]["verdict"] == "incomplete"
    assert "temporary folder of an unfinished bundle write" in by[temp.name]["reason"]
    # the last good attempt is compared with the first, not with the incomplete ones between them
    assert r[-1]["bundle"].endswith("_cubic") and r[-1]["intact"]
    assert r[-1]["change"] == "verdict divergent→within_tolerance; first divergence config.fluence[0]→none"


def test_terminal_ledger_fits_120_columns(tmp_path, capsys):
    long = "x" * 200
    bundle(tmp_path, 1, "within_tolerance", case={"name": "a-very-long-case-name-" + long}, note="n" * 300,
           identity=ident(kind="port", command="python -m some.long.module.path " + long))
    bundle(tmp_path, 2, "divergent", case={"name": "a-very-long-case-name-" + long}, first="k" * 100,
           identity=ident(kind="port", command="python -m some.long.module.path " + long))
    broken = bundle(tmp_path, 3, "within_tolerance")
    (broken / "summary.md").write_text("edited " * 100)
    assert main(["history", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    widths = [len(ln) for ln in out.splitlines()]
    assert max(widths) <= 120, max(widths)
    assert "C c0ffee00 R1 · torch port python -m some.long.module.path xx… · note: nnn" in out
    assert "* verdict within_tolerance→divergent" in out and "! manifest check failed: changed: summary.md" in out


def test_real_compare_bundle_in_the_ledger(tmp_path, capsys):
    from tests.robustness import c_binary

    out = tmp_path / "reports"
    args = ["compare", "--pixel", "3", "4", "--args", TINY, "--c-bin", str(c_binary()), "--out", str(out),
            "--no-attribution", "--json"]
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        assert main(args) == 0
    b = Path(json.loads(buf.getvalue())["bundle"])
    env = json.loads((b / "env.json").read_text())
    df = load_history(out)
    assert len(df) == 1 and df.attrs["unreadable"] == []
    r = df.iloc[0]
    assert (r["kind"], r["verdict"], r["pixel"], r["c_line"], r["torch_kind"]) == (
        "compare", "identical", "3 4", "R1", "simulator")
    assert r["git_sha"] == env["git"]["sha"][:12] and r["dtype"] == "float64" and r["intact"]
    assert r["rel_I_pixel_final"] == 0.0 and r["change"] == "" and r["c_binary"].endswith("nanoBragg")
    assert r["torch"] == f"sim {env['git']['sha'][:8]}{'+' if env['git']['dirty'] else ''} float64 {r['quirks']}"


def test_wrong_field_types_are_unknown_cells_not_a_crash(tmp_path, capsys):
    bundle(tmp_path, 1, "identical", pixel={"slow": "abc", "fast": [1]}, note={"x": 1}, case=[1, 2])
    bundle(tmp_path, 2, {"a": 1}, identity={"c": [1], "torch": {"kind": 5, "dtype": {"x": 1}, "git_sha": 12345}},
           comparison={"first_divergence": {"phi_tic": "x"}, "root_causes": "abc"})
    bundle(tmp_path, 3, "identical", first_divergent_step={"phi_deg": "q"}, volatile=[1])
    r = rows(tmp_path)
    assert [(x["case"], x["pixel"], x["note"], x["verdict"]) for x in r] == [
        (None, "", None, "identical"), ("cubic", "3 4", None, "incomplete"), ("cubic", "3 4", None, "identical")]
    assert r[1]["torch"] == "sim ffffffff+ ? ?" and (r[1]["c_sha256"], r[1]["c_line"]) == (None, None)
    assert r[1]["reason"] == "unknown verdict \"{'a': 1}\"" and r[1]["root_causes"] == "abc"
    assert r[2]["first_divergence"] == "φ_tic None (q°)" and r[2]["time"] == "2026-01-01T00:00:03Z"
    assert main(["history", str(tmp_path), "--json"]) == 0 and len(json.loads(capsys.readouterr().out)["attempts"]) == 3
