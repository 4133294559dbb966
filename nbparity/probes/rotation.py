"""`probe rotation`: the rotated basis vectors of both sides at every φ step (mosaic domain 0), side by
side, with their differences and the first step where they diverge.

Values come from the traces alone, so any C build (or port) that prints them works:
* real vectors a, b, c per φ step: the per-φ fields rot_[abc]_[xyz] (Å); a build that prints them only in
  the per-pixel block (rot_[abc]_angstroms, e.g. the instrumented R2 C) gives step 0 alone, and its other
  steps are "not compared": the verdict is then incomplete, never a pass on step 0 only;
* reciprocal vectors per step: derived from that step's traced real vectors, a* = (b×c)/V, … (Å⁻¹).
  The C never rotates its own a*, b*, c* (trace-format.md B4–B6: printed unrotated); those traced values
  are reported once, for reference.
"""

from __future__ import annotations

import math

from nbparity.probes.common import NOT_COMPARED

REAL = ("a", "b", "c")
VECTORS = ("a", "b", "c", "a*", "b*", "c*")
XYZ = ("x", "y", "z")


def real_vectors(frames, occurrence=(0, 0, 0)) -> dict:
    """{phi_tic: {"a": [x, y, z], "b": …, "c": …, "phi_deg": φ}} from a trace (empty when absent)."""
    from nbparity.probes.common import phi_frame, pixel_values

    pf = phi_frame(frames, occurrence)
    out = {}
    cols = [f"rot_{v}_{x}" for v in REAL for x in XYZ]
    if len(pf) and all(c in pf.columns for c in cols):
        for tic, row in pf.iterrows():
            if all(row[c] == row[c] for c in cols):          # a step that printed its vectors
                out[int(tic)] = {v: [float(row[f"rot_{v}_{x}"]) for x in XYZ] for v in REAL}
                out[int(tic)]["phi_deg"] = float(row["phi_deg"]) if "phi_deg" in pf.columns else math.nan
        if out:
            return out
    block = {v: pixel_values(frames, f"rot_{v}_angstroms") for v in REAL}
    if all(len(b) == 3 for b in block.values()):
        phi0 = float(pf["phi_deg"].iloc[0]) if "phi_deg" in pf.columns and len(pf) else math.nan
        out[0] = {**block, "phi_deg": phi0}
    return out


def traced_steps(frames) -> dict:
    """{phi_tic: φ in degrees} of every per-φ step a trace printed (with or without vectors)."""
    from nbparity.probes.common import phi_frame

    pf = phi_frame(frames)
    if not len(pf):
        return {}
    return {int(t): (float(r["phi_deg"]) if "phi_deg" in pf.columns else math.nan) for t, r in pf.iterrows()}


def reciprocal(a, b, c) -> dict:
    """a* = (b×c)/V, b* = (c×a)/V, c* = (a×b)/V with V = a·(b×c), in float64 (Å⁻¹ for Å inputs)."""
    def cross(u, v):
        return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]

    bc, ca, ab = cross(b, c), cross(c, a), cross(a, b)
    vol = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2]
    return {"a*": [x / vol for x in bc], "b*": [x / vol for x in ca], "c*": [x / vol for x in ab]}


def _with_stars(side):
    return None if side is None else {**{v: side[v] for v in REAL}, **reciprocal(*(side[v] for v in REAL))}


def side_by_side(c_vecs: dict, py_vecs: dict, tol: dict, steps: dict):
    """The table of both sides' vectors per step, each component judged with `tol` ({"real": (rtol,
    atol), "reciprocal": …}); a step one side lacks has every row "not compared"."""
    import pandas as pd

    from nbparity.probes.common import judge_value

    rows = []
    for tic in sorted(set(c_vecs) | set(py_vecs) | set(steps)):
        cv, pv = _with_stars(c_vecs.get(tic)), _with_stars(py_vecs.get(tic))
        phi = (c_vecs.get(tic) or py_vecs.get(tic) or {}).get("phi_deg", steps.get(tic, math.nan))
        for name in VECTORS:
            kind = "reciprocal" if name.endswith("*") else "real"
            for i, x in enumerate(XYZ):
                c = cv[name][i] if cv else None
                p = pv[name][i] if pv else None
                status, d, rel = judge_value(c, p, *tol[kind])
                rows.append({"phi_tic": tic, "phi_deg": phi, "vector": name, "component": x,
                             "c": math.nan if c is None else c, "torch": math.nan if p is None else p,
                             "abs_diff": d, "rel_diff": rel, "status": status, "derived": kind == "reciprocal"})
    return pd.DataFrame(rows)


def tolerances(request) -> dict:
    """The comparator's tolerances for the vectors' classes (length_A, reciprocal_A), with overrides."""
    from nbparity.probes.common import tolerance
    from nbparity.schema import load_schema

    schema, dtype = load_schema(), request.torch.dtype
    return {"real": tolerance(request, *schema.class_defaults("length_A", dtype)),
            "reciprocal": tolerance(request, *schema.class_defaults("reciprocal_A", dtype))}


def judge_rotation(table, c_vecs, py_vecs, strict: bool = False):
    """(Judgement, first divergent row or None, not-compared steps)."""
    from nbparity.probes.common import coverage, rows_judgement
    from nbparity.verdict import combine

    steps = sorted(set(table["phi_tic"]))
    missing = sorted(set(table.loc[table["status"] == NOT_COMPARED, "phi_tic"]))
    parts = [("vectors", rows_judgement(table["status"], "vector components"))]
    lacking = [side for side, vecs in (("the C", c_vecs), ("the torch side", py_vecs))
               if any(t not in vecs for t in missing)]
    cov = coverage(missing, len(steps), f"{' and '.join(lacking)} printed no rotated vectors there"
                   if lacking else "a vector component is not finite on a side")
    if cov is not None:
        parts.append(("coverage", cov))
    bad = table[table["status"] == "divergent"]
    first = None
    if len(bad):
        r = bad.iloc[0]
        first = {"phi_tic": int(r["phi_tic"]), "phi_deg": float(r["phi_deg"]), "vector": r["vector"],
                 "component": r["component"], "c": float(r["c"]), "torch": float(r["torch"])}
    return combine(parts, strict), first, missing


def carry_notes(table, c_vecs, py_vecs) -> list[str]:
    """Where step 0 ran on the last step's vectors (C-PARITY-001's carry-over)."""
    steps = sorted(set(table["phi_tic"]))
    return [f"{side}: φ step 0 ran on the vectors of step {steps[-1]} (C-PARITY-001: the predecessor pixel's "
            "last step), not the nominal φ0" for side, vecs in (("C", c_vecs),
                                                                                         ("torch", py_vecs))
            if len(steps) > 1 and 0 in vecs and steps[-1] in vecs
            and all(vecs[0][v] == vecs[steps[-1]][v] for v in REAL)]


def step_rows(table):
    """One row per step: the largest |Δ| of the real and of the derived reciprocal vectors, the step's
    status (the worst of its rows)."""
    import pandas as pd

    order = ["divergent", NOT_COMPARED, "within_tolerance", "identical"]
    rows = []
    for tic, g in table.groupby("phi_tic", sort=True):
        real, rec = g[~g["derived"]], g[g["derived"]]
        rows.append({"phi_tic": int(tic), "phi_deg": float(g["phi_deg"].iloc[0]),
                     "max|Δ| a b c": float(real["abs_diff"].max()), "max|Δ| a* b* c*": float(rec["abs_diff"].max()),
                     "status": min(g["status"], key=order.index)})
    return pd.DataFrame(rows)


def probe_rotation(session, log=None):
    from nbparity.probes.common import (c_log, csv, identity, md_table, pixel_values, run_traced, side_argvs,
                                        torch_log)
    from nbparity.probes.result import ProbeResult

    req = session.request
    tr = run_traced(session, log=log)
    c_vecs, py_vecs = real_vectors(tr.c_frames), real_vectors(tr.py_frames)
    steps = {**traced_steps(tr.py_frames), **traced_steps(tr.c_frames)}
    table = side_by_side(c_vecs, py_vecs, tolerances(req), steps)
    judgement, first, missing = judge_rotation(table, c_vecs, py_vecs, req.judge.strict)
    stars = {v: pixel_values(tr.c_frames, f"rot_{v}_star_A_inv") for v in REAL}
    notes = carry_notes(table, c_vecs, py_vecs)
    per_step = step_rows(table)
    source = {"C": _source(c_vecs, tr.c_frames), "torch": _source(py_vecs, tr.py_frames)}
    where = ("none among the compared steps" if first is None else
             f"φ_tic {first['phi_tic']} (φ = {first['phi_deg']:.17g}°) {first['vector']}_{first['component']}: "
             f"C {first['c']!r} torch {first['torch']!r}")
    findings = [f"first diverging step: {where}"]
    if missing:
        findings.append(f"not compared: {judgement_reason(judgement, 'coverage')}; per-φ rot_[abc]_[xyz] fields "
                        "give every step, the pixel block's rot_[abc]_angstroms step 0 only")
    findings += notes
    md = [f"source of the vectors: C {source['C']}; torch {source['torch']}. Mosaic domain 0; a*, b*, c* "
          f"derived per step from that step's traced a, b, c. The C's own a*, b*, c* are never rotated "
          f"(traced, unrotated): {stars}", "", *[f"* {f}" for f in findings], "",
          "## Largest |Δ| per step", "", md_table(per_step), "", "## Side by side", "", md_table(table), ""]
    details = {"source": source, "steps": len(per_step), "steps_not_compared": missing,
               "traced_unrotated_reciprocal": stars, "notes": notes,
               "rows": table.to_dict("records")}
    files = {"rotation.csv": csv(table), "rotation_steps.csv": csv(per_step),
             "c_trace.log": c_log(tr.pair.c_run), "py_trace.log": torch_log(tr.pair.t_run)}
    return ProbeResult(req, judgement, case=session.case, plan=tr.plan, table=table, first_divergent=first,
                       details=details, files=files, summary=tuple(md), findings=tuple(findings),
                       text_table=("basis vectors per φ step (mosaic domain 0)", per_step),
                       identity=identity(session, tr.plan, tr.pair.c_run), warnings=tuple(tr.plan.warnings),
                       side_commands=side_argvs(req, tr.pair))


def judgement_reason(judgement, part: str) -> str:
    return next((j.reason for name, j in judgement.parts if name == part), "")


def _source(vecs, frames) -> str:
    if vecs and _has_phi_fields(frames):
        return "per-φ fields rot_[abc]_[xyz]"
    return "pixel block rot_[abc]_angstroms (step 0 only)" if vecs else "none"


def _has_phi_fields(frames) -> bool:
    from nbparity.probes.common import phi_frame

    return "rot_a_x" in phi_frame(frames).columns

