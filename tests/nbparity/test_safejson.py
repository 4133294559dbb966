"""nbparity.safejson: guarded JSON reading (limits on size, depth and number literals; one-line reasons)."""

import json
import math

import pytest

from nbparity.safejson import JSONRefused, load_json, load_object, nesting_depth


def test_ordinary_documents_load_as_json_loads_does():
    doc = {"verdict": "within_tolerance", "rel": 1.2345678901234567e-07, "n": [1, 2, {"a": None}],
           "non_finite": ["nan", "inf", "-inf"], "text": "brackets [[{ in strings } do not nest"}
    text = json.dumps(doc)
    assert load_json(text) == json.loads(text) == doc
    assert nesting_depth(text) == 3


def test_path_bytes_and_text(tmp_path):
    p = tmp_path / "m.json"
    p.write_text('{"a": 1}')
    assert load_json(p) == load_json(b'{"a": 1}') == load_json('{"a": 1}') == {"a": 1}
    with pytest.raises(JSONRefused, match="cannot read"):
        load_json(tmp_path / "nope.json")


@pytest.mark.parametrize("text, reason", [
    ("[" * 100000 + "]" * 100000, "nested 100000 deep (limit 100)"),
    ('{"a": ' + "7" * 5000 + "}", "a number literal of 5000 characters (limit 100)"),
    ('{"a": 1e400}', "number out of range: 1e400"),
    ('{"a": -1.5e308e}', "not JSON"),
    ("", "empty"),
    (b"\xff\xfe{}", "not UTF-8 (byte 0)"),
    ('{"a": 1,}', "not JSON (Expecting property name enclosed in double quotes at line 1 column 9)"),
])
def test_refused_with_one_line_reason(text, reason):
    with pytest.raises(JSONRefused) as exc:
        load_json(text)
    assert reason in str(exc.value) and "\n" not in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_limits_are_parameters(tmp_path):
    p = tmp_path / "big.json"
    p.write_text(json.dumps({"x": "y" * 1000}))
    with pytest.raises(JSONRefused, match="larger than 100 bytes"):
        load_json(p, max_bytes=100)
    assert load_json("[[[1]]]", max_depth=3) == [[[1]]]
    with pytest.raises(JSONRefused, match="nested 3 deep"):
        load_json("[[[1]]]", max_depth=2)


def test_nan_literals_accepted_unless_refused():
    assert math.isnan(load_json('{"a": NaN}')["a"]) and load_json('[-Infinity]') == [-math.inf]
    with pytest.raises(JSONRefused, match="non-standard literal NaN"):
        load_json('{"a": NaN}', allow_nan=False)


def test_load_object_requires_an_object():
    assert load_object('{"k": 1}') == {"k": 1}
    with pytest.raises(JSONRefused, match="top level is a JSON string, not an object"):
        load_object('"pass"')
