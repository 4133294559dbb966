"""The harness's half of the injection protocol (docs/injection.md): which traced keys a port may be asked
to take from the C, and the JSON document that carries the C's values for the traced pixel.

    NBPARITY_INJECT=/path/inject.json  python -m myport <argv>

    {"schema": "nbparity.inject/1", "pixel": [slow, fast],
     "values": [{"key": "rot", "phi_tic": 0, "layer": 0, "subS": 0, "subF": 0,
                 "value": [[ax, ay, az], [bx, by, bz], [cx, cy, cz]]}, …]}

Keys: "rot" (the rotated real basis a, b, c at a φ step, mosaic domain 0, Å), "hkl_frac" (h, k, l at a φ
step), "F_latt" (at a φ step), "polar" and "omega" (the pixel's, phi_tic -1). Values are the C's, as
printed (round-tripped doubles)."""

from __future__ import annotations

import json

from simulator.inject import SCHEMA   # one definition: the simulator reads what this writes

# (section, trace key) -> protocol key
_KEYS = {("pixel", "rot_a_angstroms"): "rot", ("pixel", "rot_b_angstroms"): "rot",
         ("pixel", "rot_c_angstroms"): "rot", ("pixel", "hkl_frac"): "hkl_frac", ("pixel", "F_latt"): "F_latt",
         ("phi", "h_frac"): "hkl_frac", ("phi", "k_frac"): "hkl_frac", ("phi", "l_frac"): "hkl_frac",
         ("phi", "F_latt"): "F_latt", ("pixel", "polar"): "polar", ("pixel", "omega_pixel"): "omega",
         ("pixel", "omega_pixel_sr"): "omega"}
_KEYS.update({("phi", f"rot_{v}_{x}"): "rot" for v in "abc" for x in "xyz"})
LABELS = {"rot": "rotated vectors (a, b, c)", "hkl_frac": "h k l", "F_latt": "F_latt",
          "polar": "polarization factor", "omega": "solid angle Ω"}
PER_PIXEL = ("polar", "omega")   # one value per pixel (block C), no φ step

# where the C's values of a protocol key are read: per-φ fields (every step), in the value's layout, and
# for φ step 0 the per-pixel block B lines ((key, component)), which every instrumented build prints
_PHI_FIELDS = {"rot": [[f"rot_{v}_{x}" for x in "xyz"] for v in "abc"],
               "hkl_frac": ["h_frac", "k_frac", "l_frac"], "F_latt": "F_latt"}
_STEP0_LINES = {"rot": [[(f"rot_{v}_angstroms", i) for i in range(3)] for v in "abc"],
                "hkl_frac": [("hkl_frac", i) for i in range(3)], "F_latt": ("F_latt", 0)}


def protocol_key(section: str, key: str) -> str | None:
    return _KEYS.get((section, key))


def payload_for(comparison, key: str, phi_tic: int) -> dict:
    """{"key", "phi_tic", "values": [...]}: the C's values of `key` at the φ step (-1: step 0), per
    occurrence, from the per-φ rows of the comparison."""
    t = comparison.table
    if key in PER_PIXEL:   # the value the loop leaves (block C), once per pixel
        line = {"polar": ("polar", 0), "omega": ("omega_pixel", 0)}[key]
        values = _values(t[t["section"] == "pixel"], key, -1, line, lambda r: (r["key"], int(r["component"])))
        return {"key": key, "phi_tic": -1, "values": values[:1]}
    tic = max(int(phi_tic), 0)
    values = _values(t[(t["section"] == "phi") & (t["phi_tic"] == tic)], key, tic, _PHI_FIELDS[key],
                     lambda r: r["key"])
    if not values and tic == 0:   # a build without the extended per-φ fields: block B is φ step 0
        values = _values(t[t["section"] == "pixel"], key, tic, _STEP0_LINES[key],
                         lambda r: (r["key"], int(r["component"])))
    return {"key": key, "phi_tic": tic, "values": values}


def _values(rows, key, tic, fields, name_of) -> list:
    """One protocol value per occurrence of the C's rows that has every field the key needs."""
    by_occ: dict = {}
    for r in rows[rows["side"] != "PY"].to_dict("records"):
        by_occ.setdefault((int(r["layer"]), int(r["subS"]), int(r["subF"])), {})[name_of(r)] = float(r["c"])
    out = []
    for (layer, s, f), got in sorted(by_occ.items()):
        try:
            value = _shape(fields, got)
        except KeyError:   # this build printed no such field at the step
            continue
        out.append({"key": key, "phi_tic": tic, "layer": layer, "subS": s, "subF": f, "value": value})
    return out


def _shape(fields, got):
    if isinstance(fields, (str, tuple)):
        return got[fields]
    return [_shape(f, got) for f in fields]


def write_injection(path, pixel, payloads) -> None:
    values = [v for p in payloads for v in p["values"]]
    doc = {"schema": SCHEMA, "pixel": [int(pixel[0]), int(pixel[1])], "values": values}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
