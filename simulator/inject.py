"""The injection protocol (docs/injection.md), the simulator's half: a JSON file of the C's values of some
intermediates of the traced pixel, named by NBPARITY_INJECT, replaces the simulator's own values of them at
the traced pixel only; everything downstream is computed from the injected values by the ordinary code.

Hooks: taps.py (the recorder of the traced pixel) carries the active injection; the lattice half of the
kernel (kernel_lattice.py) asks it for h, k, l (from injected rotated vectors or injected h k l) and F_latt,
the chunk (kernel_chunk.py) for the pixel's polarization factor and solid angle.
Other pixels never see it. Not on the float32 offset path (kernel_offsets.py): there the file is ignored."""

from __future__ import annotations

import contextlib
import json
import os

ENV = "NBPARITY_INJECT"
SCHEMA = "nbparity.inject/1"
KEYS = ("rot", "hkl_frac", "F_latt", "polar", "omega")

_active = None


class Injection:
    """The entries of an injection file for one traced pixel: (key, phi_tic, layer, subS, subF) → value."""

    def __init__(self, pixel, entries):
        self.pixel = tuple(int(x) for x in pixel)
        self.entries = entries

    @classmethod
    def read(cls, path) -> "Injection":
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(f"{path}: not an injection file (schema {SCHEMA})")
        entries = []
        for v in doc.get("values", []):
            if v.get("key") not in KEYS:
                raise ValueError(f"{path}: unknown injection key {v.get('key')!r} (known: {', '.join(KEYS)})")
            entries.append(v)
        return cls(doc.get("pixel", (-1, -1)), entries)

    def of(self, key: str) -> list:
        return [e for e in self.entries if e["key"] == key]


def active() -> Injection | None:
    return _active


@contextlib.contextmanager
def from_env(trace_pixel):
    """Activate the file named by NBPARITY_INJECT for the render of `trace_pixel` (a file for another
    pixel is an error: its values belong to that pixel)."""
    global _active
    path = os.environ.get(ENV)
    if not path or trace_pixel is None:
        yield None
        return
    inj = Injection.read(path)
    if inj.pixel != tuple(int(x) for x in trace_pixel):
        raise ValueError(f"{ENV}: the file is for pixel {inj.pixel}, the traced pixel is {tuple(trace_pixel)}")
    _active = inj
    try:
        yield inj
    finally:
        _active = None
