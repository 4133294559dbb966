"""Issue 13: one reader per source format, partial traces, per-φ-only inputs, aliases, extra prefixes.

Hand-made inputs built from the golden pair traces/golden/basic_{c,py}.log (a real C / torch trace of
one pixel, 3 φ steps), one test per format and per rule."""

import json
import math
from pathlib import Path

import pytest

import nbparity
from nbparity.cli import main
from nbparity.commands.diff import diff_logs
from nbparity.trace import detect_format, parse_trace

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "golden"
C_LOG = GOLDEN / "basic_c.log"
C_TEXT = C_LOG.read_text()
PY_TEXT = (GOLDEN / "basic_py.log").read_text()
REQUIRED = ("phi_tic", "phi_deg", "k_frac", "F_latt_b", "F_latt")


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def diff_json(capsys, *args):
    rc = main(["diff", *map(str, args), "--json"])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if out.strip() else None), err


def py_phi_records():
    """The torch side's per-φ lines as dicts of the five required fields (printed strings)."""
    out = []
    for line in PY_TEXT.splitlines():
        if line.startswith("TRACE_PY_PHI "):
            fields = dict(tok.split("=", 1) for tok in line.split()[1:])
            out.append({k: fields[k] for k in REQUIRED})
    return out


def phi_only_log(records):
    return "".join("TRACE_PY_PHI " + " ".join(f"{k}={r[k]}" for k in REQUIRED) + "\n" for r in records)


# --- format detection and --format -------------------------------------------------------------------


def test_detection_names_each_format(tmp_path):
    assert detect_format(C_TEXT)[0] == "trace-log"
    assert detect_format(phi_only_log(py_phi_records()))[0] == "phi-log"
    assert detect_format(json.dumps({"metadata": {}, "traces": []}))[0] == "phi-json"
    assert detect_format("φ_tic   φ (deg)    k_frac\n0       0.0        -0.05\n")[0] == "phi-table"


def test_diff_says_which_format_it_read_and_format_overrides(tmp_path, capsys):
    rc, doc, _ = diff_json(capsys, C_LOG, GOLDEN / "basic_py.log")
    assert rc == 0 and doc["inputs"]["C"]["format"] == "trace-log"
    # --format phi-log reads only the per-φ lines of the same files: 30 φ values, no per-pixel value
    rc, doc, _ = diff_json(capsys, C_LOG, GOLDEN / "basic_py.log", "--format", "phi-log")
    assert rc == 0 and doc["inputs"]["torch"]["format"] == "phi-log"
    assert doc["inputs"]["torch"]["format_reason"] == "chosen with --format"
    assert doc["counts"]["by_section"] == {"phi": 30}
    rc = main(["diff", str(C_LOG), str(C_LOG), "--format", "xml"])
    assert rc == 2 and "--format" in capsys.readouterr().err


def test_load_trace_is_exported_for_notebooks():
    frames = nbparity.load_trace(C_LOG)
    assert frames.format == "trace-log" and len(frames.values) == 100


# --- partial traces ------------------------------------------------------------------------------------


def test_scaling_subset_compares_shared_keys_and_counts_one_sided(tmp_path, capsys):
    keep = ("I_before_scaling", "r_e_sqr", "fluence_photons_per_m2", "steps", "capture_fraction", "polar",
            "omega_pixel", "I_pixel_final")
    sub = "".join(l + "\n" for l in PY_TEXT.splitlines() if l.split(" ")[1:2] and l.split(" ")[1] in keep
                  and l.startswith("TRACE_PY: "))
    rc, doc, _ = diff_json(capsys, C_LOG, write(tmp_path, "sub.log", sub))
    # the C side printed 179 values the subset lacks, declared nowhere: not compared, so incomplete
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete" and doc["counts"]["compared"] == 8
    n_one = doc["counts"]["one_sided"] + doc["counts"]["config_one_sided"]
    assert n_one == 100 - 8 + 87 and f"8 values compared (8 per-pixel), {n_one} one-sided" in doc["verdict"]
    # undeclared: all but the config echo (87) and the extended φ fields (6 × 3 steps) that our builds
    # print alone (traces/one_sided.toml) against another build (this subset has no config echo)
    assert doc["counts"]["one_sided_undeclared"] == 100 - 8 - 6 * 3 and doc["builds"] == {"C": "ours", "torch": None}
    # naming the keys that decide (the scaling preset: exactly these eight) makes it a pass
    rc, doc, _ = diff_json(capsys, C_LOG, write(tmp_path, "sub.log", sub), "--keys", "scaling")
    assert rc == 0 and doc["judgement"]["verdict"] == "identical" and doc["counts"]["deciding"] == 8
    # the same subset with a wrong polar is a divergence, not a refusal
    bad = sub.replace("TRACE_PY: polar 0.99996375262793435", "TRACE_PY: polar 0.5")
    rc, doc, _ = diff_json(capsys, C_LOG, write(tmp_path, "bad.log", bad))
    assert rc == 1 and doc["first_divergence"]["key"] == "polar"


def test_record_cut_mid_line_is_the_only_truncation(tmp_path):
    cut = C_TEXT[: C_TEXT.index("TRACE_C: I_pixel_final") + 27]
    r = diff_logs(write(tmp_path, "cut.log", cut), GOLDEN / "basic_py.log")
    assert "input truncated" in r.verdict and "cut mid-record" in r.inputs["C"]["truncation"]
    # the missing part holds the final pixel value: incomplete, never parity
    assert r.exit_code == 1 and r.judgement.verdict.value == "incomplete"
    assert "C input truncated" in r.judgement.reason and "I_pixel_final" in r.judgement.reason
    assert r.counts["compared"] == 100 - 2  # everything before the cut line (I_pixel_final, floatimage_acc.)


# --- per-φ-only inputs ---------------------------------------------------------------------------------


def test_phi_only_log_aligns_by_phi_tic_not_position(tmp_path, capsys):
    recs = py_phi_records()
    recs[1]["k_frac"] = repr(float(recs[1]["k_frac"]) + 1e-6)
    log = write(tmp_path, "phi.log", phi_only_log(list(reversed(recs))))   # list order reversed
    rc, doc, _ = diff_json(capsys, C_LOG, log)
    assert rc == 1 and doc["inputs"]["torch"]["format"] == "phi-log"
    s = doc["per_phi_summary"]
    assert s["steps"] == 3 and s["failing_phi_tics"] == [1]
    assert s["first_divergent"]["phi_tic"] == 1 and "k_frac" in s["first_divergent"]["fields"]
    step1 = next(r for r in doc["per_phi"] if r["phi_tic"] == 1)
    assert step1["k_frac_delta"] == pytest.approx(1e-6, rel=1e-6)                        # Δk
    assert all(r["phi_deg_delta"] == 0 and r["F_latt_delta"] == 0 for r in doc["per_phi"])
    assert doc["counts"]["by_section"] == {"phi": 12}          # 4 shared fields × 3 steps (phi_tic = index)
    rc, out = main(["diff", str(C_LOG), str(log)]), capsys.readouterr().out
    assert rc == 1 and "per-φ steps (3 aligned by (occurrence, phi_tic); first divergent step: 1" in out
    assert "Δk_frac" in out


def test_phi_only_log_against_itself_is_parity(tmp_path, capsys):
    log = write(tmp_path, "phi.log", phi_only_log(py_phi_records()))
    rc, doc, _ = diff_json(capsys, log, log)
    assert rc == 0 and doc["per_phi_summary"]["first_divergent"] is None and doc["counts"]["compared"] == 12


@pytest.mark.parametrize("list_key", ["traces", "per_phi_entries"])
def test_phi_json_records_keyed_by_their_phi_tic(tmp_path, capsys, list_key):
    recs = [{k: (int(v) if k == "phi_tic" else float(v)) for k, v in r.items()} for r in py_phi_records()]
    doc = {"metadata": {"timestamp": "now", "dtype": "float64"}, list_key: [recs[2], recs[0], recs[1]]}
    js = write(tmp_path, "phi.json", json.dumps(doc))
    f = parse_trace(js.read_text())
    assert f.format == "phi-json" and set(f.values["section"]) == {"phi"} and len(f.values) == 12
    assert "timestamp" in f.other["text"].iloc[0]          # metadata kept aside, not compared
    rc, out, _ = diff_json(capsys, C_LOG, js)
    # per-φ records only against a full C trace: the per-pixel values were not compared
    assert rc == 1 and out["judgement"]["verdict"] == "incomplete" and out["counts"]["by_section"] == {"phi": 12}
    assert out["not_compared"]["pixel"] == "per-pixel not compared (only the C side printed per-pixel lines)"
    rc, out, _ = diff_json(capsys, C_LOG, js, "--keys", "phi")
    assert rc == 0 and out["judgement"]["verdict"] == "identical" and out["counts"]["deciding"] == 12
    # cut mid-record: the complete records before the cut are compared, the cut is reported
    text = js.read_text()
    cut = write(tmp_path, "cut.json", text[: text.rindex('"phi_deg"')])
    f = parse_trace(cut.read_text())
    assert f.truncated and len(f.values) == 8


def test_phi_table_reader(tmp_path, capsys):
    recs = py_phi_records()
    rows = "".join(f"{r['phi_tic']}       {float(r['phi_deg']):.6f}   {float(r['k_frac']):.6f}\n" for r in recs)
    table = "Per-φ Trace Summary\n\nφ_tic   φ (deg)    k_frac\n" + "-" * 30 + "\n" + rows + "\nSaved.\n"
    t = write(tmp_path, "table.log", table)
    f = parse_trace(t.read_text())
    assert f.format == "phi-table" and sorted(set(f.values["key"])) == ["k_frac", "phi_deg"]
    assert {a["name"] for a in f.aliases} == {"φ_tic", "φ (deg)"}       # declared aliases, recorded
    rc, doc, _ = diff_json(capsys, C_LOG, t)
    assert rc == 1 and doc["per_phi_summary"]["steps"] == 3   # 6 printed digits: an honest divergence
    rc, doc, _ = diff_json(capsys, t, t)
    assert rc == 0


# --- aliases ---------------------------------------------------------------------------------------------


def test_alias_applies_only_where_declared_with_its_factor(tmp_path, capsys):
    recs = [{"phi_tic": int(r["phi_tic"]), "phi_rad": math.radians(float(r["phi_deg"])),
             "k_frac": float(r["k_frac"])} for r in py_phi_records()]
    js = write(tmp_path, "rad.json", json.dumps({"per_phi_entries": recs}))
    f = parse_trace(js.read_text())
    deg = f.values[f.values["key"] == "phi_deg"].set_index("phi_tic")["value"]
    assert deg[1] == pytest.approx(0.1, rel=1e-15) and f.aliases[0]["source"] == "phi-json"
    rc, doc, _ = diff_json(capsys, C_LOG, js, "--keys", "phi_deg,k_frac")
    assert rc == 0 and doc["inputs"]["torch"]["aliases"][0]["name"] == "phi_rad"
    # the same name in a per-φ log is not declared for that source: it stays as printed, one-sided
    log = write(tmp_path, "rad.log", "".join(
        f"TRACE_PY_PHI phi_tic={r['phi_tic']} phi_rad={r['phi_rad']!r} k_frac={r['k_frac']!r}\n" for r in recs))
    rc, doc, _ = diff_json(capsys, C_LOG, log, "--keys", "phi_deg,k_frac")
    assert any(o["key"] == "phi_rad" and o["side"] == "PY" for o in doc["one_sided"])
    # phi_deg is then printed by the C side only: a key that decides must be on both sides
    assert rc == 1 and doc["judgement"]["parts"]["keys"]["reason"] == (
        "--keys named keys not printed by both sides: phi_deg (absent on the torch side)")


def test_unit_suspect_hint_stays(tmp_path, capsys):
    py = PY_TEXT.replace("TRACE_PY: close_distance_meters 0.10000000000000001",
                         "TRACE_PY: close_distance_meters 100.00000000000001")
    rc, doc, _ = diff_json(capsys, C_LOG, write(tmp_path, "mm.log", py))
    assert rc == 1 and any(h["key"] == "close_distance_meters" and h["factor"] == "1e3" for h in doc["hints"])


# --- extra prefixes and text values ----------------------------------------------------------------------


def test_extra_prefixes_are_sections_compared_when_both_have_them(tmp_path, capsys):
    tap = "TRACE_C_TAP5: pixel 0 0\nTRACE_C_TAP5: I_pixel_final 0.5\nTRACE_C_SOURCE2: F_cell 100\n"
    c = write(tmp_path, "c.log", C_TEXT + tap)
    py_same = write(tmp_path, "py.log", PY_TEXT + tap.replace("TRACE_C_", "TRACE_PY_"))
    rc, doc, _ = diff_json(capsys, c, py_same)
    assert rc == 0 and doc["counts"]["by_section"]["tap5"] == 3 and doc["counts"]["by_section"]["source2"] == 1
    py_other = write(tmp_path, "py2.log", PY_TEXT + tap.replace("TRACE_C_", "TRACE_PY_").replace("0.5", "0.25"))
    rc, doc, _ = diff_json(capsys, c, py_other)
    assert rc == 1 and doc["first_divergence"]["section"] == "tap5"
    # only one side has them: one-sided, and never confused with the per-pixel key of the same name
    rc, doc, _ = diff_json(capsys, c, GOLDEN / "basic_py.log")
    assert {o["node"] for o in doc["one_sided"]} >= {"tap5.I_pixel_final", "source2.F_cell"}
    # two sides of one build (ours) print the same keys: undeclared one-sided values, incomplete
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"
    assert "(the torch side lacks tap5.pixel, tap5.I_pixel_final, source2.F_cell)" in doc["judgement"]["reason"]


GEOMETRY = ("TRACE_C:detector_convention=CUSTOM\nTRACE_C:angles_rad=rotx:0 roty:-0 rotz:0.5 twotheta:0\n"
            "TRACE_C:beam_center_m=X:8.25e-06 Y:8.25e-06 pixel_mm:0.5\nTRACE_C:Rx=[1 0 0; 0 1 -0; 0 0 1]\n")


def test_text_values_compare_as_text_and_a_file_with_itself_is_parity(tmp_path, capsys):
    c = write(tmp_path, "c.log", GEOMETRY + C_TEXT)
    rc, doc, _ = diff_json(capsys, c, c)
    assert rc == 0 and doc["counts"]["failed"] == 0
    f = parse_trace(c.read_text())
    conv = f.values[f.values["key"] == "detector_convention"]
    assert list(conv["raw"]) == ["CUSTOM"] and len(f.values[f.values["key"] == "Rx"]) == 9
    assert list(f.values[f.values["key"] == "beam_center_m"]["value"]) == [8.25e-06, 8.25e-06, 0.5]
    other = write(tmp_path, "o.log", GEOMETRY.replace("CUSTOM", "MOSFLM") + C_TEXT)
    rc, doc, _ = diff_json(capsys, c, other)
    assert rc == 1 and doc["first_divergence"]["key"] == "detector_convention"


# --- exit 2 only when nothing is there --------------------------------------------------------------------


@pytest.mark.parametrize("text,needle", [
    ("nanoBragg banner\n  42% done\nTRACE: free text only\n", "holds no trace value"),
    ('{"metadata": {"dtype": "float64"}}', "holds no trace value"),
    ("   TRACE_C_PHI φ_tic=<idx> phi_deg=<angle> k=<val>\n", "holds no trace value"),
])
def test_no_trace_value_at_all_is_exit_2_with_the_reason(tmp_path, capsys, text, needle):
    rc = main(["diff", str(C_LOG), str(write(tmp_path, "x.log", text))])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_traces_without_a_common_value_are_not_parity(tmp_path, capsys):
    geo = write(tmp_path, "geo.log", GEOMETRY)
    rc, doc, _ = diff_json(capsys, geo, GOLDEN / "basic_py.log")
    assert rc == 1 and doc["verdict"].startswith("INCOMPLETE: nothing in common") and "0 values compared" in doc["verdict"]


def test_older_build_pixel_name_maps_through_its_declared_alias(tmp_path, capsys):
    old = C_TEXT.replace("TRACE_C: fluence_photons_per_m2 ", "TRACE_C: fluence ")
    assert old != C_TEXT
    rc, doc, _ = diff_json(capsys, write(tmp_path, "old.log", old), GOLDEN / "basic_py.log")
    assert rc == 0 and doc["counts"]["one_sided"] == 0
    assert doc["inputs"]["C"]["aliases"][0]["key"] == "fluence_photons_per_m2"
    # an undeclared spelling of the same quantity stays one-sided
    odd = C_TEXT.replace("TRACE_C: fluence_photons_per_m2 ", "TRACE_C: photon_fluence ")
    rc, doc, _ = diff_json(capsys, write(tmp_path, "odd.log", odd), GOLDEN / "basic_py.log")
    assert {o["key"] for o in doc["one_sided"]} == {"photon_fluence", "fluence_photons_per_m2"}
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete"   # declared nowhere: not compared


def test_phi_records_without_occurrence_meet_only_the_first_subpixel(tmp_path, capsys):
    """A per-φ-only log of one sub-pixel against an oversampled C trace: the C steps of the other
    sub-pixels are one-sided, the first sub-pixel's steps are compared."""
    c_text = (GOLDEN / "subpixels_c.log").read_text()
    first = [l for l in c_text.splitlines() if l.startswith("TRACE_C_PHI ") and "subS=0 subF=0" in l]
    recs = [dict(tok.split("=", 1) for tok in l.split()[1:]) for l in first]
    log = write(tmp_path, "phi.log", phi_only_log(recs))
    rc, doc, _ = diff_json(capsys, GOLDEN / "subpixels_c.log", log, "--keys", "phi")
    assert doc["counts"]["by_section"] == {"phi": 4 * len(recs)} and doc["counts"]["failed"] == 0
    assert any(o["node"] == "phi.k_frac" and o["side"] == "C" for o in doc["one_sided"])
    # the other sub-pixels' steps were not compared: incomplete, and the per-φ table says so
    assert rc == 1 and doc["judgement"]["verdict"] == "incomplete", doc["verdict"]
    s = doc["per_phi_summary"]
    assert (s["compared_steps"], s["one_sided_steps"]) == (len(recs), 3 * len(recs))
    assert {r["status"] for r in doc["per_phi"] if r["occurrence"] != "0,0,0"} == {"one-sided"}


@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000, '{"traces": [{"phi_tic": 0, "k_frac": 1' + "0" * 400 + "}]}",
                                  '{"per_phi_entries": [{"phi_tic": 0, "k_frac": 0.5}, {"phi_tic": 1, "k_fr'])
def test_hostile_json_never_crashes(tmp_path, capsys, text):
    p = write(tmp_path, "x.json", text)
    rc = main(["diff", str(p), str(p)])
    err = capsys.readouterr().err
    assert rc in (0, 1, 2) and "internal error" not in err and "Traceback" not in err
