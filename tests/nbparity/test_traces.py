"""parse_trace: every family and legacy variant, occurrences, robustness (hypothesis)."""

import math
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbparity.errors import UsageError
from nbparity.schema import load_schema
from nbparity.traces import load_trace, parse_trace

GOLDEN = Path(__file__).resolve().parents[2] / "traces" / "golden"
SCHEMA = load_schema()
NOISE = ["   42% done", "TRACE: free text during setup a=1", "DETECTOR_PIX0_VECTOR 0.1 0.2 0.3",
         "TRACE_CONFIG: banner v2", "TRACE_C_TAP5 h=1 k=2", "WARNING: auto-generating odet_vector",
         "pivoting detector around sample", "", "  "]


def rows(frames, key, section="pixel"):
    v = frames.values
    return v[(v["key"] == key) & (v["section"] == section)]


def test_golden_basic_trace():
    f = load_trace(GOLDEN / "basic_c.log")
    assert not f.truncated and f.warnings == [] and f.occurrence_source == "config"
    assert set(f.values["impl"]) == {"C"}
    assert len(f.config) == 87 and f.config_value("convention") == "CUSTOM"
    assert f.config_value("fluence") == 9.9999999999999998e+23
    assert [f.config_value("roi", i) for i in range(4)] == [0, 1024, 0, 1024]
    q = rows(f, "scattering_vec_A_inv")
    assert list(q["value"]) == [-362480.29025465198, -4999818.7598550161, 84996918.917532489]
    assert list(q["component"]) == [0, 1, 2]
    phi = f.values[f.values["section"] == "phi"]
    assert sorted(set(phi["phi_tic"])) == [0, 1, 2] and len(phi) == 30
    assert list(f.other["text"].str.strip()) == ["10% done", "100% done"]
    assert rows(f, "floatimage_accumulated")["value"].iloc[0] == 9.8150732810609043e-05


def test_legacy_variants():
    text = "\n".join([
        "TRACE: setup line pix0=1",
        "DETECTOR_FAST_AXIS 0 0 1",
        "TRACE_C:detector_rotation=[1 0 0; 0 -0 1; 0 -1 0]",
        "TRACE_C:angles_rad=rotx:0.10000000000000001 roty:-0 rotz:inf",
        "TRACE_C:pix0_vector_meters=0.100000000000000 0.0512000000000000 -0.0512000000000000",
        "TRACE_C: fdet_vec 0 0 1",
        "TRACE_C_TAP5 something=1",
        "TRACE_C: hkl_frac nan -nan -inf",
        "TRACE_C_PHI phi_tic=0 phi_deg=0 k_frac=-0.05 F_latt_b=4.52 F_latt=35.1",
        "TRACE_C_PHI phi_tic=1 phi_deg=0.1 k_frac=-0.049 F_latt_b=4.53 F_latt=35.2",
        "TRACE_C: F_cell 1,5",
        "TRACE_C: floatimage_accumulated 1e-05",
        "",
    ])
    f = parse_trace(text)
    assert not f.truncated
    m = rows(f, "detector_rotation")
    assert list(m["value"]) == [1, 0, 0, 0, 0, 1, 0, -1, 0] and math.copysign(1, m["value"].iloc[4]) == -1
    a = rows(f, "angles_rad")
    assert list(a["raw"]) == ["rotx:0.10000000000000001", "roty:-0", "rotz:inf"]
    assert a["value"].iloc[0] == 0.1 and a["value"].iloc[2] == math.inf
    assert list(rows(f, "pix0_vector_meters")["value"]) == [0.1, 0.0512, -0.0512]
    h = rows(f, "hkl_frac")["value"]
    assert math.isnan(h.iloc[0]) and math.isnan(h.iloc[1]) and h.iloc[2] == -math.inf
    phi = f.values[f.values["section"] == "phi"]
    assert len(phi) == 8 and set(phi["key"]) == {"phi_deg", "k_frac", "F_latt_b", "F_latt"}
    assert rows(f, "F_latt", "phi").set_index("phi_tic")["value"].to_dict() == {0: 35.1, 1: 35.2}
    # "1,5" is split, never silently read as 1.5 or dropped
    assert list(rows(f, "F_cell")["raw"]) == ["1", "5"] and any("F_cell has 2 values" in w for w in f.warnings)
    # issue 22: the C's free-text TRACE: echo and its DETECTOR_* lines are values of the setup section
    assert len(f.other) == 0
    setup = f.values[f.values["section"] == "setup"]
    assert list(zip(setup["key"], setup["component"], setup["value"])) == [
        ("setup_line_pix0", 0, 1.0), ("DETECTOR_FAST_AXIS", 0, 0.0), ("DETECTOR_FAST_AXIS", 1, 0.0),
        ("DETECTOR_FAST_AXIS", 2, 1.0)]
    tap = f.values[f.values["section"] == "tap5"]  # an extra prefix parses into its own section
    assert list(zip(tap["key"], tap["value"])) == [("something", 1.0)]
    assert f.occurrence_source == "single"


def test_unparseable_tokens_are_kept_and_warned():
    f = parse_trace("TRACE_C: R_distance_meters 1.#INF\nTRACE_C: floatimage_accumulated 2\n")
    r = rows(f, "R_distance_meters")
    assert r["raw"].iloc[0] == "1.#INF" and math.isnan(r["value"].iloc[0])
    assert any("unparseable" in w for w in f.warnings)


def test_truncated_final_line_is_reported():
    text = (GOLDEN / "basic_c.log").read_text()
    cut = text[: text.index("TRACE_C: I_pixel_final") + 30]
    f = parse_trace(cut)
    assert f.truncated and "cut mid-record" in f.truncation and "no end-of-line" in f.truncation
    # the cut line is not read (its number may be cut short); everything before it is
    assert "I_pixel_final" not in set(f.values["key"]) and "polar" in set(f.values["key"])
    # a trace that stops early on a complete line is a partial trace, not a truncated one
    f2 = parse_trace(text[: text.index("TRACE_C: I_pixel_final")])
    assert not f2.truncated and "floatimage_accumulated" not in set(f2.values["key"])


def test_subpixel_occurrences_from_phi_fields_config_and_fallback():
    text = (GOLDEN / "subpixels_c.log").read_text()
    f = parse_trace(text)
    assert f.occurrence_source == "phi-fields"
    pos = rows(f, "pixel_pos_meters")
    assert sorted({(a, b, c) for a, b, c in zip(pos["layer"], pos["subS"], pos["subF"])}) == [
        (0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]
    assert (pos.groupby(["layer", "subS", "subF"]).size() == 3).all()
    assert (pos["repeat"] == 0).all()  # four blocks, never "last value wins"
    # strip the per-φ occurrence fields: without a config echo the blocks are (0,0,k) with a warning
    bare = "\n".join(l.split(" layer=")[0] for l in text.split("\n"))
    g = parse_trace(bare)
    assert g.occurrence_source == "fallback" and any("(0, 0, k)" in w for w in g.warnings)
    assert sorted(set(rows(g, "pixel_pos_meters")["subF"])) == [0, 1, 2, 3]
    # ... and renumbered correctly once the oversample is known (from the other side's echo)
    h = g.remap_blocks(2, 1)
    assert sorted({(s, f_) for s, f_ in zip(rows(h, "pixel_pos_meters")["subS"], rows(h, "pixel_pos_meters")["subF"])}) == [
        (0, 0), (0, 1), (1, 0), (1, 1)]
    # with a config echo the C loop nesting (layer, subS, subF) is used
    echo = "TRACE_C_CONFIG oversample=2 detector_thicksteps=1\n"
    e = parse_trace(echo + bare)
    assert e.occurrence_source == "config"
    assert list(rows(e, "R_distance_meters")[["subS", "subF"]].itertuples(index=False, name=None)) == [
        (0, 0), (0, 1), (1, 0), (1, 1)]


def test_duplicate_key_in_one_occurrence_is_kept_as_repeat():
    f = parse_trace("TRACE_C: pix0_vector_meters 1 2 3\nTRACE_C: fdet_vec 0 0 1\nTRACE_C: fdet_vec 0 0 2\n"
                    "TRACE_C: floatimage_accumulated 1\n")
    fd = rows(f, "fdet_vec")
    assert list(fd["repeat"]) == [0, 0, 0, 1, 1, 1] and list(fd["value"])[-1] == 2
    assert any("repeated" in w for w in f.warnings)


def test_binary_and_invalid_utf8():
    f = parse_trace(b"\x00\x01\xff\xfeTRACE_C: R_distance_meters 1\n")
    assert f.binary and any("UTF-8" in w for w in f.warnings)
    g = parse_trace(b"TRACE_C: R_distance_meters 1\xff\nTRACE_C: floatimage_accumulated 1\n")
    assert not g.binary and rows(g, "R_distance_meters")["raw"].iloc[0] == "1\ufffd"


def test_load_trace_bad_files(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_trace(tmp_path / "missing.log", "C")
    (tmp_path / "empty.log").write_text("\n \n")
    with pytest.raises(UsageError, match="empty"):
        load_trace(tmp_path / "empty.log", "C")
    with pytest.raises(UsageError, match="directory"):
        load_trace(tmp_path, "C")
    (tmp_path / "bin.log").write_bytes(b"\x7fELF\x00\x00\x01")
    with pytest.raises(UsageError, match="binary"):
        load_trace(tmp_path / "bin.log", "C")


# --- property-based: a random valid trace, rendered with noise, comes back value by value ------------------

SPECIAL = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1.0, 5e-324, 1.7976931348623157e308]


@st.composite
def random_trace(draw):
    """(text, expected {(section,key,comp,layer,subS,subF,phi_tic): raw}, prefix) from the schema.
    Values come from a seeded Random (one draw, so generation stays fast): any 64-bit pattern as a
    double (subnormals, NaN payloads, inf), special values, ints for int keys."""
    rnd = draw(st.randoms(use_true_random=False))
    prefix = draw(st.sampled_from(["C", "PY", "TORCH2"]))
    os_ = draw(st.integers(1, 2))
    phisteps = draw(st.integers(1, 3))
    echo = draw(st.booleans())
    phi_fields = draw(st.booleans())
    lines, expected = [], {}

    def num(spec):
        if spec.type == "int":
            return str(rnd.randint(-5, 5))
        if rnd.random() < 0.2:
            return "%.17g" % rnd.choice(SPECIAL)
        return "%.17g" % struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0]

    def emit(line):
        if rnd.random() < 0.3:
            lines.append(rnd.choice(NOISE))
        lines.append(line)

    if echo:
        emit(f"TRACE_{prefix}_CONFIG oversample={os_} detector_thicksteps=1 phisteps={phisteps} fluence=1e24")
    pixel = [SCHEMA.specs[n] for n in SCHEMA.emission_order("pixel")]
    phi = [SCHEMA.specs[n] for n in SCHEMA.emission_order("phi")]
    blocks = [(0, s, f) for s in range(os_) for f in range(os_)]
    multi = len(blocks) > 1
    for k, occ in enumerate(blocks):
        # without an echo or φ fields the parser can only number blocks as (0,0,k)
        exp_occ = occ if (echo or phi_fields or not multi) else (0, 0, k)
        for spec in pixel:
            if spec.id[0] == "C":
                continue
            toks = [num(spec) for _ in range(spec.arity)]
            emit(f"TRACE_{prefix}: {spec.key} {' '.join(toks)}")
            for i, t in enumerate(toks):
                expected[("pixel", spec.key, i, *exp_occ, -1)] = t
            if spec.key == "F_latt":  # the per-φ lines go here and after F_cell, in any order
                tics = rnd.sample(range(phisteps), phisteps)
                for tic in tics:
                    fields = [(s.key, num(s)) for s in phi]
                    tail = f" layer={occ[0]} subS={occ[1]} subF={occ[2]}" if phi_fields else ""
                    emit(f"TRACE_{prefix}_PHI phi_tic={tic} " + " ".join(f"{a}={b}" for a, b in fields) + tail)
                    for a, b in fields:
                        expected[("phi", a, 0, *exp_occ, tic)] = b
    for spec in pixel:
        if spec.id[0] == "C":
            toks = [num(spec) for _ in range(spec.arity)]
            emit(f"TRACE_{prefix}: {spec.key} {' '.join(toks)}")
            for i, t in enumerate(toks):
                expected[("pixel", spec.key, i, 0, 0, 0, -1)] = t
    lines.append(rnd.choice(NOISE))
    return "\n".join(lines) + "\n", expected, prefix


def _as_dict(frames):
    v = frames.values
    out = {}
    for r in v.itertuples(index=False):
        key = (r.section, r.key, r.component, r.layer, r.subS, r.subF, r.phi_tic)
        assert key not in out, f"two values at {key}"
        out[key] = (r.raw, r.value)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_trace())
def test_random_valid_trace_round_trips(case):
    text, expected, prefix = case
    frames = parse_trace(text)
    # the TRACE_C_TAP5 noise lines parse into their own section, the TRACE:/DETECTOR_* ones into the setup
    # section (issue 22); the rest must come back value by value
    extra = frames.values[~frames.values["section"].isin(["pixel", "phi"])]
    assert set(extra["section"]) <= {"tap5", "setup"}
    assert set(extra["key"]) <= {"h", "k", "free_text_during_setup_a", "DETECTOR_PIX0_VECTOR"}
    frames.values = frames.values[frames.values["section"].isin(["pixel", "phi"])]
    got = _as_dict(frames)
    assert set(got) == set(expected)
    for key, raw in expected.items():
        graw, gval = got[key]
        assert graw == raw, key
        ref = float(raw)
        assert (math.isnan(gval) and math.isnan(ref)) or (gval == ref and math.copysign(1, gval) == math.copysign(1, ref)), key
    assert set(frames.values["impl"]) == {prefix}
    assert not frames.truncated
    assert all(r.strip() == "" or not r.startswith(f"TRACE_{prefix}:") for r in frames.other["text"])


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text):
    f = parse_trace(text)
    assert isinstance(f.warnings, list)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data):
    f = parse_trace(data)
    assert f.binary == (b"\x00" in data)


BASIC = (GOLDEN / "basic_c.log").read_bytes()
FULL = _as_dict(parse_trace(BASIC))


@settings(max_examples=80, deadline=None)
@given(st.integers(0, len(BASIC)))
def test_truncation_at_any_byte(cut):
    data = BASIC[:cut]
    f = parse_trace(data)
    # only a final trace record without its end-of-line is a cut; stopping early on a line end is not
    tail = data.rsplit(b"\n", 1)[-1].strip()
    assert f.truncated == (tail.startswith(b"TRACE_") and not data.endswith(b"\n"))
    # no value that was read comes back different from the full trace, except on a flagged cut line
    last_line = data.count(b"\n") + 1
    for key, (raw, value) in _as_dict(f).items():
        row = f.values[(f.values["key"] == key[1]) & (f.values["component"] == key[2])
                       & (f.values["phi_tic"] == key[6]) & (f.values["section"] == key[0])]
        if int(row["line"].iloc[0]) == last_line and not data.endswith(b"\n"):
            continue
        assert FULL[key][0] == raw
