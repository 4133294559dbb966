"""Configuration differences grouped by the physical object they describe (traces/config_objects.toml):
detector, beam, crystal, scan, sampling. One difference per object reads as a diagnosis ("the detector
geometry differs") where forty key-by-key rows read as noise."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

REGISTRY = Path(__file__).resolve().parent.parent / "traces" / "config_objects.toml"


@functools.lru_cache(maxsize=1)
def object_of() -> dict:
    """config key -> object name."""
    with open(REGISTRY, "rb") as fh:
        data = tomllib.load(fh)
    return {key: obj for obj, keys in data.items() for key in keys}


def group_by_object(config_diffs) -> dict:
    """{object: [keys in first-difference order]} of configuration differences (records with a "key");
    a key no object claims is listed under "other"."""
    groups: dict = {}
    owner = object_of()
    for d in config_diffs:
        keys = groups.setdefault(owner.get(d["key"], "other"), [])
        if d["key"] not in keys:
            keys.append(d["key"])
    return groups


def describe(config_diffs) -> str:
    """'detector (distance_m, pix0); beam (fluence)' or '' without differences."""
    return "; ".join(f"{obj} ({', '.join(keys)})" for obj, keys in group_by_object(config_diffs).items())
