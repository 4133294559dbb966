"""Probes (sincg, single-φ, rotation) and the attempt ledger on real runs of both sides."""

import json
import math
from pathlib import Path

import pytest

from nbparity import cbuild, load_history
from nbparity.bundle import verify_bundle
from nbparity.cli import main

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "supervisor"   # ../shared beside the repo
PIXEL = ("685", "1039")


def _missing() -> str | None:
    if not any("main(" in p.read_text(errors="replace") for p in cbuild.default_sources()):
        return "c_reference has no main program yet"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=f"pieces missing: {_missing()}")
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/supervisor absent")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("NBPARITY_DATA", raising=False)
    monkeypatch.delenv("NBPARITY_TEST_PERTURB", raising=False)


def _run(capsys, *args):
    rc = main([*args, "--json"])
    return rc, json.loads(capsys.readouterr().out)


def _probe(capsys, tmp_path, kind, *extra):
    return _run(capsys, "probe", kind, "--pixel", *PIXEL, "--out", str(tmp_path / "reports"), *extra)


def _trace_phi(bundle_log: str, prefix="TRACE_C_PHI"):
    rows = []
    for ln in bundle_log.splitlines():
        if ln.startswith(prefix + " "):
            rows.append(dict(t.split("=", 1) for t in ln.split()[1:]))
    return rows


# ----------------------------------------------------------------------------- sincg


@pytest.mark.parametrize("case", [None, pytest.param("supervisor", marks=needs_shared)])
def test_sincg_c_formula_reproduces_the_traced_c_factors(capsys, tmp_path, case):
    from nbparity.probes.sincg import c_sincg

    extra = ["--case", case, "--data-dir", str(SHARED)] if case else []
    rc, doc = _probe(capsys, tmp_path, "sincg", "--points", "201", *extra)
    b = Path(doc["bundle"])
    assert verify_bundle(b).ok
    assert {"sincg.csv", "sincg.md", "sincg.png", "report.html", "metrics.json"} <= {p.name for p in b.iterdir()}
    m = json.loads((b / "metrics.json").read_text())
    assert m["case"]["name"] == (case or "supervisor-synthetic")
    # the real C printed F_latt_a/b/c at every φ step: our float64 transcription of its formula gives them
    # bit for bit at the traced h, k, l
    sweep_c = json.loads((b / "metrics.json").read_text())["N"]
    rot = main(["probe", "rotation", "--pixel", *PIXEL, "--out", str(tmp_path / "r2"), "--json", *extra])
    rdoc = json.loads(capsys.readouterr().out)
    assert rot == 0
    steps = _trace_phi((Path(rdoc["bundle"]) / "c_trace.log").read_text())
    assert len(steps) == 10
    for s in steps:
        for axis, n, f in (("h", "Na", "F_latt_a"), ("k", "Nb", "F_latt_b"), ("l", "Nc", "F_latt_c")):
            assert c_sincg([float(s[f"{axis}_frac"])], sweep_c[n])[0] == float(s[f])
    # float64: the simulator's torch.sin is within the lattice tolerance of libm everywhere swept
    assert rc == 0 and doc["verdict"] in ("identical", "within_tolerance")
    worst = max(v["abs_diff"] for v in doc["largest_difference"].values())
    assert worst < 1e-12
    assert len((b / "sincg.csv").read_text().splitlines()) - 1 >= 3 * 201 and set(doc["pixel_hkl"]) == {"h", "k", "l"}
    assert len(doc["pixel_hkl"]["k"]["per_phi"]) == 10
    # the torch side's traced lattice factors, every φ step of every axis, against the C formula
    assert len(doc["traced"]) == 30 and all(r["status"] == "identical" for r in doc["traced"])
    assert m["kind"] == "probe" and m["probe"] == "sincg" and m["schema"] == "nbparity.metrics/2"


def test_sincg_float32_differs_by_float32_rounding(capsys, tmp_path):
    rc, doc = _probe(capsys, tmp_path, "sincg", "--dtype", "float32", "--points", "101")
    m = json.loads((Path(doc["bundle"]) / "metrics.json").read_text())
    worst = max(v["abs_diff"] for v in doc["largest_difference"].values())
    # float32 results of an O(N) function: not exact, but within a few float32 ulps of N=47
    assert 0 < worst < 47 * 2 ** -20
    assert m["tolerance"]["rtol"] > 1e-9   # the float32 lattice tolerance was used


# ----------------------------------------------------------------------------- single φ


def test_single_phi_placement_changes_only_phi(tmp_path):
    from simulator.argv import parse_argv

    from nbparity.cases import resolve_case
    from nbparity.probes.single_phi import PHI_FIELDS, _changed, single_phi_argv

    argv = resolve_case("supervisor-synthetic").argv
    out = single_phi_argv(argv, 0.05)
    a, b = parse_argv(argv), parse_argv(out)
    assert _changed(a, b) <= PHI_FIELDS and b.phisteps == 1 and b.osc == 0.0
    assert math.isclose(math.degrees(b.phi0), 0.05, rel_tol=1e-15)
    # an argv whose last option would swallow appended tokens is placed elsewhere (or refused), never
    # parsed differently: R1's -misset substring rule reads three numbers after -misset_seed
    tricky = [*argv, "-misset_seed", "3"]
    out = single_phi_argv(tricky, 0.05)
    assert _changed(parse_argv(tricky), parse_argv(out)) <= PHI_FIELDS


def test_single_phi_default_case_and_one_sided_spindle(capsys, tmp_path, monkeypatch):
    rc, doc = _probe(capsys, tmp_path, "single-phi")
    assert rc == 0 and doc["first_divergent_step"] is None and doc["verdict"] == "identical"
    assert [s["phi_tic"] for s in doc["steps"]] == list(range(10))
    assert all(s["status"] == "identical" and s["I_pixel_final_c"] == s["I_pixel_final_py"] for s in doc["steps"])
    b = Path(doc["bundle"])
    assert verify_bundle(b).ok and (b / "single_phi.csv").is_file() and (b / "report.html").is_file()
    argvs = json.loads((b / "metrics.json").read_text())["argv_per_step"]
    assert all(a[len(a) - a[::-1].index("-phisteps")] == "1" for a in argvs)   # the last -phisteps wins
    # each single-step C trace really ran one φ step at the case's angle
    logs = [_trace_phi((b / f"c_phi{i}.log").read_text()) for i in range(10)]
    assert [len(rows) for rows in logs] == [1] * 10
    assert [round(float(rows[0]["phi_deg"]), 12) for rows in logs] == [round(0.01 * i, 12) for i in range(10)]
    monkeypatch.setenv("NBPARITY_TEST_PERTURB", "spindle_axis:-1")
    rc, doc = _probe(capsys, tmp_path, "single-phi")
    assert rc == 1 and doc["first_divergent_step"]["phi_tic"] == 0 and doc["verdict"] == "divergent"
    assert all(s["status"] == "divergent" for s in doc["steps"])
    assert "spindle" in doc["steps"][1]["root_causes"] or "spindle" in doc["steps"][1]["first_divergence"]


@needs_shared
def test_single_phi_supervisor(capsys, tmp_path):
    rc, doc = _probe(capsys, tmp_path, "single-phi", "--case", "supervisor", "--data-dir", str(SHARED))
    assert rc == 0 and len(doc["steps"]) == 10 and doc["first_divergent_step"] is None
    values = [s["I_pixel_final_c"] for s in doc["steps"]]
    assert all(v > 0 for v in values) and len(set(values)) == 10   # ten different single-φ intensities
    assert verify_bundle(Path(doc["bundle"])).ok


# ----------------------------------------------------------------------------- rotation


@pytest.mark.parametrize("case", [None, pytest.param("supervisor", marks=needs_shared)])
def test_rotation_side_by_side(capsys, tmp_path, case):
    extra = ["--case", case, "--data-dir", str(SHARED)] if case else []
    rc, doc = _probe(capsys, tmp_path, "rotation", *extra)
    assert rc == 0 and doc["first_divergent_step"] is None and doc["verdict"] == "identical"
    assert doc["source"]["C"].startswith("per-φ fields") and doc["source"]["torch"].startswith("per-φ fields")
    rows = doc["rows"]
    assert len(rows) == 10 * 6 * 3 and all(r["abs_diff"] == 0.0 for r in rows)
    # the derived reciprocal basis is the inverse transpose of the real one: a·a* = 1, a·b* = 0
    step = {(r["vector"], r["component"]): r["c"] for r in rows if r["phi_tic"] == 3}
    vec = {v: [step[(v, x)] for x in "xyz"] for v in ("a", "b", "c", "a*", "b*", "c*")}
    dot = lambda u, w: sum(p * q for p, q in zip(u, w))  # noqa: E731
    assert math.isclose(dot(vec["a"], vec["a*"]), 1.0, rel_tol=1e-14)
    assert abs(dot(vec["a"], vec["b*"])) < 1e-14
    assert verify_bundle(Path(doc["bundle"])).ok


def test_rotation_finds_first_rotated_step(capsys, tmp_path, monkeypatch):
    """A flipped spindle on the torch side. The pixel's φ step 0 runs on the vectors its predecessor left
    at the last step (C-PARITY-001 carry-over, emulated in c mode), so step 0 already diverges, by
    exactly the amount step 9 does."""
    monkeypatch.setenv("NBPARITY_TEST_PERTURB", "spindle_axis:-1")
    rc, doc = _probe(capsys, tmp_path, "rotation")
    assert rc == 1 and doc["verdict"] == "divergent"
    fd = doc["first_divergent_step"]
    assert fd["phi_tic"] == 0 and fd["vector"] == "a" and fd["component"] == "y"
    by = {(r["phi_tic"], r["vector"], r["component"]): r for r in doc["rows"]}
    for v in ("a", "b", "c"):
        assert by[(0, v, "x")]["status"] == "identical"     # the spindle is along x: x is never rotated
        for x in "xyz":
            assert by[(0, v, x)]["c"] == by[(9, v, x)]["c"] and by[(0, v, x)]["torch"] == by[(9, v, x)]["torch"]
    assert by[(1, "a", "y")]["abs_diff"] < by[(0, "a", "y")]["abs_diff"]   # φ = 0.01° is closer than 0.09°
    assert any(n.startswith("C: φ step 0 ran on the vectors of step 9") for n in doc["notes"])


def test_rotation_reads_a_build_without_per_phi_vectors(tmp_path):
    """Another build's trace (no rot_[abc]_[xyz] fields): step 0 from the per-pixel block."""
    from nbparity.probes.rotation import real_vectors
    from nbparity.traces import parse_trace

    golden = Path(__file__).resolve().parents[2] / "traces" / "golden" / "basic_c.log"
    vecs = real_vectors(parse_trace(golden.read_text(), source="c"))
    assert list(vecs) == [0] and all(len(vecs[0][v]) == 3 for v in "abc")


def test_probe_bad_pixel_is_exit_2(capsys, tmp_path):
    rc = main(["probe", "sincg", "--pixel", "99999", "1", "--out", str(tmp_path / "r")])
    assert rc == 2 and "not rendered" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


# ----------------------------------------------------------------------------- history


def test_history_ledger_marks_changes_and_lists_unreadable(capsys, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    cmp = ["compare", "--pixel", *PIXEL, "--quirks", "c", "--no-attribution", "--out", str(out)]
    assert _run(capsys, *cmp)[0] == 0
    monkeypatch.setenv("NBPARITY_TEST_PERTURB", "fluence:1.5")
    assert _run(capsys, *cmp)[0] == 1
    monkeypatch.delenv("NBPARITY_TEST_PERTURB")
    assert _run(capsys, *cmp)[0] == 0
    assert _probe(capsys, tmp_path, "rotation")[0] == 0
    # damage: a tampered bundle and a directory that only pretends to be one
    bundles = sorted(p for p in out.iterdir())
    (out / "junk").mkdir()
    (out / "junk" / "metrics.json").write_text("{not json")
    all_rows = load_history(out)
    # the directory that only pretends to be a bundle is a row of its own, never dropped
    junk = all_rows[all_rows["bundle"] == "junk"]
    assert list(junk["verdict"]) == ["unreadable"] and not junk["intact"].iloc[0]
    df = all_rows[all_rows["bundle"] != "junk"].reset_index(drop=True)
    assert list(df["kind"]) == ["compare", "compare", "compare", "probe-rotation"]
    assert list(df["verdict"]) == ["identical", "divergent", "identical", "identical"]
    assert df["change"].iloc[0] == "" and df["change"].iloc[1].startswith("verdict identical→divergent")
    assert "first divergence none→" in df["change"].iloc[1]
    assert "verdict divergent→identical" in df["change"].iloc[2]
    assert df["change"].iloc[3] == ""   # a probe is not an attempt of the compare series
    assert df["rel_I_pixel_final"].iloc[0] == 0.0
    assert math.isclose(df["rel_I_pixel_final"].iloc[1], 0.5, rel_tol=1e-9)   # fluence ×1.5
    assert df["first_divergence"].iloc[1].startswith("config.fluence")
    assert df["pixel"].iloc[0] == "685 1039" and df["quirks"].iloc[0] == "c" and df["dtype"].iloc[0] == "float64"
    assert len(df["git_sha"].iloc[0]) == 12 and df["dirty"].iloc[0] in (True, False)
    assert df["c_line"].iloc[0] == "R1" and df["torch_kind"].iloc[0] == "simulator" and df["intact"].all()
    assert [u["bundle"] for u in all_rows.attrs["unreadable"]] == ["junk"]
    assert "no sha256.txt" in all_rows.attrs["unreadable"][0]["reason"]
    (bundles[0] / "summary.md").write_text("edited")
    rc, doc = _run(capsys, "history", str(out), "--plot", str(tmp_path / "h.png"))
    intact = [a for a in doc["attempts"] if a["intact"]]
    assert rc == 0 and len(intact) == 3 and len(doc["attempts"]) == 5
    reasons = {u["bundle"]: u["reason"] for u in doc["unreadable"]}
    assert set(reasons) == {bundles[0].name, "junk"} and "changed: summary.md" in reasons[bundles[0].name]
    edited = [a for a in doc["attempts"] if a["bundle"] == bundles[0].name]
    assert [a["verdict"] for a in edited] == ["incomplete"]
    png = (tmp_path / "h.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000
    rc, doc = _run(capsys, "history", str(out), "--pixel", "1", "2")
    assert doc["attempts"] == []
    assert main(["history", str(out), "--csv", "--case", "supervisor-synthetic"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # the two intact compare attempts, the probe and the edited (now incomplete) first compare
    assert lines[0].startswith("time,bundle,kind,case,pixel") and len(lines) == 1 + 4
    assert sum(",incomplete," in ln for ln in lines[1:]) == 1
    assert main(["history", str(out), "--csv", "--case", "supervisor-synthetic", "--kind", "probe"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 1
    assert main(["history", str(tmp_path / "nowhere")]) == 2
