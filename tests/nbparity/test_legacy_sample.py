"""Issue 13 / issue 12 item 5 on real files: the legacy-trace sample (../shared/data/legacy-traces) and the
R2 conformance recordings (../shared/data/conformance). Every file diffed with itself is parity, every
C/torch pair of pairs.txt compares (exit 0 or 1), none is refused, nothing prints a traceback.
Skips cleanly without ../shared."""

import json
from pathlib import Path

import pytest

from nbparity.cli import main

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
LEGACY = DATA / "legacy-traces"
pytestmark = pytest.mark.skipif(not (LEGACY / "pairs.txt").is_file(), reason="../shared/data/legacy-traces absent")

FILES = sorted((LEGACY / "files").iterdir()) if LEGACY.is_dir() else []
PAIRS = ([tuple(line.split()) for line in (LEGACY / "pairs.txt").read_text().splitlines() if line.strip()]
         if (LEGACY / "pairs.txt").is_file() else [])
RECORDINGS = sorted((DATA / "conformance").glob("*/trace_*.log")) if DATA.is_dir() else []


def diff(capsys, a, b, *extra):
    rc = main(["diff", str(a), str(b), "--json", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return rc, (json.loads(out) if out.strip() else None), err


def test_sample_is_there():
    assert len(FILES) == 110 and len(PAIRS) == 28 and len(RECORDINGS) >= 27


def test_every_sample_file_against_itself_is_parity(capsys):
    bad = []
    formats = set()
    for f in FILES:
        rc, doc, err = diff(capsys, f, f)
        if rc != 0 or doc["counts"]["compared"] == 0:
            bad.append((f.name, rc, err.strip()[:120]))
        else:
            formats.add(doc["inputs"]["C"]["format"])
    assert bad == []
    assert formats == {"trace-log", "phi-log", "phi-json", "phi-table"}


def test_every_pair_compares(capsys):
    outcome = {}
    for c, py in PAIRS:
        rc, doc, err = diff(capsys, LEGACY / "files" / c, LEGACY / "files" / py)
        assert rc in (0, 1), (c, py, err)
        if doc["counts"]["compared"] == 0:  # e.g. a C log holding only the geometry prologue
            assert rc == 1 and doc["verdict"].startswith("INCOMPLETE: nothing in common"), (c, py)
        outcome[(c, py)] = doc
    assert sum(d["counts"]["compared"] > 0 for d in outcome.values()) == 26
    # the per-φ-only pair: C's TRACE_C_PHI lines against the torch per-φ JSON, step by step
    doc = outcome[("2025-10-cli-flags__phase_l__parity_shim__20251008T005247Z__c_trace_phi.log",
                   "2025-10-cli-flags__phase_l__parity_shim__20251008T005247Z__trace_py_c_parity_per_phi.json")]
    assert doc["inputs"]["torch"]["format"] == "phi-json"
    assert doc["per_phi_summary"]["steps"] == 10 and doc["per_phi_summary"]["first_divergent"]["phi_tic"] == 0
    assert doc["root_causes"][0]["key"] == "k_frac"
    step0 = doc["per_phi"][0]
    assert step0["k_frac_c"] == -0.607255839576692 and step0["k_frac_py"] == -0.607227388110849
    assert step0["k_frac_delta"] == pytest.approx(2.8451465843e-05, rel=1e-9)


def test_r2_recordings_against_themselves_are_parity(capsys):
    """Issue 12 item 5: TRACE_C:key=value text and matrix lines compare as text or numbers, never NaN ≠ NaN."""
    bad = []
    for f in RECORDINGS:
        rc, doc, err = diff(capsys, f, f)
        if rc != 0:
            bad.append((str(f), rc, err[:120]))
    assert bad == []
