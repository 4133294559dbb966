"""Frozen requests: what to run (case, C side, torch side or port), how to judge, where to write.

One request object travels from the command line to the bundle (request.json) instead of twenty keyword
arguments; `commands.txt` re-runs a bundle from it. Built by the shared click option groups
(nbparity/options.py) or directly from Python:

    from nbparity.request import CompareRequest, CaseSpec
    run_compare(CompareRequest(pixel=(685, 1039), case=CaseSpec("supervisor-synthetic")))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

# One default quirk mode for compare, image, probes and the matrix: the torch side emulates every C quirk,
# because the reference is the program users run; `--quirks spec` asks what the physics intends and names
# the C quirks that explain each divergence.
DEFAULT_QUIRKS = "c"
REQUEST_SCHEMA = "nbparity.request/1"


@dataclass(frozen=True)
class CaseSpec:
    """A builtin case name or a YAML case file, or a nanoBragg command line; where inputs are read from."""

    name: str | None = None
    args: str | None = None
    data_dir: str | None = None
    label: str | None = None        # the name reports and bundles give the case (a matrix run's id/run)

    def resolve(self):
        from nbparity.cases import resolve_case

        case = resolve_case(self.name, self.args, self.data_dir)
        if self.label:
            case.name = self.label
        return case


@dataclass(frozen=True)
class CSpec:
    """The C side: a given binary, or sources built through the cache (default: c_reference)."""

    binary: str | None = None
    source: str | None = None
    cflags: tuple = ()
    timeout: float = 600.0
    threads: int = 1                # OMP_NUM_THREADS of every C run (an OpenMP build's image depends on it)

    def resolve(self, log=None):
        """(binary path, BuildResult or None), building through the cache where needed."""
        from nbparity.cbuild import check_c_options, resolve_binary

        check_c_options(self.binary, self.source)
        return resolve_binary(self.binary, self.source, list(self.cflags), log)


@dataclass(frozen=True)
class TorchSpec:
    """The torch side: the in-repo simulator (device, dtype, quirk mode) or, with `port`, a user's
    external command (nbparity.port.PortSpec), whose own options are inside its command."""

    device: str = "cpu"
    dtype: str = "float64"
    quirks: str = DEFAULT_QUIRKS
    port: object = None
    max_memory: int | None = None   # the simulator's memory budget in bytes (None: its default)

    @property
    def external(self) -> bool:
        return self.port is not None

    def to_dict(self) -> dict:
        d = {"device": self.device, "dtype": self.dtype, "quirks": self.quirks, "port": None,
             "max_memory": self.max_memory}
        if self.port is not None:
            import shlex

            d["port"] = {"command": shlex.join(self.port.command), "given": self.port.given,
                         "quirk_flags": self.port.to_dict()["quirk_flags"]}
        return d


@dataclass(frozen=True)
class JudgeSpec:
    """How values are judged: tolerances (None = traces/tolerances.toml), strictness, attribution."""

    rtol: float | None = None
    atol: float | None = None
    strict: bool = False
    attribute: bool = True
    allow_empty: bool = False
    keys: tuple = ()                # --keys: only these keys or presets decide (each must be on both sides)


@dataclass(frozen=True)
class OutputSpec:
    """Where and how results go: the reports folder, a bundle or not, JSON or text, a ledger note."""

    out: str = "reports"
    bundle: bool = True
    as_json: bool = False
    show_all: bool = False
    note: str | None = None


class PixelRequest:
    """slow, fast of a request that traces one pixel (`pixel` = (slow, fast), as -trace_pixel)."""

    @property
    def slow(self) -> int:
        return int(self.pixel[0])

    @property
    def fast(self) -> int:
        return int(self.pixel[1])


@dataclass(frozen=True)
class CompareRequest(PixelRequest):
    pixel: tuple
    case: CaseSpec = field(default_factory=CaseSpec)
    c: CSpec = field(default_factory=CSpec)
    torch: TorchSpec = field(default_factory=TorchSpec)
    judge: JudgeSpec = field(default_factory=JudgeSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    full_frame: bool = False
    prove: bool = False             # re-run the torch side with the C's values injected (nbparity.prove)
    kind: str = "compare"


@dataclass(frozen=True)
class ImageRequest:
    case: CaseSpec = field(default_factory=CaseSpec)
    c: CSpec = field(default_factory=CSpec)
    torch: TorchSpec = field(default_factory=TorchSpec)
    judge: JudgeSpec = field(default_factory=JudgeSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    roi: tuple | None = None
    thresholds: tuple = ()          # ((name, value), …) overriding the image gates
    log_scale: bool = False
    kind: str = "image"


@dataclass(frozen=True)
class ProbeRequest(PixelRequest):
    probe: str                      # sincg | single-phi | rotation
    pixel: tuple
    case: CaseSpec = field(default_factory=CaseSpec)
    c: CSpec = field(default_factory=CSpec)
    torch: TorchSpec = field(default_factory=TorchSpec)
    judge: JudgeSpec = field(default_factory=JudgeSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    params: tuple = ()              # ((name, value), …): the probe's own settings (window, points)
    kind: str = "probe"


@dataclass(frozen=True)
class MatrixRequest:
    """`cases run`: a matrix file (its runs carry their own cases and torch settings); the C side, an
    optional port for every run without its own py_cmd, strictness, and where results go."""

    matrix: str                     # the matrix YAML (absolute path)
    only: tuple = ()                # --only ID[/RUN] …
    c: CSpec = field(default_factory=CSpec)
    torch: TorchSpec = field(default_factory=TorchSpec)   # only `port` is used (--py-cmd)
    judge: JudgeSpec = field(default_factory=JudgeSpec)   # only `strict` is used: the matrix has its gates
    output: OutputSpec = field(default_factory=OutputSpec)
    jobs: int = 1
    scheduler: str | None = None    # a dask.distributed scheduler address
    junit_xml: str | None = None
    kind: str = "matrix"


def request_to_dict(request) -> dict:
    """request.json's content: the schema, the kind and every field (a port as its command)."""
    d = {"schema": REQUEST_SCHEMA}
    for f in fields(request):
        value = getattr(request, f.name)
        if isinstance(value, TorchSpec):
            d[f.name] = value.to_dict()
        elif hasattr(value, "__dataclass_fields__"):
            d[f.name] = asdict(value)
        else:
            d[f.name] = value
    return d


def with_output(request, **changes):
    """The request with some output settings changed (e.g. no bundle for an attribution re-run)."""
    return replace(request, output=replace(request.output, **changes))


KINDS = {"compare": CompareRequest, "image": ImageRequest, "probe": ProbeRequest, "matrix": MatrixRequest}
_PARTS = {"case": CaseSpec, "c": CSpec, "judge": JudgeSpec, "output": OutputSpec}


def request_from_dict(d: dict):
    """The request a request.json holds (UsageError, exit 2, when it is not one)."""
    from nbparity.errors import UsageError

    if not isinstance(d, dict) or d.get("schema") != REQUEST_SCHEMA or d.get("kind") not in KINDS:
        raise UsageError(f"not an nbparity request (schema {REQUEST_SCHEMA} with a kind of "
                         f"{', '.join(KINDS)})")
    cls = KINDS[d["kind"]]
    kw = {}
    try:
        for f in fields(cls):
            if f.name not in d:
                continue
            v = d[f.name]
            if f.name in _PARTS:
                v = _PARTS[f.name](**{k: (tuple(x) if isinstance(x, list) else x) for k, x in v.items()})
            elif f.name == "torch":
                v = _torch_from_dict(v)
            elif isinstance(v, list):
                v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
            kw[f.name] = v
        return cls(**kw)
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"request.json is not usable: {exc}") from None


def _torch_from_dict(d: dict) -> TorchSpec:
    port = None
    if d.get("port"):
        from nbparity.port import PortSpec

        p = d["port"]
        port = PortSpec.parse(p["command"], [f"{k}={v}" for k, v in (p.get("quirk_flags") or {}).items()])
        port = replace(port, given=p.get("given") or port.given)
    mm = d.get("max_memory")
    if mm is not None and (type(mm) is not int or mm < 1):
        raise ValueError(f"torch.max_memory must be a number of bytes, not {mm!r}")
    return TorchSpec(d.get("device", "cpu"), d.get("dtype", "float64"), d.get("quirks", DEFAULT_QUIRKS), port, mm)


def read_request(path):
    """The request of a request.json file (UsageError, exit 2, when unreadable)."""
    from pathlib import Path

    from nbparity.errors import UsageError
    from nbparity.safejson import JSONRefused, load_object

    try:   # the guarded reader: size, depth and number sizes bounded, one-line reasons
        data = load_object(Path(path))
    except (OSError, JSONRefused) as exc:
        raise UsageError(f"{path}: cannot read the request: {exc}") from None
    return request_from_dict(data)
