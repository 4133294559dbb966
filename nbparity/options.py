"""Shared click option groups that build the request parts, so every command spells an option, its
default and its help the same way (one --quirks default everywhere: nbparity.request.DEFAULT_QUIRKS)."""

from __future__ import annotations

import os

import click

from nbparity.request import DEFAULT_QUIRKS, CaseSpec, CSpec, JudgeSpec, OutputSpec, TorchSpec


class Tolerance(click.ParamType):
    """A finite tolerance in [0, 1e6]: NaN would fail every value and inf pass every one, and click's
    FloatRange lets NaN through (every comparison with NaN is false)."""

    name = "float"

    def convert(self, value, param, ctx):
        import math

        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x) or not 0.0 <= x <= 1e6:
            self.fail(f"{value!r} is not a finite number in [0, 1e6]", param, ctx)
        return x


TOLERANCE = Tolerance()


def _stack(fn, opts):
    for o in reversed(opts):
        fn = o(fn)
    return fn


def _abs(path):
    return None if path is None else os.path.abspath(os.path.expanduser(path))


def case_options(fn):
    return _stack(fn, [
        click.option("--case", "case", default=None, metavar="NAME|FILE",
                     help="supervisor, supervisor-synthetic, or a YAML case file (args: …). Default: supervisor "
                          "when its inputs are found (--data-dir, $NBPARITY_DATA, cwd), else supervisor-synthetic."),
        click.option("--args", "args", default=None, help='nanoBragg arguments, e.g. "-mat A.mat -hkl F.hkl …".'),
        click.option("--data-dir", default=None, type=click.Path(), help="Where A.mat and scaled.hkl live."),
    ])


def case_spec(kw) -> CaseSpec:
    name = kw.pop("case")
    if name is not None and os.path.exists(name):
        name = _abs(name)   # request.json must re-run from anywhere
    return CaseSpec(name, kw.pop("args"), _abs(kw.pop("data_dir")))


def c_options(fn):
    return _stack(fn, [
        click.option("--c-bin", type=click.Path(), default=None, help="Use this nanoBragg binary (prints TRACE_C)."),
        click.option("--c-source", type=click.Path(), default=None, help="Build this C file/directory instead."),
        click.option("--cflags", default="", help="Extra compiler flags for --c-source (see `nbparity build`)."),
        click.option("--timeout", type=click.FloatRange(0.001, 86400.0), default=600.0, show_default=True,
                     help="Timeout of each side's run in seconds."),
        click.option("--c-threads", type=click.IntRange(1, 1024), default=1, show_default=True,
                     help="OMP_NUM_THREADS of the C runs: an OpenMP build's image depends on it (see README)."),
    ])


def c_spec(kw) -> CSpec:
    import shlex

    from nbparity.cbuild import check_c_options

    binary, source = kw.pop("c_bin"), kw.pop("c_source")
    check_c_options(binary, source)
    return CSpec(_abs(binary), _abs(source), tuple(shlex.split(kw.pop("cflags"))), kw.pop("timeout"),
                 kw.pop("c_threads"))


def torch_options(fn):
    from nbparity.commands.portopts import port_options

    return _stack(port_options(fn), [
        click.option("--device", default="cpu", show_default=True, help="Torch device (cpu, cuda, cuda:1)."),
        click.option("--dtype", default="float64", show_default=True, type=click.Choice(["float64", "float32"])),
        click.option("--quirks", default=DEFAULT_QUIRKS, show_default=True,
                     help="Torch-side quirk mode: c (emulate every C quirk) | c-r2 | spec [,+ID|,-ID …] "
                          "(traces/quirks.toml). spec does what the physics intends and names the C quirks "
                          "that explain each divergence. In a c mode the torch side follows the C binary's "
                          "line (R1/R2, C-ARGV-001) where it changes the parse."),
        max_memory_option,
    ])


max_memory_option = click.option(
    "--max-memory", default=None, metavar="SIZE",
    help="Memory budget of the simulator's render: bytes or 512M, 2G (default: half the available memory). "
         "A pixel too large for it renders in slices; a render that cannot fit is refused (exit 2).")


def max_memory_bytes(text, port=None) -> int | None:
    """--max-memory as bytes (UsageError, exit 2, on a bad size or with --py-cmd, whose memory is its own)."""
    if text is None:
        return None
    from nbparity.errors import UsageError
    from simulator.memory_budget import parse_size

    if port is not None:
        raise UsageError("--max-memory bounds the in-repo simulator; a --py-cmd port manages its own memory")
    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(f"--max-memory: {exc}".replace("bad -max_memory", "bad size")) from None


def torch_spec(kw) -> TorchSpec:
    from nbparity.commands.portopts import port_from_options

    port = port_from_options(kw.pop("py_cmd"), kw.pop("py_quirk_flags"), ("device", "dtype", "quirks"))
    device, dtype, quirks = kw.pop("device"), kw.pop("dtype"), kw.pop("quirks")
    if port is None:
        from simulator.quirks import resolve

        try:
            resolve(quirks)
        except ValueError as exc:
            from nbparity.errors import UsageError

            raise UsageError(f"--quirks: {exc}") from None
    return TorchSpec(device, dtype, quirks, port, max_memory_bytes(kw.pop("max_memory"), port))


def judge_options(fn):
    return _stack(fn, [
        click.option("--tolerance", type=TOLERANCE, default=None,
                     help="rtol for every class (default: tolerances.toml)."),
        click.option("--atol", type=TOLERANCE, default=None, help="atol for every non-exact class."),
        click.option("--strict", is_flag=True, help="Divergences explained by known C quirks fail too (exit 1)."),
        click.option("--allow-empty", is_flag=True,
                     help="Accept all-zero or non-finite images on both sides (otherwise: incomplete)."),
    ])


def keys_option(fn):
    """--keys, for the commands that judge traces."""
    return click.option("--keys", default=None, metavar="KEY,…|PRESET",
                        help="Only these trace keys (or presets: scaling, phi) decide the verdict; each must "
                             "then be printed by both sides. The rest is listed, not judged.")(fn)


def judge_spec(kw, attribute: bool = True) -> JudgeSpec:
    from nbparity.errors import UsageError

    rtol, atol = kw.pop("tolerance"), kw.pop("atol")
    for name, v in (("--tolerance", rtol), ("--atol", atol)):
        if v is not None and not (v >= 0 and v < float("inf")):
            raise UsageError(f"{name} must be a finite number >= 0, not {v!r}")
    keys = tuple(k for k in (kw.pop("keys", None) or "").split(",") if k.strip())
    return JudgeSpec(rtol, atol, kw.pop("strict"), attribute, kw.pop("allow_empty"), keys)


def output_options(fn):
    return _stack(fn, [
        click.option("--out", default="reports", show_default=True, type=click.Path(), help="Where bundles go."),
        click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout."),
        click.option("--note", default=None, metavar="TEXT", help="A note stored in the bundle and shown by `history`."),
    ])


def output_spec(kw, show_all: bool = False) -> OutputSpec:
    from nbparity import tempdirs

    out = _abs(kw.pop("out"))
    check_out_dir(out, "--out")
    tempdirs.sweep(out)   # what killed runs left there (bundle staging, matrix work folders)
    return OutputSpec(out, True, kw.pop("as_json"), show_all, kw.pop("note"))


def check_out_dir(path: str, option: str) -> None:
    """A folder that exists or can be made, and is writable: checked before any long work (exit 2)."""
    from nbparity.errors import UsageError

    p = os.path.abspath(path)
    probe = p
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise UsageError(f"{option} {path}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: {probe} is not writable")


def say(msg: str) -> None:
    click.echo(msg, err=True)
