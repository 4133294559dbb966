"""What every probe shares: one traced run of both sides through the Session (placement, the C line, the
pair run), the readers of traced values, per-row judging in the five-state vocabulary, and markdown tables.

A probe step that lacks one side is "not compared": it never counts as agreement, and it makes the
probe's verdict incomplete (`coverage`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nbparity.verdict import Judgement, Verdict

NOT_COMPARED = "not compared"


@dataclass
class Traced:
    """Both sides' run on one planned argv, parsed."""

    plan: object            # nbparity.session.PixelPlan
    pair: object            # nbparity.session.PairRun
    c_frames: object
    py_frames: object

    @property
    def argv(self) -> list:
        return self.plan.argv


def run_traced(session, argv=None, log=None) -> Traced:
    """Plan the pixel on `argv` (default: the case's; placement and the C line as compare does), run both
    sides on it, parse both traces. RunnerError (exit 3) when the C prints nothing for the pixel."""
    from nbparity.errors import RunnerError
    from nbparity.traces import parse_trace

    req = session.request
    plan = session.plan_pixel(req.slow, req.fast, argv=argv)
    if log:
        log("running C and torch…")
    pair = session.run_pair(plan.argv, plan.mode, trace_pixel=(req.slow, req.fast), shape=plan.shape)
    c_frames = parse_trace(pair.c_run.stdout, source="c")
    if not has_pixel_lines(c_frames):
        exc = RunnerError(f"the C binary printed no TRACE_C lines for pixel ({req.slow}, {req.fast}); "
                          "does it support -trace_pixel S F?")
        exc.run = pair.c_run
        raise exc
    return Traced(plan, pair, c_frames, parse_trace(pair.t_run.trace_text, source="py"))


def has_pixel_lines(frames) -> bool:
    vals = getattr(frames, "values", None)
    return vals is not None and len(vals) > 0 and bool((vals["section"] == "pixel").any())


def identity(session, plan, c_run) -> dict:
    """The sides of this attempt, as compare writes them (history compares attempts of the same sides)."""
    from nbparity import cline

    line = plan.c_line["line"] if plan.c_line else (cline.detect_line(c_run.stdout) if c_run else None)
    return {"c": session.c_side().identity(line), "torch": session.torch.identity(plan.mode)}


def side_argvs(request, pair, label: str = "") -> dict:
    """What each side ran (commands.txt lists them as comments)."""
    t_run = pair.t_run
    torch = getattr(t_run, "command", None)
    if torch is None:
        t = request.torch
        torch = ["python", "-m", "simulator", *t_run.argv, "-device", t.device, "-dtype", t.dtype,
                 "-quirks", getattr(t_run, "quirks", t.quirks)]
    return {f"C{label}": getattr(pair.c_run, "argv", None), f"torch{label}": torch}


def torch_log(run) -> str:
    """A port's stdout and stderr; the simulator's trace lines."""
    return "" if run is None else (getattr(run, "log_text", None) or run.trace_text)


def c_log(run) -> str:
    return "" if run is None else run.stdout + (("\n# stderr:\n" + run.stderr) if run.stderr else "")


def pixel_values(frames, key: str) -> list[float]:
    """Components of a per-pixel key at occurrence (0,0,0), first printing."""
    v = frames.values
    if len(v) == 0:
        return []
    rows = v[(v["section"] == "pixel") & (v["key"] == key) & (v["layer"] == 0) & (v["subS"] == 0)
             & (v["subF"] == 0) & (v["repeat"] == 0)].sort_values("component")
    return [float(x) for x in rows["value"]]


def phi_frame(frames, occurrence=(0, 0, 0)):
    """The per-φ values of one occurrence as a DataFrame: one row per phi_tic, one column per field."""
    import pandas as pd

    v = frames.values
    if len(v) == 0:
        return pd.DataFrame()
    rows = v[(v["section"] == "phi") & (v["layer"] == occurrence[0]) & (v["subS"] == occurrence[1])
             & (v["subF"] == occurrence[2]) & (v["repeat"] == 0)]
    if len(rows) == 0:
        return pd.DataFrame()
    return rows.pivot_table(index="phi_tic", columns="key", values="value", aggfunc="first").sort_index()


def tolerance(request, rtol: float, atol: float) -> tuple[float, float]:
    """A class's (rtol, atol) with the request's --tolerance / --atol overrides applied."""
    j = request.judge
    return (rtol if j.rtol is None else j.rtol), (atol if j.atol is None else j.atol)


def judge_value(c, other, rtol: float, atol: float) -> tuple[str, float, float]:
    """(status, |Δ|, relative Δ) of one value pair. Status: identical, within_tolerance, divergent, or
    "not compared" (a side lacks it, or it is not finite): a row that was not compared never passes and
    never carries an inf/NaN delta."""
    if c is None or other is None or not (math.isfinite(c) and math.isfinite(other)):
        return NOT_COMPARED, math.nan, math.nan
    d = abs(other - c)
    scale = max(abs(c), abs(other))
    rel = d / scale if scale else 0.0
    if d == 0:
        return Verdict.IDENTICAL.value, d, rel
    return (Verdict.WITHIN_TOLERANCE.value if d <= atol + rtol * abs(c) else Verdict.DIVERGENT.value), d, rel


def rows_judgement(statuses, what: str) -> Judgement:
    """The judgement of judged rows (not-compared rows excluded; `coverage` judges those)."""
    from nbparity.verdict import judge_values

    st = [s for s in statuses if s != NOT_COMPARED]
    return judge_values(len(st), sum(s == Verdict.DIVERGENT.value for s in st),
                        sum(s == Verdict.IDENTICAL.value for s in st), what)


def coverage(missing: list, total: int, why: str) -> Judgement | None:
    """Incomplete when some of `total` steps were not compared (None when every one was)."""
    if not missing:
        return None
    return Judgement(Verdict.INCOMPLETE, f"{span(missing)} ({len(missing)} of {total}) not compared: {why}")


def span(tics) -> str:
    """'φ steps 1–9' / 'φ step 3' / 'φ steps 1, 4, 7'."""
    tics = sorted(int(t) for t in tics)
    if len(tics) == 1:
        return f"φ step {tics[0]}"
    if tics == list(range(tics[0], tics[-1] + 1)):
        return f"φ steps {tics[0]}–{tics[-1]}"
    return "φ steps " + ", ".join(str(t) for t in tics)


def md_table(df, floatfmt="%.17g") -> str:
    """A DataFrame as a markdown table (numbers at full precision)."""
    def cell(v):
        if isinstance(v, float):
            return floatfmt % v
        return str(v)

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def csv(df) -> str:
    return "" if df is None or len(df) == 0 else df.to_csv(index=False, float_format="%.17g")
