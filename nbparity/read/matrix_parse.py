"""A parity matrix file, parsed strictly into runs: a YAML list of cases, each with runs; every run is a
full-image comparison (plus trace comparisons of listed pixels) judged by explicit gates.

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
        quirks: c                 # optional (default nbparity.request.DEFAULT_QUIRKS); dtype (float64),
        trace_pixels: [[s, f]]    #   device (cpu), trace_pixels, timeout_s — per case or per run
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

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from nbparity.errors import UsageError
from nbparity.images import Thresholds
from nbparity.read.matrix_yaml import (CASE_KEYS, DEFAULTS, PREPARE_KEYS, RUN_KEYS, TOP_KEYS, TORCH_ONLY,
                                       absolutize, base_gates, check_inherited, check_keys, check_name,
                                       check_port, err, load_yaml, split_args, split_thresholds)
from nbparity.request import DEFAULT_QUIRKS


@dataclass(frozen=True)
class PrepareStep:
    name: str
    argv: tuple


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs, picklable (goes to pool processes and dask workers as is)."""

    case_id: str
    run_name: str
    description: str
    argv: list[str]              # base_args + extra_args, inputs absolute, `{prepared}` unresolved
    thresholds: dict             # images.Thresholds fields
    options: dict                # images.MetricOptions fields
    trace_tol: dict              # trace_rtol / trace_atol (None → the schema's tolerance classes)
    quirks: str = DEFAULT_QUIRKS
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


@dataclass(frozen=True)
class Matrix:
    path: Path
    name: str
    prepare: list
    runs: list
    port: object = None          # `cases run --py-cmd`: the port given on the command line


@dataclass(frozen=True)
class _Where:
    """The file being parsed and the folder its relative inputs resolve against."""

    path: Path
    base: Path


def parse_matrix(text: str, path: Path, only: list[str] | None = None) -> Matrix:
    """Validate the YAML text strictly; UsageError (exit 2) names the problem and its location."""
    doc = load_yaml(text, path)
    if not isinstance(doc, dict):
        raise err(path, "", doc, "the top level must be a mapping with a 'cases:' list")
    check_keys(path, "top level", doc, TOP_KEYS)
    at = _Where(path, path.parent.resolve())
    prepare = _parse_prepare(at, doc)
    cases = doc.get("cases")
    if not isinstance(cases, list) or not cases:
        raise err(path, "top level", doc, "'cases' must be a non-empty list")
    runs, seen = [], set()
    for ci, case in enumerate(cases):
        runs += _parse_case(at, doc, ci, case, seen)
    name = doc.get("name") or path.stem
    if not isinstance(name, str):
        raise err(path, "top level", doc, "'name' must be a string")
    return Matrix(path, name, prepare, select(runs, only, path))


def select(runs: list, only, path) -> list:
    """The runs `--only ID[/RUN]` names (all without it); an unknown name is exit 2."""
    if not only:
        return runs
    wanted = set(only)
    known = {r.case_id for r in runs} | {r.key for r in runs}
    missing = sorted(wanted - known)
    if missing:
        raise UsageError(f"--only {', '.join(missing)}: no such case id or id/run in {path}")
    return [r for r in runs if r.case_id in wanted or r.key in wanted]


def _parse_prepare(at: _Where, doc) -> list[PrepareStep]:
    prep = doc.get("prepare") or []
    if not isinstance(prep, list):
        raise err(at.path, "prepare", doc, "'prepare' must be a list")
    steps = []
    for i, step in enumerate(prep):
        where = f"prepare[{i}]"
        if not isinstance(step, dict):
            raise err(at.path, where, doc, "each prepare step must be a mapping with name and args")
        check_keys(at.path, where, step, PREPARE_KEYS)
        for key in ("name", "args"):
            if not isinstance(step.get(key), str) or not step.get(key):
                raise err(at.path, where, step, f"missing or empty {key!r}")
        argv = absolutize(at.path, where, step, split_args(at.path, where, step, step["args"], "args"), at.base)
        steps.append(PrepareStep(step["name"], tuple(argv)))
    return steps


def _parse_case(at: _Where, doc, ci: int, case, seen: set) -> list[RunSpec]:
    path, where = at.path, f"cases[{ci}]"
    if not isinstance(case, dict):
        raise err(path, where, doc, f"each case must be a mapping, got {type(case).__name__}")
    check_keys(path, where, case, CASE_KEYS)
    if case.get("id") is None:
        raise err(path, where, case, "missing 'id'")
    cid = check_name(path, where, case, case["id"], "'id'")
    where = f"cases[{ci}] (id {cid})"
    if cid in seen:
        raise err(path, where, case, f"duplicate id {cid!r}")
    seen.add(cid)
    if not isinstance(case.get("description", ""), str):
        raise err(path, where, case, "'description' must be a string")
    if "base_args" not in case:
        raise err(path, where, case, "missing 'base_args'")
    split_args(path, where, case, case["base_args"], "base_args")
    settings = check_inherited(path, where, case, DEFAULTS)
    gates = split_thresholds(path, where, case, case.get("thresholds"), base_gates())
    case_runs = case.get("runs")
    if not isinstance(case_runs, list) or not case_runs:
        raise err(path, where, case, "'runs' must be a non-empty list")
    names: set = set()
    return [_parse_run(at, (where, case, settings, gates), ri, run, names) for ri, run in enumerate(case_runs)]


def _parse_run(at: _Where, parent: tuple, ri: int, run, names: set) -> RunSpec:
    """One run of a case; `parent` is (where, case node, inherited settings, inherited gates)."""
    cwhere, case, settings, gates = parent
    path, where = at.path, f"{cwhere}.runs[{ri}]"
    if not isinstance(run, dict):
        raise err(path, where, case, f"each run must be a mapping, got {type(run).__name__}")
    check_keys(path, where, run, RUN_KEYS)
    name = check_name(path, where, run, run.get("name"), "'name'")
    if name in names:
        raise err(path, where, run, f"duplicate run name {name!r}")
    names.add(name)
    argv = (split_args(path, cwhere, case, case["base_args"], "base_args")
            + split_args(path, where, run, run.get("extra_args"), "extra_args"))
    argv = absolutize(path, where, run, argv, at.base)
    rs = check_inherited(path, where, run, settings)
    t, o, tt = split_thresholds(path, where, run, run.get("thresholds"), gates)
    try:
        Thresholds.from_mapping(t)
    except ValueError as exc:
        raise err(path, where, run, str(exc)) from None
    port = check_port(path, where, case, run, at.base)
    if port is not None:
        from nbparity.port import check_floatfile, ensure_floatfile

        try:
            check_floatfile(argv)
        except UsageError as exc:
            raise err(path, where, run, str(exc).replace("--py-cmd", "py_cmd")) from None
        argv = ensure_floatfile(argv)
        rs = {**rs, "quirks": "spec", "dtype": "float64", "device": "external"}
    explicit = tuple(k for k in TORCH_ONLY if k in case or k in run)
    return RunSpec(case["id"], name, case.get("description", ""), argv, t, o, tt, matrix_dir=str(at.base),
                   port=port, torch_keys=explicit, **rs)


def apply_port(matrix: Matrix, port) -> Matrix:
    """`cases run --py-cmd`: the port is the torch side of every run without a py_cmd of its own. A run
    that sets quirks/dtype/device for the in-repo simulator is refused (exit 2), never silently ignored."""
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
