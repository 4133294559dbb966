"""`probe single-phi`: both sides at one φ step each (`-phisteps 1 -osc 0 -phi φ_i`, at every φ angle of
the case), compared step by step, so a divergence is pinned to the angle where it starts.

The φ tokens must not change the rest of the parse (an appended token can be eaten by a preceding
option, spec §12): candidate placements are tried and each is checked with the simulator's own parser;
a placement is used only if the options differ from the case's in phi0, osc and phisteps alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

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


@dataclass
class SinglePhiResult:
    exit_code: int
    table: object           # DataFrame, one row per φ step
    first_divergent: dict | None
    bundle: object = None
    argvs: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"exit_code": self.exit_code, "first_divergent_step": self.first_divergent,
                "steps": self.table.to_dict("records"), "bundle": str(self.bundle) if self.bundle else None}


def _value(frames, key):
    from nbparity.probes.common import pixel_values

    v = pixel_values(frames, key)
    return v[0] if v else math.nan


def probe_single_phi(ro, log=None) -> SinglePhiResult:
    import pandas as pd

    from nbparity.compare import compare_traces
    from nbparity.errors import EXIT_DIVERGENCE, EXIT_OK
    from nbparity.session import derive as _derive
    from nbparity.flows.compare_judge import short_divergence as _short
    from nbparity.probes.common import md_table, run_traced, write_probe_bundle

    import tempfile

    with tempfile.TemporaryDirectory(prefix="nbparity-phi-") as tmp:
        setup, _ = _derive(ro.case.argv, ro.quirks, ro.case.prepare_workdir(tmp))
    angles = case_phi_angles(setup)
    rows, argvs, logs = [], [], {}
    for tic, phi in enumerate(angles):
        argv = single_phi_argv(ro.case.argv, phi)
        if log:
            log(f"φ step {tic}: -phi {phi!r}")
        tr = run_traced(ro, argv)
        cmp = compare_traces(tr.c_frames, tr.py_frames, dtype=ro.dtype)
        argvs.append(tr.argv)
        logs[f"c_phi{tic}.log"] = tr.c_run.stdout
        logs[f"py_phi{tic}.log"] = tr.torch_run.trace_text
        c_i, p_i = _value(tr.c_frames, "I_pixel_final"), _value(tr.py_frames, "I_pixel_final")
        rel = abs(p_i - c_i) / abs(c_i) if c_i not in (0.0,) and c_i == c_i else (0.0 if p_i == c_i else math.inf)
        rows.append({"phi_tic": tic, "phi_deg": phi, "status": "pass" if cmp.exit_code == EXIT_OK else "fail",
                     "failed_values": int(cmp.counts.get("failed", 0)) + int(cmp.counts.get("config_failed", 0)),
                     "compared_values": int(cmp.counts.get("compared", 0)),
                     "first_divergence": _short(cmp.first_divergence) if cmp.first_divergence else "",
                     "root_causes": " ".join(r["node"] for r in cmp.root_causes),
                     "k_frac_c": _phi0(tr.c_frames, "k_frac"),
                     "F_latt_c": _value(tr.c_frames, "F_latt"), "F_latt_py": _value(tr.py_frames, "F_latt"),
                     "I_pixel_final_c": c_i, "I_pixel_final_py": p_i, "rel_I_pixel_final": rel})
    table = pd.DataFrame(rows)
    bad = table[table["status"] == "fail"]
    first = None if bad.empty else {"phi_tic": int(bad.iloc[0]["phi_tic"]), "phi_deg": float(bad.iloc[0]["phi_deg"]),
                                    "first_divergence": bad.iloc[0]["first_divergence"]}
    code = EXIT_OK if first is None else EXIT_DIVERGENCE
    line = (f"single-φ PASS: all {len(table)} steps agree ({ro.dtype})" if first is None else
            f"single-φ FAIL: {len(bad)} of {len(table)} steps diverge; first at φ_tic {first['phi_tic']} "
            f"(φ = {first['phi_deg']:.17g}°): {first['first_divergence']}")
    md = [f"# nbparity probe single-phi — {ro.case.name}, pixel ({ro.slow}, {ro.fast})", "", f"**{line}**", "",
          "Each step ran `-phisteps 1 -osc 0 -phi φ` on both sides (placement verified with the simulator's "
          "parser: only phi0, osc and phisteps differ from the case).", "", md_table(table), ""]
    metrics = {"verdict": "pass" if first is None else "fail", "exit_code": code, "verdict_line": line,
               "first_divergent_step": first, "steps": len(table), "failing_steps": int(len(bad)),
               "argv_per_step": argvs}
    files = {"single_phi.csv": table.to_csv(index=False, float_format="%.17g"), **logs}
    bundle = write_probe_bundle("single-phi", ro, metrics, files, "\n".join(md))
    return SinglePhiResult(code, table, first, bundle, argvs)


def _phi0(frames, key):
    from nbparity.probes.common import phi_frame

    pf = phi_frame(frames)
    return float(pf[key].iloc[0]) if key in pf.columns and len(pf) else math.nan
