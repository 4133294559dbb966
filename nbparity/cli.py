"""The `nbparity` command line: a thin click group. Each command lives in nbparity/commands/ and wraps a
plain Python function; heavy libraries are imported only inside those functions so --help stays fast."""

from __future__ import annotations

import importlib
import sys

import click

from nbparity.errors import NbparityError

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


def _wants_torch_worker(args) -> bool:
    """`compare` (not its --help): the torch worker can start importing torch right away."""
    words = [a for a in args if a != "--debug"]
    return bool(words) and words[0] == "compare" and not ({"-h", "--help"} & set(words))


def main(argv=None):
    """Console entry point: turns NbparityError (and stray exceptions) into one stderr line + exit code."""
    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args
    prestarted = _wants_torch_worker(args)
    if prestarted:
        from nbparity import torchworker

        torchworker.prestart()
    try:
        return _main(argv, debug)
    finally:
        if prestarted:
            torchworker.discard_prestarted()


def _main(argv, debug):
    try:
        rc = cli.main(args=argv, prog_name="nbparity", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("nbparity: aborted", err=True)
        return 2
    except NbparityError as exc:
        if debug:
            raise
        click.echo(f"nbparity: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("nbparity: interrupted", err=True)
        return 130
    except Exception as exc:  # an unexpected failure is still one line, exit 3
        if debug:
            raise
        click.echo(f"nbparity: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        return 3
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())


def entry():
    """setuptools console-script target."""
    sys.exit(main())
