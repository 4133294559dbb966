"""traces/schema.toml and traces/tolerances.toml: complete, consistent, acyclic, matching the contracts."""

import re
import tomllib
from pathlib import Path

import pytest

from nbparity.schema import DTYPES, TRACES_DIR, load_schema, tolerance_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def test_every_parent_exists(schema):
    missing = [(n, p) for n, s in schema.specs.items() for p in s.parents if p not in schema.specs]
    assert missing == []


def test_graph_is_acyclic(schema):
    # Kahn's algorithm consumes every node only when there is no cycle
    indeg = {n: len(s.parents) for n, s in schema.specs.items()}
    ready = [n for n, d in indeg.items() if d == 0]
    done = 0
    while ready:
        n = ready.pop()
        done += 1
        for child in schema.children(n):
            indeg[child] -= 1
            if indeg[child] == 0:
                ready.append(child)
    assert done == len(schema.specs)
    assert all(n not in schema.descendants(n) for n in schema.specs)


def test_every_key_has_a_class_with_both_dtypes(schema):
    for node, spec in schema.specs.items():
        assert spec.tol_class in schema.classes, node
    for name, body in schema.classes.items():
        for dt in DTYPES:
            rtol, atol = body[dt]
            assert rtol >= 0 and atol >= 0, (name, dt)
        assert body["doc"], name


def test_float64_defaults_are_tight_unless_documented(schema):
    loose = {n for n, b in schema.classes.items() if b["float64"][0] > 1e-12}
    assert loose == {"float32_store"}   # the value after the float32 store: one float32 ulp
    assert "sincg" in schema.classes["lattice"]["doc"] and "§7" in schema.classes["lattice"]["doc"]
    assert schema.classes["float32_store"]["float64"][0] == 2.0 ** -23
    for name in schema.classes:
        assert schema.classes[name]["float32"][0] <= 2e-4 or name == "exact"


def test_every_quirk_key_exists(schema):
    quirks = tomllib.loads((TRACES_DIR / "quirks.toml").read_text())["quirk"]
    missing = [(q["id"], k) for q in quirks for k in q["keys"]
               if not any(schema.has(k, sec) for sec in ("config", "pixel", "phi"))]
    assert missing == []


def test_config_keys_exactly_as_in_contracts(schema):
    text = (ROOT / "docs" / "contracts.md").read_text()
    block = text.split("### 1.1", 1)[1].split("```", 2)[1]
    keys = [m.group(1) for line in block.splitlines() if line.startswith("PREFIX")
            for m in re.finditer(r"(\w+)=", line)]
    assert [n.split(".", 1)[1] for n in schema.emission_order("config")] == keys
    arities = {s.key: s.arity for s in schema.specs.values() if s.section == "config"}
    assert arities["roi"] == 4 and arities["pix0"] == 3 and arities["fluence"] == 1


def test_per_pixel_ids_in_emission_order(schema):
    ids = [schema.specs[n].id for n in schema.emission_order("pixel")]
    expected = [f"A{i}" for i in range(1, 15)] + [f"B{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 15)]
    assert ids == expected
    assert schema.emission_order("pixel")[0] == "pixel.pix0_vector_meters"
    assert schema.emission_order("pixel")[-1] == "pixel.floatimage_accumulated"


def test_per_phi_fields_in_contract_order(schema):
    text = (ROOT / "docs" / "contracts.md").read_text()
    line = text.split("### 1.3", 1)[1].split("`PREFIX", 1)[1].split("`", 1)[0]
    fields = [f for f in re.findall(r"(\w+)=", line) if f not in schema.phi_index_fields]
    assert [n.split(".", 1)[1] for n in schema.emission_order("phi")] == fields
    assert {s.key for s in schema.specs.values() if s.section == "phi" and s.required} == {
        "phi_deg", "k_frac", "F_latt_b", "F_latt"}


def test_units_and_named_parents(schema):
    q = schema.spec("scattering_vec_A_inv")
    assert (q.unit, q.name_unit) == ("m^-1", "Å^-1")
    assert schema.parents("pix0_vector_meters") == ["config.pix0"]
    assert schema.parents("fdet_vec") == ["config.fdet"]
    assert schema.parents("lambda_meters") == ["config.lambda0_m"]
    assert schema.parents("fluence_photons_per_m2") == ["config.fluence"]
    assert schema.parents("steps", "pixel") == ["config.steps"]
    assert schema.parents("I_term", "phi") == ["phi.F_cell", "phi.F_latt"]
    assert "phi.h_frac" in schema.parents("F_latt_a", "phi")
    assert "pixel.floatimage_accumulated" in schema.descendants("config.fluence")
    assert schema.descendants("pixel.floatimage_accumulated") == []


def test_tolerance_lookup():
    assert tolerance_for("pixel_pos_meters") == (1e-12, 1e-16)
    assert tolerance_for("hkl_rounded", "float32") == (0.0, 0.0)
    assert tolerance_for("F_latt", "float64", "phi") == (1e-12, 1e-10)
    assert tolerance_for("no_such_key_from_another_build") == (1e-12, 0.0)
    with pytest.raises(ValueError):
        tolerance_for("F_latt", "float16")
