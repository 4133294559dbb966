"""A case is a nanoBragg argv plus the input files it names; both sides receive the identical argv.

Built-ins: `supervisor` (spec §11, real A.mat + scaled.hkl from --data-dir, else $NBPARITY_DATA, else the
current directory) and `supervisor-synthetic` (the same command over generated inputs, see
nbparity.synthetic). Inputs named are inputs used: a --data-dir or $NBPARITY_DATA that lacks the files is
bad input (UsageError naming the missing file, exit 2); the synthetic stand-in runs by default only when
nothing was named and the current directory lacks them. A case file is YAML with `args:` (a string or a list) and optional `name:` and
`files:` (extra files copied into each run's work directory, e.g. an Fdump.bin). Input paths in the argv
are made absolute, so every run can work in its own temporary directory.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nbparity.errors import UsageError

SUPERVISOR_ARGS = (
    "-mat A.mat -floatfile img.bin -hkl scaled.hkl -nonoise -nointerpolate -oversample 1 -exposure 1 "
    "-flux 1e18 -beamsize 1.0 -spindle_axis -1 0 0 -Xbeam 217.742295 -Ybeam 213.907080 "
    "-distance 231.274660 -lambda 0.976800 -pixel 0.172 -detpixels_x 2463 -detpixels_y 2527 "
    "-odet_vector -0.000088 0.004914 -0.999988 -sdet_vector -0.005998 -0.999970 -0.004913 "
    "-fdet_vector 0.999982 -0.005998 -0.000118 -pix0_vector_mm -216.336293 215.205512 -230.200866 "
    "-beam_vector 0.00051387949 0.0 -0.99999986 -Na 36 -Nb 47 -Nc 29 -osc 0.1 -phi 0 -phisteps 10 "
    "-detector_rotx 0 -detector_roty 0 -detector_rotz 0 -twotheta 0"
)
SUPERVISOR_FILES = ("A.mat", "scaled.hkl")
BUILTIN = ("supervisor", "supervisor-synthetic")

# flags whose next token names an input file (the C reads it; -dump names the cache it may read)
INPUT_FLAGS = ("-mat", "-matrix", "-hkl", "-sourcefile", "-img", "-mask", "-stol", "-4stol", "-Q", "-dump")
# flags whose next token names an output file (written into the run's work directory when relative)
OUTPUT_DEFAULTS = {"floatfile": "floatimage.bin"}
FLOAT_FLAGS = ("-floatfile", "-floatimage")


@dataclass
class Case:
    name: str
    argv: list[str]
    why: str
    origin: str  # "builtin", the YAML path, or "--args"
    files: dict[str, str] = field(default_factory=dict)  # flag -> absolute input path
    extra_files: list[str] = field(default_factory=list)  # copied into each work directory

    def to_dict(self) -> dict:
        return {"name": self.name, "argv": list(self.argv), "why": self.why, "origin": self.origin,
                "files": dict(self.files), "extra_files": list(self.extra_files)}

    def summary(self) -> dict:
        """The case as metrics.json records it: name, why, and where it came from."""
        kind = {"builtin": "builtin", "--args": "args"}.get(self.origin, "file")
        return {"name": self.name, "why": self.why, "origin_kind": kind}

    def prepare_workdir(self, workdir: str | os.PathLike) -> Path:
        """Create the work directory and copy the extra files into it."""
        wd = Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
        for f in self.extra_files:
            shutil.copy2(f, wd / Path(f).name)
        return wd


def float_image_name(argv: list[str]) -> str:
    """The float image the C writes (last -floatfile wins, default floatimage.bin)."""
    name = OUTPUT_DEFAULTS["floatfile"]
    for i, tok in enumerate(argv[:-1]):
        if tok in FLOAT_FLAGS:
            name = argv[i + 1]
    return name


def absolutize_inputs(argv: list[str], base: Path) -> tuple[list[str], dict[str, str]]:
    """Resolve the input files named in argv against `base`; a missing input is bad input (exit 2)."""
    out, files = list(argv), {}
    for i, tok in enumerate(argv[:-1]):
        if tok not in INPUT_FLAGS:
            continue
        p = Path(argv[i + 1]).expanduser()
        p = p if p.is_absolute() else base / p
        if tok == "-dump" and not p.exists():  # an output cache name: leave relative to the workdir
            continue
        if not p.is_file():
            raise UsageError(f"input file for {tok} not found: {p}")
        out[i + 1] = str(p.resolve())
        files[tok] = out[i + 1]
    return out, files


def _named_dirs(data_dir: str | None) -> list[tuple[str, Path]]:
    """The data folders the user named: --data-dir, else $NBPARITY_DATA (inputs named are inputs used)."""
    if data_dir:
        return [("--data-dir", Path(data_dir).expanduser())]
    if os.environ.get("NBPARITY_DATA"):
        return [("NBPARITY_DATA", Path(os.environ["NBPARITY_DATA"]).expanduser())]
    return []


def _holds_inputs(d: Path) -> Path | None:
    """`d` itself or its supervisor/ subdirectory, whichever holds every supervisor input."""
    for cand in (d, d / "supervisor"):
        if all((cand / f).is_file() for f in SUPERVISOR_FILES):
            return cand.resolve()
    return None


def _missing_in(label: str, d: Path) -> UsageError:
    """The named folder lacks an input: name the first missing file (one line, exit 2)."""
    sub = d / "supervisor"
    where = sub if sub.is_dir() and not any((d / f).is_file() for f in SUPERVISOR_FILES) else d
    missing = next(f for f in SUPERVISOR_FILES if not (where / f).is_file())
    return UsageError(f"{label} {d}: input file {where / missing} not found (the supervisor case needs "
                      f"{' and '.join(SUPERVISOR_FILES)} there or in its supervisor/ folder)")


def find_supervisor_inputs(data_dir: str | None, cwd: Path) -> Path | None:
    """The folder of the supervisor inputs: the named one (--data-dir, else $NBPARITY_DATA; UsageError
    naming the missing file when it lacks them), else the current directory (None when absent)."""
    named = _named_dirs(data_dir)
    if named:
        label, d = named[0]
        found = _holds_inputs(d)
        if found is None:
            raise _missing_in(label, d)
        return found
    return _holds_inputs(cwd)


def _supervisor(data_dir, cwd, required: bool) -> Case | None:
    d = find_supervisor_inputs(data_dir, cwd)
    if d is None:
        if required:
            raise UsageError("supervisor inputs A.mat and scaled.hkl not found in the current directory; "
                             "pass --data-dir DIR (or set NBPARITY_DATA) or use --case supervisor-synthetic")
        return None
    argv, files = absolutize_inputs(shlex.split(SUPERVISOR_ARGS), d)
    return Case("supervisor", argv, f"supervisor inputs found in {d}", "builtin", files)


def _synthetic(why: str) -> Case:
    from nbparity.synthetic import ensure_inputs

    mat, hkl = ensure_inputs()
    argv = shlex.split(SUPERVISOR_ARGS)
    argv[argv.index("-mat") + 1] = str(mat)
    argv[argv.index("-hkl") + 1] = str(hkl)
    return Case("supervisor-synthetic", argv, why, "builtin", {"-mat": str(mat), "-hkl": str(hkl)})


def _from_yaml(path: Path) -> Case:
    import yaml

    from nbparity.read.guarded_yaml import YAMLRefused, load_yaml

    try:
        doc = load_yaml(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError, YAMLRefused) as exc:
        raise UsageError(f"case file {path}: cannot read: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or "args" not in doc:
        raise UsageError(f"case file {path}: expected a mapping with an 'args:' entry")
    args = doc["args"]
    if isinstance(args, str):
        argv = shlex.split(args)
    elif isinstance(args, list):
        argv = [str(a) for a in args]
    else:
        raise UsageError(f"case file {path}: 'args' must be a string or a list")
    base = path.parent.resolve()
    argv, files = absolutize_inputs(argv, base)
    extra = doc.get("files") or []
    if isinstance(extra, dict):
        extra = list(extra.values())
    extras = []
    for f in extra:
        p = Path(str(f)).expanduser()
        p = p if p.is_absolute() else base / p
        if not p.is_file():
            raise UsageError(f"case file {path}: file not found: {p}")
        extras.append(str(p.resolve()))
    name = str(doc.get("name") or path.stem)
    return Case(name, argv, f"case file {path}", str(path), files, extras)


def safe_name(name: str) -> str:
    """A case name usable in a directory name."""
    keep = "".join(c if (c.isalnum() or c in "-_.") else "-" for c in name)
    return keep.strip(".-") or "case"


def resolve_case(case: str | None = None, args: str | None = None, data_dir: str | None = None,
                 cwd: str | os.PathLike | None = None) -> Case:
    """Turn the user's --case/--args/--data-dir into a Case (UsageError on bad input)."""
    cwd = Path(cwd or os.getcwd()).resolve()
    if args is not None:
        if case is not None:
            raise UsageError("give either --case or --args, not both")
        try:
            argv = shlex.split(args)
        except ValueError as exc:
            raise UsageError(f"--args: {exc}") from None
        if not argv:
            raise UsageError("--args is empty")
        argv, files = absolutize_inputs(argv, cwd)
        return Case("custom", argv, "argv given with --args", "--args", files)
    if case is None:
        found = _supervisor(data_dir, cwd, required=False)
        if found is not None:
            return found
        return _synthetic("synthetic inputs: A.mat/scaled.hkl not found in the current directory and no "
                          "--data-dir or NBPARITY_DATA named; using supervisor-synthetic")
    if case == "supervisor":
        return _supervisor(data_dir, cwd, required=True)
    if case == "supervisor-synthetic":
        return _synthetic("synthetic inputs, requested with --case supervisor-synthetic")
    p = Path(case).expanduser()
    if p.is_file():
        return _from_yaml(p.resolve())
    raise UsageError(f"unknown case {case!r}: use one of {', '.join(BUILTIN)} or a YAML case file")
