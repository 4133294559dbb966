"""The torch side of a run as one frozen request: the in-repo simulator (in-process, with device, dtype and
quirk mode) or a user's own port run as an external command (`--py-cmd "COMMAND"`).

An external port is any program that takes nanoBragg arguments, honours `-trace_pixel S F` and prints
TRACE_PY lines on stdout. COMMAND is split like a shell line (never run through a shell); the token
`{argv}` stands for the nanoBragg argv (the harness's own tokens included), without it the argv is
appended. The port runs in the run's work folder under the C side's timeout; its float image is read from
the `-floatfile` name in the argv. Quirk switches for the attribution re-runs come from a user mapping
(`--py-quirk-flag ID=FLAGS`), appended to the command.
"""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from nbparity.errors import RunnerError, UsageError

ARGV_TOKEN = "{argv}"
VERSION_TIMEOUT_S = 5.0


# ----------------------------------------------------------------------------- the request


def _absolute_if_file(tok: str, cwd: Path) -> str:
    """A relative path in COMMAND that names an existing file (the port's program or script) is made
    absolute: the port runs in a fresh work folder, not where the user typed the command."""
    if "/" not in tok or tok.startswith("-") or Path(tok).is_absolute():
        return tok
    p = cwd / tok
    return str(p.absolute()) if p.exists() else tok


@dataclass(frozen=True)
class PortSpec:
    """An external port: its command (tokens, `{argv}` where the nanoBragg argv goes) and the quirk
    switches it understands (quirk id -> extra arguments)."""

    command: tuple
    given: str = ""                      # COMMAND as the user wrote it
    quirk_flags: tuple = ()              # ((quirk id, (arg, …)), …) in id order

    @classmethod
    def parse(cls, py_cmd: str, quirk_flags=(), cwd=None) -> "PortSpec":
        """From --py-cmd and --py-quirk-flag ID=FLAGS items (or a {id: flags} mapping); UsageError on bad
        input (exit 2): an empty command, a program that is not found, an unknown quirk id."""
        if not isinstance(py_cmd, str) or not py_cmd.strip():
            raise UsageError("--py-cmd: the command is empty")
        try:
            tokens = shlex.split(py_cmd)
        except ValueError as exc:
            raise UsageError(f"--py-cmd: {exc}") from None
        if tokens[0] == ARGV_TOKEN:
            raise UsageError("--py-cmd: the command must start with the port's program, not {argv}")
        if tokens.count(ARGV_TOKEN) > 1:
            raise UsageError("--py-cmd: {argv} may appear only once")
        base = Path(cwd or os.getcwd())
        prog = tokens[0]
        if "/" in prog:
            path = Path(prog) if Path(prog).is_absolute() else base / prog
            if not path.is_file():
                raise UsageError(f"--py-cmd: program not found: {path}")
            if not os.access(path, os.X_OK):
                raise UsageError(f"--py-cmd: program is not executable: {path}")
            prog = str(path.absolute())  # not resolve(): a venv python is a symlink that must stay one
        elif shutil.which(prog) is None:
            raise UsageError(f"--py-cmd: program not found on PATH: {prog}")
        tokens = [prog, *(_absolute_if_file(t, base) for t in tokens[1:])]
        return cls(tuple(tokens), py_cmd, parse_quirk_flags(quirk_flags))

    # --------------------------------------------------------------------- derived commands

    @property
    def prefix(self) -> list:
        """The command up to `{argv}` (all of it without the token): what `--version` is asked of."""
        toks = list(self.command)
        return toks[:toks.index(ARGV_TOKEN)] if ARGV_TOKEN in toks else toks

    def flags(self) -> dict:
        return {qid: list(args) for qid, args in self.quirk_flags}

    def command_for(self, argv, quirk_ids=()) -> list:
        """The full command line for this nanoBragg argv, with the switches of `quirk_ids` appended."""
        toks = list(self.command)
        argv = [str(a) for a in argv]
        if ARGV_TOKEN in toks:
            i = toks.index(ARGV_TOKEN)
            toks[i:i + 1] = argv
        else:
            toks += argv
        mapping = self.flags()
        for qid in quirk_ids:
            toks += mapping[qid]
        return toks

    def to_dict(self) -> dict:
        return {"command": self.given or shlex.join(self.command), "tokens": list(self.command),
                "quirk_flags": {k: shlex.join(v) for k, v in self.flags().items()}}


def parse_quirk_flags(items) -> tuple:
    """`ID=FLAGS` strings (FLAGS split like a shell line) or a mapping → ((id, (args…)), …) sorted.
    The ids must be registered in traces/quirks.toml."""
    from nbparity.attribution import load_registry

    pairs = []
    if isinstance(items, dict):
        pairs = [(str(k), v) for k, v in items.items()]
    else:
        for item in items or ():
            qid, sep, flags = str(item).partition("=")
            if not sep:
                raise UsageError(f"--py-quirk-flag {item!r}: expected ID=FLAGS, e.g. C-PARITY-001=--phi-carryover")
            pairs.append((qid.strip(), flags))
    known = {q["id"] for q in load_registry()}
    out = {}
    for qid, flags in pairs:
        if qid not in known:
            raise UsageError(f"--py-quirk-flag {qid}: not a quirk id of traces/quirks.toml "
                             f"(known: {', '.join(sorted(known))})")
        if not isinstance(flags, str):
            raise UsageError(f"--py-quirk-flag {qid}: the flags must be a string, got {flags!r}")
        try:
            args = tuple(shlex.split(flags))
        except ValueError as exc:
            raise UsageError(f"--py-quirk-flag {qid}: {exc}") from None
        if not args:
            raise UsageError(f"--py-quirk-flag {qid}: no flags given")
        out[qid] = args
    return tuple(sorted(out.items()))


def refuse_torch_options(given: list) -> None:
    """--device/--dtype/--quirks are never passed silently to an external port (exit 2)."""
    if given:
        names = "/".join(given)
        raise UsageError(f"{names} cannot be combined with --py-cmd: the harness passes nothing to an external "
                         f"port; put the port's own options into COMMAND")


def quirk_ids_of(mode: str) -> list:
    """The `+ID` toggles of a quirk mode string (the attribution's re-run modes)."""
    return [t.strip()[1:] for t in mode.split(",")[1:] if t.strip().startswith("+")]


# ----------------------------------------------------------------------------- one run


@dataclass
class PortRun:
    """What an external port run gives back: the same fields the harness reads from a TorchRun."""

    argv: list                       # the nanoBragg argv the port was given
    command: list                    # the full command line
    workdir: Path
    wall_s: float
    returncode: int
    trace_text: str                  # stdout: the trace the readers parse
    stderr: str = ""
    image_path: Path | None = None
    shape: tuple | None = None       # (spixels, fpixels) from the harness's parse of the argv
    quirk_ids: list = field(default_factory=list)
    perturbed: str | None = None     # never: the test perturbation hook is for the in-repo simulator
    device: str = "external"
    image: object = None             # the float image, read right after the run (a re-run in the same
    extra: dict = field(default_factory=dict)   # work folder overwrites the file)

    @property
    def log_text(self) -> str:
        """stdout, then stderr: what the bundle keeps as evidence."""
        return self.trace_text + (("\n# stderr:\n" + self.stderr) if self.stderr else "")

    def load_image(self, shape=None):
        """The float image the port wrote (little-endian float32, the frame's size), or None."""
        import numpy as np

        shape = shape or self.shape
        if self.image_path is None or shape is None or not self.image_path.is_file():
            return None
        data = np.fromfile(self.image_path, dtype="<f4")
        return data.reshape(shape) if data.size == shape[0] * shape[1] else None

    def pixel_value(self, slow: int, fast: int) -> float | None:
        img = self.image if self.image is not None else self.load_image()
        try:
            return None if img is None else float(img[slow][fast])
        except (IndexError, TypeError):
            return None


def _kill_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# A side's stdout + stderr beyond this is not a run to compare (twice the largest trace a pixel may print,
# session.MAX_TRACE_BYTES): the run is stopped instead of filling memory and the disk.
MAX_OUTPUT_BYTES = 128 << 20


class OutputTooLarge(Exception):
    """The run printed more than MAX_OUTPUT_BYTES; it was stopped."""


_RUNNING: set = set()   # the process groups run_in_group started and has not reaped yet (any thread)
_STOPPING = threading.Event()   # set by kill_running_groups: a run starting or waiting now stops too


def kill_running_groups() -> None:
    """Kill every process group a run started (the signal handlers call this: a side's run waits in a
    worker thread, which a KeyboardInterrupt in the main thread would otherwise wait for). A run whose
    thread had not registered its group yet sees the event at its next poll."""
    _STOPPING.set()
    for proc in list(_RUNNING):
        _kill_group(proc)


def allow_runs() -> None:
    """Runs may start again (cli.main calls this at a command's start and end: interrupts.allow_side_runs)."""
    _STOPPING.clear()


def run_in_group(full: list, cwd: Path, timeout: float, env_extra=None, max_output: int = MAX_OUTPUT_BYTES):
    """Run in a session of its own, so a timeout kills the port and everything it started (a child still
    running when it exits goes too). The output goes to unlinked temporary files, watched: over
    `max_output` bytes the group is killed (OutputTooLarge). Returns (returncode, stdout, stderr)."""
    import tempfile

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), **(env_extra or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(full, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                start_new_session=True)
        _RUNNING.add(proc)
        try:
            _wait_bounded(proc, timeout, (out, err), max_output)
        finally:   # also on Ctrl-C / SIGTERM: the port and its children must not outlive the harness
            _kill_group(proc)
            proc.wait()
            _RUNNING.discard(proc)
        return proc.returncode, *(_read_back(f) for f in (out, err))


def _wait_bounded(proc, timeout: float, files, max_output: int) -> None:
    deadline, pause = time.monotonic() + timeout, 0.002
    while True:
        try:
            proc.wait(timeout=max(min(pause, deadline - time.monotonic()), 0))
            exited = True
        except subprocess.TimeoutExpired:
            exited = False
        if sum(os.fstat(f.fileno()).st_size for f in files) > max_output:   # also a fast writer that ended
            raise OutputTooLarge(f"printed more than {max_output >> 20} MiB: stopped")
        if exited:
            return
        if time.monotonic() >= deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        if _STOPPING.is_set():
            raise OSError(errno.EINTR, "interrupted")
        pause = min(pause * 2, 0.1)


def _read_back(f) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def run_port(spec: PortSpec, argv: list, workdir, *, timeout: float = 600, quirk_ids=(), shape=None,
             env=None) -> PortRun:
    """Run the port on `argv` in `workdir` (RunnerError, exit 3, on a timeout, a failed start, a non-zero
    exit or a signal; the error carries the run as `.port_run` for the bundle). `env`: variables added to
    the port's environment (--prove's NBPARITY_INJECT)."""
    from nbparity.cases import float_image_name
    from nbparity.runners import describe_exit, last_line

    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    full = spec.command_for(argv, quirk_ids)
    t0 = time.perf_counter()
    try:
        rc, out, err = run_in_group(full, wd, timeout, env)
    except subprocess.TimeoutExpired:
        raise RunnerError(f"port run timed out after {timeout:g} s: {shlex.join(spec.prefix)}") from None
    except OutputTooLarge as exc:
        raise RunnerError(f"port run {exc}: {shlex.join(spec.prefix)}") from None
    except OSError as exc:
        raise RunnerError(f"port run could not start {full[0]}: {exc.strerror or exc}") from None
    run = PortRun(list(argv), full, wd, time.perf_counter() - t0, rc, out, err, shape=shape,
                  quirk_ids=list(quirk_ids))
    if rc != 0:
        exc = RunnerError(f"port run failed ({describe_exit(rc)}): {last_line(err, out)}")
        exc.port_run = run
        raise exc
    img = Path(float_image_name(list(argv)))
    run.image_path = img if img.is_absolute() else wd / img
    if shape is not None:
        run.image = run.load_image()
    return run


@lru_cache(maxsize=16)
def _version(prefix: tuple, timeout: float) -> tuple:
    from nbparity import tempdirs

    with tempdirs.folder("version") as wd:
        try:
            rc, out, err = run_in_group([*prefix, "--version"], Path(wd), timeout)
        except subprocess.TimeoutExpired:
            return (None, f"no answer within {timeout:g} s")
        except OutputTooLarge as exc:
            return (None, str(exc))
        except OSError as exc:
            return (None, f"could not start: {exc.strerror or exc}")
    text = (out.strip() or err.strip()).splitlines()
    first = text[0][:300] if text else ""
    if rc != 0:
        from nbparity.runners import describe_exit

        return (None, f"{describe_exit(rc)}: {first or '(no output)'}")
    return (first or "(empty)", None)


def port_version(spec: PortSpec, timeout: float = VERSION_TIMEOUT_S) -> dict:
    """`PREFIX --version` (short timeout; a failure is recorded, never fatal) for env.json."""
    version, error = _version(tuple(spec.prefix), float(timeout))
    return {"version_command": [*spec.prefix, "--version"], "version": version, "version_error": error}


def port_env(spec: PortSpec) -> dict:
    """The external side's entry of env.json."""
    return {"kind": "external", **spec.to_dict(), **port_version(spec)}


# ----------------------------------------------------------------------------- the one interface


@dataclass(frozen=True)
class TorchSide:
    """How the torch side runs: `port` None = the in-repo simulator with device/dtype/quirks."""

    device: str = "cpu"
    dtype: str = "float64"
    quirks: str = "spec"
    port: PortSpec | None = None

    @property
    def external(self) -> bool:
        return self.port is not None

    def run(self, argv, workdir, *, quirks=None, trace_pixel=None, timeout=600, shape=None):
        """A TorchRun (in-repo) or a PortRun (external) for argv in workdir. `quirks`: a quirk mode
        string; for a port only its `+ID` toggles matter (their mapped switches are appended)."""
        mode = quirks or self.quirks
        if self.port is None:
            from nbparity.runners import run_torch

            return run_torch(argv, workdir, self.device, self.dtype, mode, trace_pixel=trace_pixel)
        return run_port(self.port, argv, workdir, timeout=timeout, quirk_ids=quirk_ids_of(mode), shape=shape)


def check_floatfile(argv) -> None:
    """Both sides write the float image in their own work folder: an absolute -floatfile would make the
    port and the C write the same file."""
    from nbparity.cases import float_image_name

    if Path(float_image_name(list(argv))).is_absolute():
        raise UsageError("with --py-cmd the -floatfile name must be relative (each side writes it in its own "
                         "work folder)")


def ensure_floatfile(argv) -> list:
    """argv with a `-floatfile` name (the C's default name, appended when absent): the harness reads the
    port's image from the name it gives the port, never from a default the port may not share."""
    argv = list(argv)
    if any(t in ("-floatfile", "-floatimage") for t in argv[:-1]):
        return argv
    from nbparity.cases import OUTPUT_DEFAULTS
    from nbparity.placement import place

    # placed like every harness token: appending can change how the user's argv parses
    placed = place(argv, outputs={"-floatfile": OUTPUT_DEFAULTS["floatfile"]})
    if not placed.outputs:
        raise UsageError(f"cannot name the port's float image: {placed.reason}")
    return placed.argv
