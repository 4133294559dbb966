"""The --py-cmd / --py-quirk-flag options shared by `compare`, `image` and `cases run`."""

from __future__ import annotations

import click

PY_CMD_HELP = ('Run your own port as the torch side: COMMAND is split like a shell line (never run through a '
               'shell); {argv} stands for the nanoBragg argv (incl. -roi/-trace_pixel/-floatfile), else the '
               'argv is appended. E.g. "python -m myport {argv} -dtype float64". Put the port\'s own options '
               '(device, precision, quirks) into COMMAND: --device/--dtype/--quirks are refused with it.')
QUIRK_FLAG_HELP = ('ID=FLAGS: the port switch emulating a registered C quirk, appended to COMMAND in the '
                   'attribution re-runs, e.g. C-PARITY-001="--phi-carryover". Repeatable.')


def port_options(fn):
    fn = click.option("--py-quirk-flag", "py_quirk_flags", multiple=True, metavar="ID=FLAGS",
                      help=QUIRK_FLAG_HELP)(fn)
    return click.option("--py-cmd", "py_cmd", default=None, metavar="COMMAND", help=PY_CMD_HELP)(fn)


def port_from_options(py_cmd, py_quirk_flags, torch_params=()):
    """A PortSpec (or None without --py-cmd); exit 2 when a torch option was given explicitly with it."""
    from nbparity.errors import UsageError
    from nbparity.port import PortSpec, refuse_torch_options

    if py_cmd is None:
        if py_quirk_flags:
            raise UsageError("--py-quirk-flag needs --py-cmd (the in-repo simulator takes --quirks)")
        return None
    ctx = click.get_current_context()
    given = [f"--{p}" for p in torch_params
             if ctx.get_parameter_source(p) not in (None, click.core.ParameterSource.DEFAULT)]
    refuse_torch_options(given)
    return PortSpec.parse(py_cmd, py_quirk_flags)
