"""Parity matrix: a YAML list of cases, each with runs; every run is a full-image comparison (plus trace
comparisons for listed pixels) judged by explicit gates.

Schema (unknown keys are errors; argument strings are split on whitespace):

    name: optional title
    prepare:                      # optional: C runs done once per matrix run, before any case;
      - name: maskgen             # their working directory is substituted for `{prepared}` in args
        args: "-cell 100 100 100 90 90 90 … -intfile mask.img"
    cases:
      - id: cubic                 # unique, [A-Za-z0-9_.-]
        description: text
        base_args: "-cell …"
        thresholds: {corr_min: …, sum_ratio_min: …, sum_ratio_max: …, max_abs_max: …, …}
        quirks: c                 # optional (default c); dtype (float64), device (cpu),
        trace_pixels: [[s, f]]    #   trace_pixels, timeout_s — per case or per run
        py_cmd: "python -m myport {argv}"   # optional, case or run level: an external port is the torch
        py_quirk_flags:                     #   side (then no quirks/dtype/device); its quirk switches
          C-PARITY-001: "--phi-carryover"   #   for the attribution re-runs (needs py_cmd)
        runs:
          - name: base
            extra_args: "-N 5"

Relative input files in the args resolve against the matrix file's directory. Keys starting with `x-`
are ignored at every level (a home for YAML anchors).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbparity.errors import UsageError
from nbparity.images import MetricOptions, Thresholds

TOP_KEYS = {"name", "prepare", "cases"}
PREPARE_KEYS = {"name", "args"}
CASE_KEYS = {"id", "description", "base_args", "thresholds", "runs", "quirks", "dtype", "device",
             "trace_pixels", "timeout_s", "py_cmd", "py_quirk_flags"}
RUN_KEYS = {"name", "extra_args", "thresholds", "quirks", "dtype", "device", "trace_pixels", "timeout_s",
            "py_cmd", "py_quirk_flags"}
TORCH_ONLY = ("quirks", "dtype", "device")   # the in-repo simulator's settings: refused with py_cmd
INHERITED = ("quirks", "dtype", "device", "trace_pixels", "timeout_s")
TRACE_TOL_KEYS = ("trace_rtol", "trace_atol")
OPTION_KEYS = tuple(f for f in MetricOptions.__dataclass_fields__)
ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
DTYPES = ("float64", "float32")
DEFAULTS = {"quirks": "c", "dtype": "float64", "device": "cpu", "trace_pixels": [], "timeout_s": 300}
PREPARED = "{prepared}"


# --------------------------------------------------------------------------- YAML with line numbers


def _loader():
    import yaml

    class LineLoader(yaml.SafeLoader):
        """Safe loader that remembers the line of every mapping, for error messages."""

    def construct_mapping(loader, node, deep=False):
        mapping = LineDict(yaml.SafeLoader.construct_mapping(loader, node, deep=deep))
        mapping.line = node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


class LineDict(dict):
    line = 0


def _err(path, where: str, node, msg: str) -> UsageError:
    line = getattr(node, "line", 0)
    loc = f"{path}:{line}" if line else str(path)
    return UsageError(f"matrix {loc}: {where}: {msg}" if where else f"matrix {loc}: {msg}")


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class PrepareStep:
    name: str
    argv: tuple


@dataclass
class RunSpec:
    """Everything one run needs, picklable (goes to pool processes and dask workers as is)."""

    case_id: str
    run_name: str
    description: str
    argv: list[str]              # base_args + extra_args, inputs absolute, `{prepared}` unresolved
    thresholds: dict             # images.Thresholds fields
    options: dict                # images.MetricOptions fields
    trace_tol: dict              # trace_rtol / trace_atol (None → the schema's tolerance classes)
    quirks: str = "c"
    dtype: str = "float64"
    device: str = "cpu"
    trace_pixels: list = field(default_factory=list)
    timeout_s: float = 300
    matrix_dir: str = "."
    port: object = None          # nbparity.port.PortSpec: an external port is the torch side
    torch_keys: tuple = ()       # quirks/dtype/device given explicitly in the matrix for this run

    @property
    def key(self) -> str:
        return f"{self.case_id}/{self.run_name}"

    @property
    def label(self) -> str:
        return f"{self.case_id}-{self.run_name}"

    def to_dict(self):
        return asdict(self)


@dataclass
class Matrix:
    path: Path
    name: str
    prepare: list[PrepareStep]
    runs: list[RunSpec]
    port: object = None          # `cases run --py-cmd`: the port given on the command line


def _split_args(path, where, node, value, key) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        raise _err(path, where, node, f"{key!r} must be a string of arguments, got {type(value).__name__}")
    return value.split()


def _check_keys(path, where, node, allowed):
    # `x-…` keys are free (YAML anchors for shared thresholds/args live there), all others are checked
    unknown = sorted(str(k) for k in set(node) - allowed if not str(k).startswith("x-"))
    if unknown:
        raise _err(path, where, node, f"unknown key(s) {', '.join(map(repr, unknown))} "
                                      f"(allowed: {', '.join(sorted(allowed))})")


def _check_pixels(path, where, node, value):
    ok = isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                    for v in p) for p in value)
    if not ok:
        raise _err(path, where, node, "'trace_pixels' must be a list of [slow, fast] pairs of "
                                      f"non-negative integers, got {value!r}")
    return [list(p) for p in value]


def _check_inherited(path, where, node, settings: dict) -> dict:
    out = {}
    for key in INHERITED:
        if key not in node:
            continue
        v = node[key]
        if key == "trace_pixels":
            out[key] = _check_pixels(path, where, node, v)
        elif key == "timeout_s":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise _err(path, where, node, f"'timeout_s' must be a positive number, got {v!r}")
            out[key] = v
        elif key == "dtype":
            if v not in DTYPES:
                raise _err(path, where, node, f"'dtype' must be one of {', '.join(DTYPES)}, got {v!r}")
            out[key] = v
        else:
            if not isinstance(v, str) or not v:
                raise _err(path, where, node, f"{key!r} must be a non-empty string, got {v!r}")
            if key == "quirks":
                _check_quirks(path, where, node, v)
            out[key] = v
    return {**settings, **out}


def _check_quirks(path, where, node, mode: str):
    try:
        from simulator.quirks import resolve
    except ImportError:  # simulator not importable yet: the grammar check happens at run time
        return
    try:
        resolve(mode)
    except ValueError as exc:
        raise _err(path, where, node, f"quirks {mode!r}: {exc}") from None


def _check_port(path, where, case, run, base: Path):
    """The run's external port from py_cmd / py_quirk_flags (run level overrides case level), or None."""
    from nbparity.port import PortSpec

    def pick(key):
        return run[key] if key in run else case.get(key)

    py_cmd, flags = pick("py_cmd"), pick("py_quirk_flags")
    node = run if ("py_cmd" in run or "py_quirk_flags" in run) else case
    if py_cmd is None:
        if flags is not None:
            raise _err(path, where, node, "'py_quirk_flags' needs 'py_cmd' (the in-repo simulator takes 'quirks')")
        return None
    if not isinstance(py_cmd, str) or not py_cmd.strip():
        raise _err(path, where, node, f"'py_cmd' must be a non-empty command string, got {py_cmd!r}")
    if flags is not None and not (isinstance(flags, dict) and all(isinstance(v, str) for v in flags.values())):
        raise _err(path, where, node, "'py_quirk_flags' must be a mapping of quirk id to a string of flags, "
                                      f"got {flags!r}")
    given = [k for k in TORCH_ONLY if k in case or k in run]
    if given:
        raise _err(path, where, node, f"{', '.join(repr(k) for k in given)} cannot be combined with 'py_cmd': "
                                      "the harness passes nothing to an external port; put the port's own "
                                      "options into py_cmd")
    try:
        return PortSpec.parse(py_cmd, dict(flags or {}), cwd=base)
    except UsageError as exc:
        msg = str(exc).replace("--py-quirk-flag", "py_quirk_flags").replace("--py-cmd", "py_cmd")
        raise _err(path, where, node, msg) from None


def _split_thresholds(path, where, node, value, base_t: dict, base_o: dict, base_tt: dict):
    if value is None:
        return base_t, base_o, base_tt
    if not isinstance(value, dict):
        raise _err(path, where, node, f"'thresholds' must be a mapping, got {type(value).__name__}")
    t, o, tt = dict(base_t), dict(base_o), dict(base_tt)
    for key, v in value.items():
        if isinstance(v, bool) or not (v is None or isinstance(v, (int, float))):
            raise _err(path, where, value, f"threshold {key!r} must be a number or null, got {v!r}")
        if key in t:
            t[key] = v
        elif key in o:
            if v is None:
                raise _err(path, where, value, f"metric option {key!r} cannot be null")
            o[key] = v
        elif key in TRACE_TOL_KEYS:
            tt[key] = v
        else:
            known = ", ".join([*Thresholds.names(), *OPTION_KEYS, *TRACE_TOL_KEYS])
            raise _err(path, where, value, f"unknown threshold {key!r} (known: {known})")
    return t, o, tt


def _absolutize(path, where, node, argv: list[str], base: Path) -> list[str]:
    from nbparity.cases import absolutize_inputs

    # tokens naming a prepared file are resolved when the matrix runs, not now
    held = {i: tok for i, tok in enumerate(argv) if PREPARED in tok}
    probe = list(argv)
    for i in held:
        if i > 0:
            probe[i - 1] = "-x-prepared"  # not an input flag: nothing to check before the prepare step
    try:
        out, _ = absolutize_inputs(probe, base)
    except UsageError as exc:
        raise _err(path, where, node, str(exc)) from None
    for i, tok in held.items():
        out[i] = tok
        if i > 0:
            out[i - 1] = argv[i - 1]
    return out


def parse_matrix(text: str, path: Path, only: list[str] | None = None) -> Matrix:
    """Validate the YAML text strictly; UsageError (exit 2) names the problem and its location."""
    import yaml

    try:
        doc = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"matrix {where}: malformed YAML: {problem}") from None
    if not isinstance(doc, dict):
        raise _err(path, "", doc, "the top level must be a mapping with a 'cases:' list")
    _check_keys(path, "top level", doc, TOP_KEYS)
    base = path.parent.resolve()

    prepare = []
    prep = doc.get("prepare") or []
    if not isinstance(prep, list):
        raise _err(path, "prepare", doc, "'prepare' must be a list")
    for i, step in enumerate(prep):
        where = f"prepare[{i}]"
        if not isinstance(step, dict):
            raise _err(path, where, doc, "each prepare step must be a mapping with name and args")
        _check_keys(path, where, step, PREPARE_KEYS)
        for key in ("name", "args"):
            if not isinstance(step.get(key), str) or not step.get(key):
                raise _err(path, where, step, f"missing or empty {key!r}")
        argv = _absolutize(path, where, step, _split_args(path, where, step, step["args"], "args"), base)
        prepare.append(PrepareStep(step["name"], tuple(argv)))

    cases = doc.get("cases")
    if not isinstance(cases, list) or not cases:
        raise _err(path, "top level", doc, "'cases' must be a non-empty list")
    base_t, base_o = Thresholds().to_dict(), MetricOptions().to_dict()
    base_tt = {k: None for k in TRACE_TOL_KEYS}
    runs, seen = [], set()
    for ci, case in enumerate(cases):
        where = f"cases[{ci}]"
        if not isinstance(case, dict):
            raise _err(path, where, doc, f"each case must be a mapping, got {type(case).__name__}")
        _check_keys(path, where, case, CASE_KEYS)
        cid = case.get("id")
        if cid is None:
            raise _err(path, where, case, "missing 'id'")
        if not isinstance(cid, str) or not ID_RE.match(cid):
            raise _err(path, where, case, f"'id' must be a string of letters, digits, '_', '.', '-', got {cid!r}")
        where = f"cases[{ci}] (id {cid})"
        if cid in seen:
            raise _err(path, where, case, f"duplicate id {cid!r}")
        seen.add(cid)
        desc = case.get("description", "")
        if not isinstance(desc, str):
            raise _err(path, where, case, "'description' must be a string")
        if "base_args" not in case:
            raise _err(path, where, case, "missing 'base_args'")
        base_args = _split_args(path, where, case, case["base_args"], "base_args")
        settings = _check_inherited(path, where, case, DEFAULTS)
        ct, co, ctt = _split_thresholds(path, where, case, case.get("thresholds"), base_t, base_o, base_tt)
        case_runs = case.get("runs")
        if not isinstance(case_runs, list) or not case_runs:
            raise _err(path, where, case, "'runs' must be a non-empty list")
        names = set()
        for ri, run in enumerate(case_runs):
            rwhere = f"{where}.runs[{ri}]"
            if not isinstance(run, dict):
                raise _err(path, rwhere, case, f"each run must be a mapping, got {type(run).__name__}")
            _check_keys(path, rwhere, run, RUN_KEYS)
            name = run.get("name")
            if not isinstance(name, str) or not ID_RE.match(name):
                raise _err(path, rwhere, run, f"'name' must be a string of letters, digits, '_', '.', '-', got {name!r}")
            if name in names:
                raise _err(path, rwhere, run, f"duplicate run name {name!r}")
            names.add(name)
            argv = base_args + _split_args(path, rwhere, run, run.get("extra_args"), "extra_args")
            argv = _absolutize(path, rwhere, run, argv, base)
            rs = _check_inherited(path, rwhere, run, settings)
            t, o, tt = _split_thresholds(path, rwhere, run, run.get("thresholds"), ct, co, ctt)
            try:
                Thresholds.from_mapping(t)
            except ValueError as exc:
                raise _err(path, rwhere, run, str(exc)) from None
            port = _check_port(path, rwhere, case, run, base)
            if port is not None:
                from nbparity.port import check_floatfile, ensure_floatfile

                try:
                    check_floatfile(argv)
                except UsageError as exc:
                    raise _err(path, rwhere, run, str(exc).replace("--py-cmd", "py_cmd")) from None
                argv = ensure_floatfile(argv)
                rs = {**rs, "quirks": "spec", "dtype": "float64", "device": "external"}
            explicit = tuple(k for k in TORCH_ONLY if k in case or k in run)
            runs.append(RunSpec(cid, name, desc, argv, t, o, tt, matrix_dir=str(base), port=port,
                                torch_keys=explicit, **rs))

    if only:
        wanted = set(only)
        known = {r.case_id for r in runs} | {r.key for r in runs}
        missing = sorted(wanted - known)
        if missing:
            raise UsageError(f"--only {', '.join(missing)}: no such case id or id/run in {path}")
        runs = [r for r in runs if r.case_id in wanted or r.key in wanted]
    name = doc.get("name") or path.stem
    if not isinstance(name, str):
        raise _err(path, "top level", doc, "'name' must be a string")
    return Matrix(path, name, prepare, runs)


def apply_port(matrix: Matrix, port) -> Matrix:
    """`cases run --py-cmd`: the port is the torch side of every run without a py_cmd of its own. A run
    that sets quirks/dtype/device for the in-repo simulator is refused (exit 2), never silently ignored."""
    from dataclasses import replace

    from nbparity.port import check_floatfile, ensure_floatfile

    clash = [f"{r.key} ({', '.join(r.torch_keys)})" for r in matrix.runs if r.port is None and r.torch_keys]
    if clash:
        raise UsageError(f"--py-cmd: matrix {matrix.path} sets the in-repo simulator's options for "
                         f"{'; '.join(clash[:5])}{' …' if len(clash) > 5 else ''}; remove them or give the "
                         "runs a py_cmd of their own")
    runs = []
    for r in matrix.runs:
        if r.port is None:
            check_floatfile(r.argv)
            r = replace(r, port=port, argv=ensure_floatfile(r.argv), quirks="spec", dtype="float64",
                        device="external")
        runs.append(r)
    return replace(matrix, runs=runs, port=port)


def load_matrix(path, only: list[str] | None = None) -> Matrix:
    p = Path(path).expanduser()
    try:
        text = p.read_text()
    except OSError as exc:
        raise UsageError(f"matrix {p}: cannot read: {exc.strerror or exc}") from None
    return parse_matrix(text, p.resolve(), only)


# --------------------------------------------------------------------------- execution

def is_spec_mode(quirks: str) -> bool:
    return quirks.split(",", 1)[0].strip() == "spec"


def _attributable(spec: RunSpec) -> bool:
    """Divergences can be attributed to C quirks: spec mode in-repo, or a port with mapped quirk switches."""
    if spec.port is not None:
        return bool(spec.port.quirk_flags)
    return is_spec_mode(spec.quirks)


def resolve_prepared(argv: list[str], prepared_dir: str | None) -> list[str]:
    if not any(PREPARED in t for t in argv):
        return list(argv)
    if prepared_dir is None:
        raise UsageError(f"argument uses {PREPARED} but the matrix has no prepare steps")
    return [t.replace(PREPARED, prepared_dir) for t in argv]


def run_prepare(steps: list[PrepareStep], binary, prepared_dir: Path, timeout=300, log=None):
    """Run each prepare step through the C reference in `prepared_dir` (shared by all runs)."""
    from nbparity.runners import run_c

    prepared_dir.mkdir(parents=True, exist_ok=True)
    for step in steps:
        if log:
            log(f"prepare {step.name}: running C reference")
        try:
            run_c(binary, list(step.argv), prepared_dir, timeout=timeout)
        except UsageError:
            raise
        except Exception as exc:
            from nbparity.errors import RunnerError

            raise RunnerError(f"prepare step {step.name!r} failed: {exc}") from None


def _outcome_base(spec: RunSpec) -> dict:
    return {"id": spec.case_id, "run": spec.run_name, "description": spec.description,
            "argv": list(spec.argv), "quirks": spec.quirks, "dtype": spec.dtype, "device": spec.device,
            "thresholds": dict(spec.thresholds), "metric_options": dict(spec.options),
            "trace_pixels": [list(p) for p in spec.trace_pixels], "status": "error", "verdict": "ERROR",
            "exit_code": 3, "message": "", "details": "", "image": None, "traces": [],
            "traces_verdict": "-", "attribution": None, "c_line": None, "torch_quirks": spec.quirks,
            "volatile": {}, **({"port": spec.port.to_dict()} if spec.port is not None else {})}


def run_one(spec: RunSpec, binary: str, out_dir: str, work_root: str, prepared_dir: str | None = None) -> dict:
    """One matrix run, start to finish, in its own directory. Never raises: a failure of either side,
    a missing output or an internal error is status "error" (exit 3), never a pass. The returned dict
    has every measurement; wall times, paths and host go in its "volatile" block."""
    import os
    import socket
    import time as _time
    import traceback

    t0 = _time.perf_counter()
    res = _outcome_base(spec)
    res["volatile"].update(host=socket.gethostname(), pid=os.getpid())
    try:
        _run_one_inner(spec, Path(binary), Path(out_dir), Path(work_root), prepared_dir, res)
    except Exception as exc:  # NbparityError or anything else: an error, recorded, never a pass
        from nbparity.errors import NbparityError

        res.update(status="error", verdict="ERROR", exit_code=3)
        res["message"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not isinstance(exc, NbparityError):
            res["message"] = f"internal error: {type(exc).__name__}: {res['message']}"
            res["details"] = traceback.format_exc()
        else:
            res["details"] = res["message"]
    res["volatile"]["time_s"] = round(_time.perf_counter() - t0, 3)
    return res


def _run_one_inner(spec, binary, out_dir, work_root, prepared_dir, res):
    from nbparity.imagecmp import ImageResult, judge_images, render_pair, sha256_array, write_image_bundle
    from nbparity.images import MetricOptions, Thresholds, describe_failures

    argv = resolve_prepared(spec.argv, prepared_dir)
    res["argv"] = argv
    wd = work_root / spec.label
    wd.mkdir(parents=True, exist_ok=False)  # a fresh directory per run: no shared Fdump.bin
    thresholds, options = Thresholds(**spec.thresholds), MetricOptions(**spec.options)
    pair = render_pair(argv, wd, binary, device=spec.device, dtype=spec.dtype, quirks=spec.quirks,
                       timeout=spec.timeout_s, port=spec.port)
    verdict = judge_images(pair, thresholds, options)
    res["image"] = verdict.to_dict()
    res["image_sha256"] = {"c": sha256_array(pair.c), "torch": sha256_array(pair.torch)}
    res["c_line"] = pair.c_line   # which upstream line the C side is (its output), emulated by torch
    res["torch_quirks"] = pair.torch_quirks
    image_ok = verdict.ok

    traces = [_trace_pixel(spec, argv, binary, out_dir, wd, px) for px in spec.trace_pixels]
    # bundle paths differ between runs of the same matrix: they belong to the volatile block
    res["volatile"]["trace_bundles"] = [t.pop("bundle") for t in traces]
    res["traces"] = traces
    attributed = sorted({q for t in traces for q in t.get("attributed", [])})
    trace_ok = all(t["ok"] for t in traces)
    if traces:
        res["traces_verdict"] = ("PASS" if trace_ok and not attributed else
                                 "ATTRIBUTED" if trace_ok else "DIVERGENCE")
    if any(t["status"] == "error" for t in traces):
        bad = next(t for t in traces if t["status"] == "error")
        raise_msg = f"trace of pixel {tuple(bad['pixel'])}: {bad['message']}"
        from nbparity.errors import RunnerError

        raise RunnerError(raise_msg)

    if not image_ok and _attributable(spec):
        # the image's worst pixel is traced too, so a divergence away from the listed pixels is
        # still attributed (or shown to be unexplained)
        w = verdict.metrics["max_abs_diff_pixel"]
        px = [w["slow"], w["fast"]]
        if px not in [list(p) for p in spec.trace_pixels]:
            t = _trace_pixel(spec, argv, binary, out_dir, wd, px)
            t["auto"] = "worst image pixel"
            res["volatile"]["trace_bundles"].append(t.pop("bundle"))
            traces.append(t)
            attributed = sorted({q for t in traces for q in t.get("attributed", [])})
            trace_ok = all(t["ok"] for t in traces)
            res["traces_verdict"] = ("PASS" if trace_ok and not attributed else
                                     "ATTRIBUTED" if trace_ok else "DIVERGENCE")
            if t["status"] == "error":
                from nbparity.errors import RunnerError

                raise RunnerError(f"trace of worst pixel {tuple(px)}: {t['message']}")

    if not image_ok and _attributable(spec) and attributed:
        # the image divergence is explained only if emulating exactly the attributed quirks restores parity
        mode = spec.quirks + "".join(f",+{q}" for q in attributed)
        again = render_pair(argv, wd / "attributed", binary, device=spec.device, dtype=spec.dtype,
                            quirks=mode, timeout=spec.timeout_s, port=spec.port)
        v2 = judge_images(again, thresholds, options)
        res["attribution"] = {"quirks": attributed, "mode": mode, "image_ok": v2.ok,
                              "gates": v2.gates, "failed": describe_failures(v2)}
        image_ok = v2.ok

    ok = image_ok and trace_ok
    res.update(status="pass" if ok else "failure", verdict="PASS" if ok else "DIVERGENCE",
               exit_code=0 if ok else 1)
    msgs = []
    if not verdict.ok:
        msgs.append(f"image: {describe_failures(verdict)}")
        if res["attribution"]:
            a = res["attribution"]
            msgs.append(f"with {', '.join(a['quirks'])} emulated: "
                        f"{'parity (attributed)' if a['image_ok'] else a['failed']}")
    for t in traces:
        if not t["ok"]:
            msgs.append(f"trace {tuple(t['pixel'])}: {t['message']}")
    res["message"] = "; ".join(msgs) if msgs else ("attributed to " + ", ".join(attributed) if attributed else "")
    res["details"] = "\n".join(msgs)

    ir = ImageResult(0 if verdict.ok else 1, "PASS" if verdict.ok else "DIVERGENCE", spec.label, argv,
                     spec.device, spec.dtype, pair.torch_quirks or spec.quirks, verdict, dict(pair.timings),
                     sha256=res["image_sha256"], why=spec.description, c_line=pair.c_line,
                     port=spec.port.to_dict() if spec.port is not None else None)
    extra = {"matrix_run": {k: res[k] for k in ("id", "run", "status", "verdict", "exit_code", "message",
                                                "traces", "traces_verdict", "attribution")}}
    path = write_image_bundle(ir, pair, out_dir, binary=binary, build=None, roi=None, thresholds=thresholds,
                              options=options, log_scale=False, extra_metrics=extra, c_bin=str(binary),
                              separate_pngs=False,  # one combined picture per run keeps the gate fast
                              port=spec.port)
    res["volatile"]["bundle"] = str(path)
    res["volatile"]["timings"] = dict(pair.timings)


def _trace_pixel(spec, argv, binary, out_dir, wd, pixel) -> dict:
    """Trace comparison of one pixel through the pipeline's plain compare function (its own narrowed
    region, attribution in spec mode, its own bundle). Returns a JSON-ready record, never raises."""
    import yaml

    from nbparity.errors import NbparityError
    from nbparity.pipeline import compare_pixel

    slow, fast = (int(v) for v in pixel)
    rec = {"pixel": [slow, fast], "status": "error", "ok": False, "verdict": "error", "exit_code": 3,
           "attributed": [], "message": "", "bundle": None}
    # a case file carrying the run's label, so the trace bundle is named after the run
    case_file = wd / f"trace-{slow}-{fast}.yaml"
    case_file.write_text(yaml.safe_dump({"name": spec.label, "args": list(argv)}))
    try:
        r = compare_pixel(slow, fast, case=str(case_file), device=spec.device, dtype=spec.dtype,
                          quirks=spec.quirks, tolerance=spec.trace_tol.get("trace_rtol"),
                          atol=spec.trace_tol.get("trace_atol"), c_bin=str(binary), out=str(out_dir),
                          timeout=spec.timeout_s, port=spec.port)
    except NbparityError as exc:
        rec["message"] = str(exc).splitlines()[0]
        rec["exit_code"] = exc.exit_code
        return rec
    att = r.attribution
    rec.update(verdict=r.verdict, exit_code=r.exit_code, bundle=str(r.bundle) if r.bundle else None,
               attributed=sorted(att.explained) if att is not None and r.verdict == "explained" else [])
    rec["ok"] = r.judgement.verdict.passing
    rec["status"] = "pass" if rec["ok"] else "failure"
    line = r.metrics.get("verdict_line", "")
    rec["message"] = line or r.verdict
    if att is not None and att.skipped.startswith("attribution not possible"):
        rec["message"] += f"; {att.skipped}"   # an external port without (the right) quirk switches
    return rec


# --------------------------------------------------------------------------- orchestration


@dataclass
class MatrixResult:
    matrix: str
    name: str
    outcomes: list
    exit_code: int
    bundle: str | None = None
    junit: str | None = None
    scheduler: str | None = None
    jobs: int = 1
    wall_s: float = 0.0
    port: object = None          # the --py-cmd port (nbparity.port.PortSpec), for the bundle's commands.txt

    @property
    def counts(self) -> dict:
        c = {"pass": 0, "failure": 0, "error": 0}
        for o in self.outcomes:
            c[o["status"]] += 1
        return c

    def to_dict(self) -> dict:
        d = {"matrix": self.matrix, "name": self.name, "exit_code": self.exit_code,
             "verdict": {0: "PASS", 1: "DIVERGENCE", 3: "ERROR"}[self.exit_code], "counts": self.counts,
             "runs": self.outcomes, "volatile": {"bundle": self.bundle, "junit": self.junit,
                                                 "scheduler": self.scheduler, "jobs": self.jobs,
                                                 "wall_s": round(self.wall_s, 3)}}
        if self.port is not None:
            d["port"] = self.port.to_dict()
        return d


def matrix_exit_code(outcomes) -> int:
    """Error beats divergence beats parity."""
    statuses = {o["status"] for o in outcomes}
    return 3 if "error" in statuses else 1 if "failure" in statuses else 0


def _worker_init():
    # each pool process renders one run at a time; one torch thread each keeps --jobs N honest on N cores
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _execute_local(specs, args, jobs):
    if jobs <= 1:
        for spec in specs:
            yield run_one(spec, *args)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker, no inherited torch/OpenMP thread state from the parent
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                             initializer=_worker_init) as pool:
        futs = [pool.submit(run_one, spec, *args) for spec in specs]
        for fut in as_completed(futs):
            yield fut.result()


def _execute_dask(specs, args, address):
    """The same per-run function, mapped over the runs by an existing dask.distributed cluster."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed (pip install 'nbparity[dask]')") from None
    from nbparity.errors import RunnerError

    try:
        client = Client(address, timeout="20s")
    except Exception as exc:
        raise RunnerError(f"cannot connect to the dask scheduler at {address}: {exc}") from None
    try:
        futs = client.map(run_one, specs, *[[a] * len(specs) for a in args], pure=False)
        for fut in as_completed(futs):
            yield fut.result()
    finally:
        client.close()


def run_matrix(matrix: Matrix, *, jobs: int = 1, out="reports", scheduler: str | None = None,
               c_bin=None, c_source=None, junit_xml=None, log=None) -> MatrixResult:
    """Run every run of the matrix (pool of `jobs` processes, or the dask cluster at `scheduler`),
    write one bundle per run plus the matrix bundle and optional JUnit XML."""
    import shutil
    import tempfile
    import time as _time

    from nbparity.cbuild import resolve_binary

    say = log or (lambda msg: None)
    t0 = _time.perf_counter()
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be at least 1")
    if not matrix.runs:
        raise UsageError(f"matrix {matrix.path}: no runs selected")
    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    binary, build = resolve_binary(c_bin, c_source, log=say)
    # work directories live under the output directory, so dask workers sharing the path see them
    work_root = Path(tempfile.mkdtemp(prefix=".nbparity-matrix-", dir=out_dir))
    try:
        prepared = None
        if matrix.prepare:
            prepared = work_root / "prepared"
            run_prepare(matrix.prepare, binary, prepared, log=say)
            prepared = str(prepared)
        for spec in matrix.runs:  # a {prepared} token without prepare steps is bad input, caught early
            resolve_prepared(spec.argv, prepared)
        args = (str(binary), str(out_dir), str(work_root), prepared)
        where = f"dask scheduler {scheduler}" if scheduler else f"{jobs} process(es)"
        say(f"{len(matrix.runs)} run(s) of {matrix.name} on {where}")
        gen = _execute_dask(matrix.runs, args, scheduler) if scheduler else _execute_local(matrix.runs, args, jobs)
        done = []
        for o in gen:
            done.append(o)
            say(f"[{len(done)}/{len(matrix.runs)}] {o['id']}/{o['run']}: {o['verdict']} "
                f"({o['volatile'].get('time_s', 0):.1f} s){' — ' + o['message'] if o['message'] else ''}")
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    order = {spec.key: i for i, spec in enumerate(matrix.runs)}
    done.sort(key=lambda o: order[f"{o['id']}/{o['run']}"])
    result = MatrixResult(str(matrix.path), matrix.name, done, matrix_exit_code(done), scheduler=scheduler,
                          jobs=jobs, wall_s=_time.perf_counter() - t0, port=matrix.port)
    if junit_xml:
        result.junit = str(write_matrix_junit(result, junit_xml))
    result.bundle = str(write_matrix_bundle(result, out_dir, build))
    return result


def _fmt_num(x, digits=15):
    if x is None:
        return "-"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def row(o: dict) -> dict:
    """The summary-table row of one outcome."""
    m = (o.get("image") or {}).get("metrics") or {}
    return {"id": o["id"], "run": o["run"], "verdict": o["verdict"],
            "corr": _fmt_num(m.get("corr")), "sum_ratio": _fmt_num(m.get("sum_ratio")),
            "max_abs_diff": _fmt_num(m.get("max_abs_diff"), 6), "traces": o["traces_verdict"],
            "time_s": f"{o['volatile'].get('time_s', 0):.2f}"}


def c_line_texts(outcomes) -> list[str]:
    """The distinct 'C side is R… ' statements of the runs (one binary: usually one line)."""
    out: list[str] = []
    for o in outcomes:
        t = (o.get("c_line") or {}).get("text")
        if t and t not in out:
            out.append(t)
    return out


def write_matrix_junit(result: MatrixResult, path) -> Path:
    from nbparity.junit import JunitCase, write_junit

    cases = []
    for o in result.outcomes:
        details = [f"argv: {' '.join(o['argv'])}", f"quirks={o['quirks']} dtype={o['dtype']} device={o['device']}",
                   o["details"] or o["message"]]
        if o["volatile"].get("bundle"):
            details.append(f"bundle: {o['volatile']['bundle']}")
        cases.append(JunitCase(o["id"], o["run"], o["volatile"].get("time_s", 0.0), o["status"],
                               o["message"], "\n".join(d for d in details if d)))
    return write_junit(path, f"nbparity matrix {result.name}", cases)


def summary_markdown(result: MatrixResult) -> str:
    d = result.to_dict()
    c = d["counts"]
    lines = [f"# Parity matrix: {result.name}", "",
             f"**{d['verdict']}** (exit {result.exit_code}) — {c['pass']} pass, {c['failure']} divergence, "
             f"{c['error']} error; matrix `{result.matrix}`", "",
             *[f"{t}" for t in c_line_texts(result.outcomes)], "",
             "| id | run | verdict | corr | sum ratio | max abs Δ | traced pixels | time (s) | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    for o in result.outcomes:
        r = row(o)
        note = (o["message"] or "").replace("|", "\\|")
        lines.append(f"| {r['id']} | {r['run']} | {r['verdict']} | {r['corr']} | {r['sum_ratio']} | "
                     f"{r['max_abs_diff']} | {r['traces']} | {r['time_s']} | {note} |")
    lines += ["", "Run bundles:", ""]
    for o in result.outcomes:
        if o["volatile"].get("bundle"):
            lines.append(f"* {o['id']}/{o['run']}: `{o['volatile']['bundle']}`")
    return "\n".join(lines) + "\n"


def _port_flags(port) -> str:
    """` --py-cmd … --py-quirk-flag …` re-creating a command-line port (empty without one)."""
    if port is None:
        return ""
    import shlex

    d = port.to_dict()
    return f" --py-cmd {shlex.quote(d['command'])}" + "".join(
        f" --py-quirk-flag {shlex.quote(f'{k}={v}')}" for k, v in d["quirk_flags"].items())


def write_matrix_bundle(result: MatrixResult, out_dir: Path, build=None) -> Path:
    import json
    import shlex
    import sys
    import time as _time

    from nbparity.bundle import write_bundle
    from nbparity.cases import safe_name
    from nbparity.cbuild import repo_root
    from nbparity.envinfo import collect

    files = {
        "metrics.json": json.dumps({**result.to_dict(), "kind": "matrix"}, indent=2, sort_keys=True,
                                   default=str) + "\n",
        "summary.md": summary_markdown(result),
        "commands.txt": "\n".join([
            "#!/usr/bin/env bash", "# Re-runs the whole matrix (builds the C reference as needed).",
            "set -euo pipefail", f"cd {shlex.quote(str(repo_root()))}",
            f"{shlex.quote(sys.executable)} -m nbparity cases run {shlex.quote(result.matrix)} "
            f"--jobs {result.jobs} --out {shlex.quote(str(out_dir))}{_port_flags(result.port)}", ""]),
        "env.json": json.dumps(collect(build), indent=2, sort_keys=True) + "\n",
    }
    if result.junit:
        files["junit.xml"] = Path(result.junit).read_bytes()
    name = f"{_time.strftime('%Y%m%dT%H%M%SZ', _time.gmtime())}_{safe_name(result.name)}_matrix"
    from nbparity.htmlreport import add_report

    return write_bundle(out_dir, name, add_report(files))
