"""The CI gate on scaling parity: the project's whole matrix through the CLI code path, two processes.
Every run must pass: c-mode float64 runs exactly, spec-mode runs with every divergence attributed."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from nbparity.cli import main

MATRIX = Path(__file__).with_name("matrix.yaml")


def test_parity_matrix_gate(tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    rc = main(["cases", "run", str(MATRIX), "--jobs", "2", "--json", "--out", str(tmp_path / "reports"),
               "--junit-xml", str(junit)])
    out, err = capsys.readouterr()
    result = json.loads(out)
    passing = ("identical", "within_tolerance", "explained")
    bad = [f"{o['id']}/{o['run']}: {o['verdict']} {o['reason']}" for o in result["runs"] if o["verdict"] not in passing]
    assert not bad, "\n".join(bad)
    assert rc == 0 and result["exit_code"] == 0 and result["kind"] == "matrix"
    assert sum(result["counts"][v] for v in passing) == len(result["runs"]) >= 50
    for o in result["runs"]:
        m = o["image"]["metrics"]
        gates = {g["gate"] for g in o["image"]["gates"]}
        # correlation never decides alone: every exactness gate was applied
        assert {"corr", "sum_ratio", "max_abs_diff", "outside_tolerance"} <= gates
        if o["quirks"] == "c" and o["dtype"] == "float64":
            assert m["outside_tolerance"] == 0 and m["max_abs_diff"] <= m["one_ulp_of_max"]
            assert o["verdict"] != "explained"   # c mode emulates every quirk: nothing is left to explain
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("tests")) == len(result["runs"]) and suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    bundle = Path(result["volatile"]["bundle"])
    assert (bundle / "metrics.json").is_file() and (bundle / "sha256.txt").is_file()
    assert main(["bundle", "verify", str(bundle)]) == 0
