"""The `nbparity` command line: a thin click group. Each command lives in nbparity/commands/ and wraps a
plain Python function; heavy libraries are imported only inside those functions so --help stays fast."""

from __future__ import annotations

import importlib
import sys

import click

from nbparity import interrupts
from nbparity.errors import NbparityError
from nbparity.interrupts import Interrupted, Terminated

# command name -> module in nbparity.commands exposing a click command called `command`
COMMANDS = {
    "diff": "diff",
    "build": "build",
    "compare": "compare",
    "image": "image",
    "cases": "cases",
    "bundle": "bundle",
    "history": "history",
    "probe": "probe",
    "rerun": "rerun",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command is used (or listed by --help)."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        module = COMMANDS.get(name)
        if module is None:
            return None
        try:
            return importlib.import_module(f"nbparity.commands.{module}").command
        except ModuleNotFoundError as exc:
            if exc.name != f"nbparity.commands.{module}":
                raise  # a broken dependency must not look like a missing command
            return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks instead of one-line errors.")
@click.version_option(package_name="nbparity")
@click.pass_context
def cli(ctx, debug):
    """nbparity: prove, factor by factor and pixel by pixel, that a PyTorch nanoBragg port computes
    what the C program computes, and when it does not, say exactly where and why.

    Exit codes: 0 parity, 1 divergence, 2 usage or bad input, 3 build/runner/simulation failure."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from nbparity import tempdirs

    tempdirs.sweep()   # $TMPDIR: the folders of commands killed with SIGKILL (no handler ran)


def _wants_torch_worker(args) -> bool:
    """`compare` (not its --help): the torch worker can start importing torch right away."""
    words = [a for a in args if a != "--debug"]
    return bool(words) and words[0] == "compare" and not ({"-h", "--help"} & set(words))


# the verdict's exit code, set by a command before it prints its report: a reader that closes stdout
# early (`nbparity compare … | head -1`) must not change it
_verdict_code: list = []


def remember_exit(code: int) -> int:
    _verdict_code[:] = [int(code)]
    return int(code)


def main(argv=None):
    """Console entry point: turns NbparityError (and stray exceptions) into one stderr line + exit code."""
    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args
    prestarted = _wants_torch_worker(args)
    if prestarted:
        from nbparity import torchworker

        torchworker.prestart()
    previous = interrupts.install() if _main_thread() else None
    _verdict_code.clear()
    interrupts.allow_side_runs()
    waiting = None
    try:
        rc = _main(argv, debug, "--json" in args)
    finally:
        if prestarted:
            torchworker.discard_prestarted()
        if previous is not None:
            waiting = interrupts.restore(previous)
        interrupts.allow_side_runs()
    if waiting is not None:   # signalled inside torch's C++ init just before the end: still that exit
        return _fail(*_SIGNALLED[waiting], "--json" in args)
    return rc


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _fail(message: str, code: int, as_json: bool) -> int:
    """One stderr line; with --json also one JSON document on stdout, so a pipeline always gets one."""
    click.echo(message, err=True)
    if as_json:
        from nbparity.codec import dumps

        try:
            click.echo(dumps({"verdict": "error", "exit_code": code, "error": message}), nl=False)
        except (BrokenPipeError, OSError):
            pass
    return code


_SIGNALLED = {Interrupted: ("nbparity: interrupted", 130), Terminated: ("nbparity: terminated", 143)}


def _main(argv, debug, as_json=False):
    try:
        rc = cli.main(args=argv, prog_name="nbparity", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:   # a bad option or argument: one line, exit 2, JSON too with --json
        return _fail(_click_line(exc), 2, as_json)
    except (click.exceptions.Abort, KeyboardInterrupt):   # click turns Ctrl-C into Abort
        return _fail(*_SIGNALLED[Interrupted], as_json)
    except Terminated:
        return _fail(*_SIGNALLED[Terminated], as_json)
    except BrokenPipeError:   # the reader went away: the verdict still decides the exit code
        _silence_stdout()
        return _verdict_code[0] if _verdict_code else 0
    except NbparityError as exc:
        if debug:
            raise
        return _fail(f"nbparity: {exc}", exc.exit_code, as_json)
    except Exception as exc:  # an unexpected failure is still one line, exit 3
        if debug:
            raise
        return _fail(f"nbparity: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", 3, as_json)
    return rc if isinstance(rc, int) else 0


def _click_line(exc) -> str:
    """click's usage error in one line: the command, the message, where to look (click prints three)."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "nbparity"
    hint = f" (see '{where} --help')" if ctx is not None else ""
    return f"{where}: {' '.join(exc.format_message().split())}{hint}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())


def entry():
    """setuptools console-script target."""
    sys.exit(main())
