"""`probe rotation`: the rotated basis vectors of both sides at every φ step (mosaic domain 0), side by
side, with their differences and the first step where they diverge.

Values come from the traces alone, so any C build that prints them works:
* real vectors a, b, c per φ step: the per-φ fields rot_[abc]_[xyz] (Å); a build that prints only the
  per-pixel block gives step 0 alone (rot_[abc]_angstroms);
* reciprocal vectors per step: derived from that step's traced real vectors, a* = (b×c)/V, … (Å⁻¹).
  The C never rotates its own a*, b*, c* (trace-format.md B4–B6: printed unrotated); those traced values
  are reported once, for reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REAL = ("a", "b", "c")
XYZ = ("x", "y", "z")


def real_vectors(frames, occurrence=(0, 0, 0)) -> dict:
    """{phi_tic: {"a": [x, y, z], "b": …, "c": …, "phi_deg": φ}} from a trace (empty when absent)."""
    from nbparity.probes.common import phi_frame, pixel_values

    pf = phi_frame(frames, occurrence)
    out = {}
    cols = [f"rot_{v}_{x}" for v in REAL for x in XYZ]
    if len(pf) and all(c in pf.columns for c in cols):
        for tic, row in pf.iterrows():
            out[int(tic)] = {v: [float(row[f"rot_{v}_{x}"]) for x in XYZ] for v in REAL}
            out[int(tic)]["phi_deg"] = float(row["phi_deg"]) if "phi_deg" in pf.columns else math.nan
        return out
    block = {v: pixel_values(frames, f"rot_{v}_angstroms") for v in REAL}
    if all(len(b) == 3 for b in block.values()):
        phi0 = float(pf["phi_deg"].iloc[0]) if "phi_deg" in pf.columns and len(pf) else math.nan
        out[0] = {**block, "phi_deg": phi0}
    return out


def reciprocal(a, b, c) -> dict:
    """a* = (b×c)/V, b* = (c×a)/V, c* = (a×b)/V with V = a·(b×c), in float64 (Å⁻¹ for Å inputs)."""
    def cross(u, v):
        return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]

    bc, ca, ab = cross(b, c), cross(c, a), cross(a, b)
    vol = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2]
    return {"a*": [x / vol for x in bc], "b*": [x / vol for x in ca], "c*": [x / vol for x in ab]}


@dataclass
class RotationResult:
    exit_code: int
    table: object            # DataFrame: phi_tic, phi_deg, vector, component, c, torch, abs_diff, rel_diff, status
    first_divergent: dict | None
    source: str              # "per-φ fields" | "pixel block (step 0 only)"
    reference_stars: dict
    bundle: object = None
    notes: list = None

    def to_dict(self) -> dict:
        return {"exit_code": self.exit_code, "first_divergent_step": self.first_divergent,
                "source": self.source, "notes": self.notes or [], "traced_unrotated_reciprocal": self.reference_stars,
                "rows": self.table.to_dict("records"), "bundle": str(self.bundle) if self.bundle else None}


def side_by_side(c_vecs: dict, py_vecs: dict, dtype: str):
    """The table of both sides' vectors per step, judged with the comparator's tolerances for their class
    (length_A for a, b, c; reciprocal_A for the derived a*, b*, c*)."""
    import pandas as pd

    from nbparity.schema import load_schema

    schema = load_schema()
    tol = {"real": schema.class_defaults("length_A", dtype), "reciprocal": schema.class_defaults("reciprocal_A", dtype)}
    rows = []
    for tic in sorted(set(c_vecs) | set(py_vecs)):
        cv, pv = c_vecs.get(tic), py_vecs.get(tic)
        sets = []
        for side in (cv, pv):
            sets.append(None if side is None else {**{v: side[v] for v in REAL}, **reciprocal(*(side[v] for v in REAL))})
        phi = (cv or pv)["phi_deg"]
        for name in (*REAL, "a*", "b*", "c*"):
            kind = "reciprocal" if name.endswith("*") else "real"
            rtol, atol = tol[kind]
            for i, x in enumerate(XYZ):
                c = sets[0][name][i] if sets[0] else math.nan
                p = sets[1][name][i] if sets[1] else math.nan
                d = abs(p - c)
                status = ("one-sided" if (sets[0] is None or sets[1] is None) else
                          "pass" if d <= atol + rtol * abs(c) else "fail")
                rows.append({"phi_tic": tic, "phi_deg": phi, "vector": name, "component": x, "c": c, "torch": p,
                             "abs_diff": d, "rel_diff": d / abs(c) if c else (0.0 if d == 0 else math.inf),
                             "status": status, "derived": kind == "reciprocal"})
    return pd.DataFrame(rows)


def probe_rotation(ro) -> RotationResult:
    from nbparity.errors import EXIT_DIVERGENCE, EXIT_OK, UsageError
    from nbparity.probes.common import md_table, pixel_values, run_traced, write_probe_bundle

    tr = run_traced(ro, list(ro.case.argv))
    c_vecs, py_vecs = real_vectors(tr.c_frames), real_vectors(tr.py_frames)
    if not c_vecs or not py_vecs:
        side = "C" if not c_vecs else "torch"
        raise UsageError(f"the {side} trace prints no rotated basis vectors for pixel ({ro.slow}, {ro.fast}) "
                         "(neither per-φ rot_[abc]_[xyz] nor rot_[abc]_angstroms)")
    per_phi = len(c_vecs) > 1 or len(py_vecs) > 1
    source = "per-φ fields rot_[abc]_[xyz]" if per_phi else "pixel block rot_[abc]_angstroms (step 0 only)"
    table = side_by_side(c_vecs, py_vecs, ro.dtype)
    stars = {v: pixel_values(tr.c_frames, f"rot_{v}_star_A_inv") for v in REAL}
    bad = table[table["status"] == "fail"]
    first = None
    if len(bad):
        r = bad.iloc[0]
        first = {"phi_tic": int(r["phi_tic"]), "phi_deg": float(r["phi_deg"]), "vector": r["vector"],
                 "component": r["component"], "c": float(r["c"]), "torch": float(r["torch"])}
    code = EXIT_OK if first is None else EXIT_DIVERGENCE
    steps = sorted(set(table["phi_tic"]))
    notes = [f"{side}: φ step 0 ran on the vectors of step {steps[-1]} (the φ carry-over of C-PARITY-001: "
             "the predecessor pixel's last step), not on the nominal φ0" for side, vecs in (("C", c_vecs), ("torch", py_vecs))
             if len(steps) > 1 and 0 in vecs and steps[-1] in vecs
             and all(vecs[0][v] == vecs[steps[-1]][v] for v in REAL)]
    line = (f"rotation PASS: a, b, c (and derived a*, b*, c*) agree at all {len(steps)} φ steps ({ro.dtype})"
            if first is None else
            f"rotation FAIL: first divergence at φ_tic {first['phi_tic']} (φ = {first['phi_deg']:.17g}°), "
            f"{first['vector']}_{first['component']}: C {first['c']!r} torch {first['torch']!r}")
    wide = table.pivot_table(index=["phi_tic", "phi_deg"], columns="vector", values="abs_diff", aggfunc="max")
    wide = wide[[c for c in (*REAL, "a*", "b*", "c*") if c in wide.columns]].reset_index()
    wide.columns = [str(c) if c in ("phi_tic", "phi_deg") else f"max|Δ| {c}" for c in wide.columns]
    md = [f"# nbparity probe rotation — {ro.case.name}, pixel ({ro.slow}, {ro.fast})", "", f"**{line}**", "",
          f"source: {source}; mosaic domain 0; a*, b*, c* derived per step from that step's traced a, b, c. "
          f"The C's own a*, b*, c* are never rotated (traced, unrotated): {stars}", "",
          *[f"* {n}" for n in notes], "",
          "## Largest |Δ| per step and vector", "", md_table(wide), "",
          "## Side by side", "", md_table(table), ""]
    metrics = {"verdict": "pass" if first is None else "fail", "exit_code": code, "verdict_line": line,
               "first_divergent_step": first, "source": source, "steps": len(steps),
               "traced_unrotated_reciprocal": stars, "notes": notes, "html_findings": notes}
    files = {"rotation.csv": table.to_csv(index=False, float_format="%.17g"),
             "rotation_steps.csv": wide.to_csv(index=False, float_format="%.17g"),
             "c_trace.log": tr.c_run.stdout, "py_trace.log": tr.torch_run.trace_text}
    bundle = write_probe_bundle("rotation", ro, metrics, files, "\n".join(md))
    return RotationResult(code, table, first, source, stars, bundle, notes)
