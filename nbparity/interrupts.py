"""Ctrl-C and SIGTERM: the side runs are killed at once and the exception is raised where the process
is — except inside torch's C++ initialisers, where it is raised a few ms later.

torch's `torch._C._c10d_init()`, `_autograd_init()` and `_dist_autograd_init()` (run while `import torch`
imports torch.distributed / torch.autograd) check for signals from C++ that cannot pass an exception on:
one raised by a Python signal handler there becomes an uncaught C++ exception and the process aborts
(SIGABRT: "terminate called after throwing an instance of 'pybind11::error_already_set'"). Measured
(torch 2.13, CPython 3.11): the handler then runs with the torch module frame at the CALL of that
function, for about 4 ms. While such a call is on the stack the handler re-arms a SIGALRM instead of
raising, and the exception comes at the first check outside it.

Where Python itself swallows an exception (a weakref callback such as importlib's module-lock cleanup, a
__del__: it only prints "Exception ignored …"), the Ctrl-C would be lost and the command would run on to
exit 0: the unraisable hook catches ours and raises it again at the next check instead."""

from __future__ import annotations

import dis   # here, not in the handler: an import there can meet the import the signal interrupted
import functools
import os
import signal
import sys
import time

RECHECK_S = 0.005
MAX_DEFER_S = 1.0   # an init still running by then is not the ms-long one measured: raise anyway


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so `with` blocks remove their temporary folders."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, raised where the process is; `except KeyboardInterrupt` (click's too) still catches it.
    Not KeyboardInterrupt itself: CPython (3.11) marks the process "killed by Ctrl-C" whenever exactly that
    type leaves an exec()/eval() of a string — dataclasses and namedtuple do one per class while torch is
    imported — and then re-raises SIGINT at exit even after main() caught it and returned 130 (the
    process ends with -2). CPython only checks the exact type, so a subclass is never marked."""


_pending: tuple | None = None   # (exception class, when first deferred): a signal not raised yet


def _kill_side_runs() -> None:
    port = sys.modules.get("nbparity.port")   # not imported: no side is running
    if port is not None:
        port.kill_running_groups()


def allow_side_runs() -> None:
    """Side runs may start again: at a command's start and once it has ended (a stop request answered must
    not refuse the runs of whatever this process does next, such as an in-process compare_pixel)."""
    port = sys.modules.get("nbparity.port")   # not imported: nothing was stopped
    if port is not None:
        port.allow_runs()


def _on_sigterm(signum, frame):
    _kill_side_runs()
    raise_when_safe(Terminated, frame)


def _on_sigint(signum, frame):
    _kill_side_runs()
    raise_when_safe(Interrupted, frame)


def _on_sigalrm(signum, frame):
    if _pending is not None:
        raise_when_safe(_pending[0], frame)


def _on_unraisable(unraisable) -> None:
    if isinstance(unraisable.exc_value, (Interrupted, Terminated)):   # swallowed: raise it again soon
        try:
            _defer(type(unraisable.exc_value), time.monotonic())
            return
        except ValueError:   # not the main thread (ours are raised there): say it as Python would
            pass
    _hook[0](unraisable)


_hook = [sys.__unraisablehook__]   # the hook ours stands in front of while a command runs


def _defer(exc_type, since: float) -> None:
    """Raise `exc_type` at the SIGALRM re-check RECHECK_S from now."""
    global _pending
    _pending = (exc_type, since)
    if signal.getsignal(signal.SIGALRM) is not _on_sigalrm:   # taken only now (restore gives it back)
        signal.signal(signal.SIGALRM, _on_sigalrm)
    signal.setitimer(signal.ITIMER_REAL, RECHECK_S)


def raise_when_safe(exc_type, frame) -> None:
    """Raise `exc_type` now, or, inside torch's C++ initialisation, re-check in RECHECK_S (a later
    signal replaces the class that will be raised)."""
    global _pending
    since = _pending[1] if _pending is not None else time.monotonic()
    if _in_native_init(frame) and time.monotonic() - since < MAX_DEFER_S:
        _defer(exc_type, since)
        return
    if _pending is not None:   # this raise answers a deferred signal: its re-check is not needed
        signal.setitimer(signal.ITIMER_REAL, 0)
    _pending = None
    raise exc_type()


def install() -> list:
    """The CLI's handlers (main thread only); returns what restore() needs. SIGALRM is only taken
    while a signal waits (raise_when_safe)."""
    if sys.unraisablehook is not _on_unraisable:
        _hook[0], sys.unraisablehook = sys.unraisablehook, _on_unraisable
    return [(signal.SIGTERM, signal.signal(signal.SIGTERM, _on_sigterm)),
            (signal.SIGINT, signal.signal(signal.SIGINT, _on_sigint)),
            (signal.SIGALRM, signal.getsignal(signal.SIGALRM))]


def restore(previous: list):
    """Put the handlers back and cancel a re-check; returns the exception class of a signal that was
    still waiting for a safe point (the command ended first), else None."""
    global _pending
    if sys.unraisablehook is _on_unraisable:
        sys.unraisablehook = _hook[0]
    for sig, handler in previous[:2]:   # SIGTERM, SIGINT first: nothing is deferred after this
        signal.signal(sig, signal.SIG_DFL if handler is None else handler)   # None: set outside Python
    waiting, _pending = _pending, None   # the alarm handler does nothing from here on
    if signal.getsignal(signal.SIGALRM) is _on_sigalrm:   # a signal was deferred: the timer is ours
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in previous[2:]:
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    return None if waiting is None else waiting[0]


def _in_native_init(frame) -> bool:
    """Whether a frame of the stack is torch code calling one of its `_C.*_init` functions."""
    torch_file = getattr(sys.modules.get("torch"), "__file__", None)
    if not torch_file:   # torch not being imported: nothing to wait for
        return False
    root = os.path.dirname(torch_file) + os.sep
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith(root) and "_C" in code.co_names and \
                _calls_native_init(code, frame.f_lasti):
            return True
        frame = frame.f_back
    return False


@functools.lru_cache(maxsize=64)   # the re-checks ask again about the same frame
def _calls_native_init(code, lasti: int) -> bool:
    """Whether the instruction at `lasti` calls `<…>._C.<name>_init` (torch calls these without arguments,
    so the callee is the last name loaded; read from the bytecode: no source needed, any layout)."""
    owner = name = None
    for ins in dis.get_instructions(code):
        if ins.offset == lasti:
            return ins.opname.startswith(("CALL", "PRECALL")) and owner == "_C" and str(name).endswith("_init")
        if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL", "LOAD_FAST", "LOAD_DEREF", "LOAD_ATTR", "LOAD_METHOD"):
            owner, name = name, ins.argval
    return False
