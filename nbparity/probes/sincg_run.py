"""`probe sincg`'s run: trace the pixel on both sides (Session: placement, the C line), sweep the C
formula around its h, k, l against the simulator, check the torch side's traced lattice factors, and
assemble the result (tables, figure, summary)."""

from __future__ import annotations

from nbparity.probes.sincg import AXES


def probe_sincg(session, log=None):
    from nbparity.probes.common import c_log, csv, identity, run_traced, side_argvs, tolerance, torch_log
    from nbparity.probes.result import ProbeResult
    from nbparity.probes.sincg import first_divergent, judge_sincg, params_of, pixel_hkl_of, sweep, traced_check
    from nbparity.probes.sincg_plot import png_bytes
    from nbparity.schema import tolerance_for

    req = session.request
    window, points = params_of(req)
    tr = run_traced(session, log=log)
    hkl = pixel_hkl_of(tr.c_frames, req)
    N = {k: float(tr.c_frames.config_value(k) or getattr(tr.plan.setup, k)) for _, k, _ in AXES}
    shape = str(tr.c_frames.config_value("xtal_shape") or "SQUARE").upper()
    tol = tolerance(req, *tolerance_for("F_latt_a", req.torch.dtype, "phi"))   # the comparator's F_latt_a
    external = session.torch.external
    table = sweep(hkl, N, tol, window, points, None if external else (req.torch.dtype, req.torch.device))
    traced = traced_check(tr.c_frames, tr.py_frames, N, tol)
    judgement = judge_sincg(table, traced, shape, req.judge.strict)
    torch_label = "port" if external else f"simulator {req.torch.dtype}"
    title = (f"{session.case.name} pixel ({req.slow}, {req.fast}) · {torch_label} vs C formula float64"
             + ("" if shape == "SQUARE" else f" · NOTE: crystal shape {shape} does not use sincg"))
    png = png_bytes(table, traced, {"pixel_hkl": hkl, "N": N, "dtype": req.torch.dtype, "title": title,
                                    "torch": torch_label})
    findings = _findings(table, traced, external, shape)
    details = {"pixel_hkl": hkl, "N": N, "xtal_shape": shape, "window": window, "points": points,
               "tolerance": {"rtol": tol[0], "atol": tol[1]}, "largest_difference": _largest(table),
               "points_outside_tolerance": int((table["status"] == "divergent").sum()),
               "sweep": "not run (a port's lattice factor cannot be called)" if external else "simulator",
               "traced": traced.to_dict("records")}
    md = [f"torch side `{torch_label}` vs the C formula in float64; window ±{window:g}, {points} points per "
          f"axis; crystal shape {shape}; pixel h, k, l (C trace) = {[hkl[a]['x'] for a, _, _ in AXES]}", "",
          *[f"* {f}" for f in findings], "", "![both curves](sincg.png)", "",
          "## The torch side's traced lattice factors against the C formula (every φ step)", "",
          _md(traced), ""]
    files = {"sincg.csv": csv(table), "sincg_traced.csv": csv(traced), "sincg.png": png,
             "sincg.md": f"# sincg sweep ({torch_label} vs C float64)\n\n" + _md(table) + "\n",
             "c_trace.log": c_log(tr.pair.c_run), "py_trace.log": torch_log(tr.pair.t_run)}
    return ProbeResult(req, judgement, case=session.case, plan=tr.plan, table=table,
                       first_divergent=first_divergent(traced), details=details, files=files, summary=tuple(md),
                       findings=tuple(findings),
                       text_table=("per axis (sweep: simulator vs C formula; traced: torch side vs C formula)",
                                   _axis_rows(hkl, N, table, traced)),
                       identity=identity(session, tr.plan, tr.pair.c_run), warnings=tuple(tr.plan.warnings),
                       side_commands=side_argvs(req, tr.pair))


def _largest(table) -> dict:
    """Per axis: the swept point with the largest |simulator − C| (None where the sweep did not run)."""
    out = {}
    for axis, _, _ in AXES:
        d = table[(table["axis"] == axis) & table["abs_diff"].notna()]
        if not len(d):
            out[axis] = None
            continue
        r = d.loc[d["abs_diff"].idxmax()]
        out[axis] = {"x": float(r["x"]), "c": float(r["c_float64"]), "simulator": float(r["simulator"]),
                     "abs_diff": float(r["abs_diff"]), "rel_diff": float(r["rel_diff"])}
    return out


def _axis_rows(hkl, N, table, traced):
    """One row per axis for the terminal: the pixel's value, N, the largest |Δ| of each check."""
    import pandas as pd

    rows = []
    for axis, nkey, _ in AXES:
        s = table[table["axis"] == axis]["abs_diff"]
        t = traced[traced["axis"] == axis] if len(traced) else traced
        worst = [st for st in ("divergent", "not compared", "within_tolerance", "identical")
                 if len(t) and (t["status"] == st).any()]
        rows.append({"axis": axis, "pixel x": hkl[axis]["x"], "N": N[nkey],
                     "sweep max|Δ|": float(s.max()) if s.notna().any() else "not run",
                     "traced": f"{int(t['abs_diff'].notna().sum())}/{len(t)}" if len(t) else "0/0",
                     "traced max|Δ|": float(t["abs_diff"].max()) if len(t) and t["abs_diff"].notna().any() else "-",
                     "traced status": worst[0] if worst else "-"})
    return pd.DataFrame(rows)


def _findings(table, traced, external: bool, shape: str) -> list[str]:
    out = []
    if external:
        out.append("sweep not run: a port's lattice factor cannot be called; its traced F_latt_a/b/c at its "
                   "own traced h, k, l are compared with the C formula instead")
    for axis, lg in _largest(table).items():
        if lg is not None:
            out.append(f"sweep {axis}: largest |Δ| {lg['abs_diff']:.6g} at {axis} = {lg['x']:.17g} "
                       f"(C {lg['c']:.17g}, simulator {lg['simulator']:.17g})")
    if shape != "SQUARE":
        out.append(f"traced values not judged: crystal shape {shape} does not use sincg")
    elif len(traced):
        d = traced["abs_diff"]
        out.append(f"traced: {int(d.notna().sum())} of {len(traced)} lattice factors compared, largest |Δ| "
                   f"{float(d.max()) if d.notna().any() else float('nan'):.6g}")
    return out


def _md(df) -> str:
    from nbparity.probes.common import md_table

    return md_table(df) if len(df) else "(none)"
