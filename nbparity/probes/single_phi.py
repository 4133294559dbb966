"""`probe single-phi`: both sides at one φ step each (`-phisteps 1 -osc 0 -phi φ_i`, at every φ angle of
the case), compared step by step, so a divergence is pinned to the angle where it starts. Each step runs
through the Session (placement, the C line), so a port (--py-cmd) works as the torch side; a step whose
trace lacks a side's per-φ line or final intensity is "incomplete", never a pass.

The φ tokens must not change the rest of the parse (an appended token can be eaten by a preceding
option, spec §12): candidate placements are tried and each is checked with the simulator's own parser;
a placement is used only if the options differ from the case's in phi0, osc and phisteps alone.
"""

from __future__ import annotations

import math

PHI_FIELDS = frozenset({"phi0", "osc", "phisteps", "given"})


def case_phi_angles(setup) -> list[float]:
    """The case's φ angles in degrees, as the C steps them: φ0 + φstep·tic."""
    from simulator.cparse import RTD

    return [(float(setup.phi0) + float(setup.phistep) * tic) * RTD for tic in range(int(setup.phisteps))]


def _same(x, y) -> bool:
    return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))


def _changed(a, b) -> set:
    """Configuration fields that differ (an unset NaN equals an unset NaN; parse bookkeeping ignored)."""
    from simulator.argv import configuration

    ca, cb = configuration(a), configuration(b)
    changed = {k for k in ca if k != "given" and not _same(ca[k], cb[k])}
    return changed | ({"given"} if ca["given"] != cb["given"] else set())


def _candidates(argv: list, tokens: list) -> list:
    """Append, prepend, or rewrite the case's own φ options in place (then append the rest)."""
    out = [list(argv) + tokens, tokens + list(argv)]
    rewritten, rest = list(argv), []
    for flag, value in zip(tokens[::2], tokens[1::2]):
        idx = [i for i, t in enumerate(rewritten[:-1]) if t == flag]
        if idx:
            rewritten[idx[-1] + 1] = value
        else:
            rest += [flag, value]
    out.append(rewritten + rest)
    return out


def single_phi_argv(argv: list, phi_deg: float) -> list:
    """The case's argv at one φ step, placed so that only phi0/osc/phisteps change (UsageError if no
    placement achieves that)."""
    from simulator.argv import parse_argv
    from simulator.cparse import RTD

    from nbparity.errors import UsageError

    tokens = ["-phisteps", "1", "-osc", "0", "-phi", repr(float(phi_deg))]
    def keeps_parse(cand, r1: bool) -> bool:   # under both C lines (C-ARGV-001 on and off)
        opts = parse_argv(cand, r1=r1)
        return (_changed(parse_argv(list(argv), r1=r1), opts) <= PHI_FIELDS and opts.phisteps == 1
                and float(opts.osc) == 0.0 and float(opts.phi0) == float(phi_deg) / RTD)

    for cand in _candidates(argv, tokens):
        if keeps_parse(cand, True) and keeps_parse(cand, False):
            return cand
    raise UsageError(f"no placement of {' '.join(tokens)} leaves the rest of the case's parse unchanged")


def _value(frames, key):
    from nbparity.probes.common import pixel_values

    v = pixel_values(frames, key)
    return v[0] if v else math.nan


def _phi0(frames, key):
    from nbparity.probes.common import phi_frame

    pf = phi_frame(frames)
    return float(pf[key].iloc[0]) if key in pf.columns and len(pf) else math.nan


def _missing(tr) -> list[str]:
    """What one step's traces lack for the step to be compared (empty when nothing)."""
    from nbparity.probes.common import has_pixel_lines, phi_frame

    out = []
    for side, frames in (("C", tr.c_frames), ("torch side", tr.py_frames)):
        if not has_pixel_lines(frames):
            out.append(f"the {side} printed no trace lines for the pixel")
            continue
        if not len(phi_frame(frames)):
            out.append(f"the {side} printed no per-φ line")
        if not math.isfinite(_value(frames, "I_pixel_final")):
            out.append(f"the {side} printed no finite I_pixel_final")
    return out


def judge_step(tic: int, phi: float, tr, request):
    """(row, Judgement) of one single-φ step."""
    from nbparity.compare import compare_traces
    from nbparity.flows.compare_judge import short_divergence
    from nbparity.probes.common import judge_value
    from nbparity.verdict import Judgement, Verdict

    j = request.judge
    cmp = compare_traces(tr.c_frames, tr.py_frames, rtol=j.rtol, atol=j.atol, dtype=request.torch.dtype)
    lacking = _missing(tr)
    judgement = cmp.judgement
    if lacking and judgement.verdict is not Verdict.DIVERGENT:   # a divergence stands; else not compared
        judgement = Judgement(Verdict.INCOMPLETE, "; ".join(lacking))
    c_i, p_i = _value(tr.c_frames, "I_pixel_final"), _value(tr.py_frames, "I_pixel_final")
    _, d, rel = judge_value(c_i, p_i, 0.0, 0.0)
    k = cmp.counts
    row = {"phi_tic": tic, "phi_deg": phi, "status": judgement.verdict.value,
           "failed_values": int(k.get("failed", 0)) + int(k.get("config_failed", 0)),
           "compared_values": int(k.get("compared", 0)) + int(k.get("config_compared", 0)),
           "first_divergence": short_divergence(cmp.first_divergence) if cmp.first_divergence else "",
           "root_causes": " ".join(r["node"] for r in cmp.root_causes),
           "k_frac_c": _phi0(tr.c_frames, "k_frac"),
           "F_latt_c": _value(tr.c_frames, "F_latt"), "F_latt_py": _value(tr.py_frames, "F_latt"),
           "I_pixel_final_c": c_i, "I_pixel_final_py": p_i, "rel_I_pixel_final": rel,
           "reason": judgement.reason}
    return row, judgement


def judge_steps(table, parts, strict: bool):
    """The probe's judgement from its steps: divergent when one diverges (the first named), incomplete
    when one was not compared, else identical / within tolerance."""
    from nbparity.probes.common import span
    from nbparity.verdict import Judgement, Verdict

    n = len(table)
    bad = table[table["status"] == Verdict.DIVERGENT.value]
    lacking = table[table["status"] == Verdict.INCOMPLETE.value]
    first = None
    if len(bad):
        r = bad.iloc[0]
        first = {"phi_tic": int(r["phi_tic"]), "phi_deg": float(r["phi_deg"]),
                 "first_divergence": r["first_divergence"]}
        v, reason = Verdict.DIVERGENT, (f"{len(bad)} of {n} φ steps diverge; first at φ_tic {first['phi_tic']} "
                                        f"(φ = {first['phi_deg']:.17g}°): {first['first_divergence']}")
    elif len(lacking):
        v, reason = Verdict.INCOMPLETE, (f"{span(lacking['phi_tic'])} ({len(lacking)} of {n}) not compared: "
                                         f"{lacking.iloc[0]['reason']}")
    elif n == 0:
        v, reason = Verdict.INCOMPLETE, "the case has no φ step"
    elif (table["status"] == Verdict.IDENTICAL.value).all():
        v, reason = Verdict.IDENTICAL, f"all {n} φ steps bit-identical"
    else:
        worst = Verdict.EXPLAINED if (table["status"] == Verdict.EXPLAINED.value).any() else Verdict.WITHIN_TOLERANCE
        v, reason = worst, f"all {n} φ steps agree ({worst.label.lower()})"
    return Judgement(v, reason, tuple(parts), strict), first


def probe_single_phi(session, log=None):
    import pandas as pd

    from nbparity.probes.common import c_log, csv, identity, md_table, run_traced, side_argvs, torch_log
    from nbparity.probes.result import ProbeResult

    req = session.request
    base = session.plan_pixel(req.slow, req.fast)
    angles = case_phi_angles(base.setup)
    rows, parts, files, sides, argvs, first_run = [], [], {}, {}, [], None
    for tic, phi in enumerate(angles):
        argv = single_phi_argv(session.case_argv, phi)
        if log:
            log(f"φ step {tic}: -phi {phi!r}")
        tr = run_traced(session, argv)
        first_run = first_run or tr
        argvs.append(tr.argv)
        row, judgement = judge_step(tic, phi, tr, req)
        rows.append(row)
        parts.append((f"φ step {tic}", judgement))
        files[f"c_phi{tic}.log"] = c_log(tr.pair.c_run)
        files[f"py_phi{tic}.log"] = torch_log(tr.pair.t_run)
        sides.update(side_argvs(req, tr.pair, f" φ{tic}"))
    table = pd.DataFrame(rows)
    judgement, first = judge_steps(table, parts, req.judge.strict)
    files["single_phi.csv"] = csv(table)
    md = ["Each step ran `-phisteps 1 -osc 0 -phi φ` on both sides (placement verified with the simulator's "
          "parser: only phi0, osc and phisteps differ from the case).", "", md_table(table), ""]
    cols = ["phi_tic", "phi_deg", "status", "failed_values", "I_pixel_final_c", "I_pixel_final_py",
            "rel_I_pixel_final"]
    where = "none" if first is None else (f"{first['phi_tic']} (φ = {first['phi_deg']!r}°): "
                                          f"{first['first_divergence']}")
    details = {"steps": table.to_dict("records"), "failing_steps": int((table["status"] == "divergent").sum())
               if len(table) else 0, "argv_per_step": argvs}
    ident = identity(session, base, first_run.pair.c_run) if first_run else {}
    return ProbeResult(req, judgement, case=session.case, plan=base, table=table, first_divergent=first,
                       details=details, files=files, summary=tuple(md), findings=(f"first divergent φ step: {where}",),
                       text_table=("single-φ steps", table[cols] if len(table) else table), identity=ident,
                       warnings=tuple(base.warnings), side_commands=sides)
