"""Every configuration key belongs to exactly one physical object; differences are grouped by object."""

from nbparity.config_objects import describe, group_by_object, object_of
from nbparity.schema import load_schema


def test_every_config_key_has_one_object():
    import tomllib

    from nbparity.config_objects import REGISTRY

    data = tomllib.loads(REGISTRY.read_text())
    listed = [k for keys in data.values() for k in keys]
    assert len(listed) == len(set(listed)), "a key belongs to two objects"
    schema_keys = {n.split(".", 1)[1] for n in load_schema().emission_order("config")}
    assert schema_keys == set(object_of()), schema_keys ^ set(object_of())


def test_differences_grouped_in_first_difference_order():
    diffs = [{"key": "fluence"}, {"key": "pix0"}, {"key": "distance_m"}, {"key": "pix0"}, {"key": "nonsense"}]
    assert group_by_object(diffs) == {"beam": ["fluence"], "detector": ["pix0", "distance_m"], "other": ["nonsense"]}
    assert describe(diffs) == "beam (fluence); detector (pix0, distance_m); other (nonsense)"
