"""The signal handlers' rule (nbparity/interrupts.py): inside torch's C++ initialisers the exception waits
for a safe point, is never lost, never arrives after the command ended, and waits at most MAX_DEFER_S."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from nbparity import cli, interrupts
from nbparity.interrupts import Interrupted, Terminated


@pytest.fixture(autouse=True)
def alarms(monkeypatch):
    """SIGALRMs that reach the previous handler (the default one would kill pytest); no state leaks."""
    seen = []
    before = signal.signal(signal.SIGALRM, lambda s, f: seen.append(s))
    monkeypatch.setattr(interrupts, "_pending", None)
    yield seen
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, before)


def _send(sig) -> None:
    """Signal this process; its handler runs before this returns and must not raise yet (were the
    Ctrl-C raised, pytest would take it for the user's and stop the session)."""
    try:
        os.kill(os.getpid(), sig)
    except (Interrupted, Terminated) as exc:
        pytest.fail(f"{type(exc).__name__} raised inside torch's native init")


@pytest.fixture
def unsafe(monkeypatch):
    """The stack answers "inside torch's native init" as many times as `left[0]` says (-1: always)."""
    left = [-1]

    def in_native_init(frame):
        if left[0] == 0:
            return False
        left[0] -= 1
        return True

    monkeypatch.setattr(interrupts, "_in_native_init", in_native_init)
    return left


@pytest.fixture
def handlers():
    previous = interrupts.install()
    yield
    interrupts.restore(previous)


def test_a_signal_inside_native_init_is_raised_at_the_first_safe_check(unsafe, handlers):
    unsafe[0] = 3   # the signal itself and two re-checks still find the init on the stack
    t0 = time.monotonic()
    _send(signal.SIGINT)
    with pytest.raises(Interrupted):
        time.sleep(2)
    assert unsafe[0] == 0
    assert time.monotonic() - t0 < 0.5


def test_a_later_sigterm_replaces_the_waiting_ctrl_c(unsafe, handlers):
    unsafe[0] = 2
    _send(signal.SIGINT)
    _send(signal.SIGTERM)
    with pytest.raises(Terminated):
        time.sleep(2)


def test_the_wait_is_bounded(unsafe, handlers, monkeypatch):
    monkeypatch.setattr(interrupts, "MAX_DEFER_S", 0.05)   # the stack never looks safe
    t0 = time.monotonic()
    _send(signal.SIGTERM)
    with pytest.raises(Terminated):
        time.sleep(2)
    assert 0.05 <= time.monotonic() - t0 < 0.5


def test_restore_cancels_the_recheck_and_returns_the_waiting_signal(unsafe, alarms):
    previous = interrupts.install()
    _send(signal.SIGINT)   # waits: a re-check is armed
    assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    assert interrupts.restore(previous) is Interrupted
    time.sleep(3 * interrupts.RECHECK_S)
    assert alarms == []   # nothing fires after the command
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_command_that_ends_while_its_signal_waits_still_exits_as_signalled(unsafe, alarms, monkeypatch,
                                                                              capsys):
    def command(*args, **kwargs):   # signalled "inside torch's init", then done before any re-check
        _send(signal.SIGTERM)
        return 0

    monkeypatch.setattr(cli.cli, "main", command)
    assert cli.main(["image"]) == 143
    assert capsys.readouterr().err.splitlines() == ["nbparity: terminated"]
    time.sleep(3 * interrupts.RECHECK_S)
    assert alarms == []


def _call_offsets(source: str) -> list:
    import dis

    code = compile(source, "<test>", "exec")
    return [(code, ins.offset) for ins in dis.get_instructions(code) if ins.opname == "CALL"]


@pytest.mark.parametrize("source, expected", [
    ("if is_available() and not torch._C._c10d_init():\n    pass", [False, True]),
    ("if not torch._C._autograd_init():\n    pass", [True]),
    ("_C._dist_autograd_init()", [True]),
    ("torch._C._get_default_device()", [False]),   # not an initialiser
    ("helpers._c10d_init()", [False]),              # not torch's _C
    ("_C._initExtension(_manager_path())", [False, False]),   # measured: its exceptions propagate
])
def test_the_native_initialisers_are_told_from_the_bytecode(source, expected):
    assert [interrupts._calls_native_init(code, at) for code, at in _call_offsets(source)] == expected


def test_the_decision_imports_nothing():
    """The handler runs wherever the main thread is, possibly inside an import: importing a module
    there can meet a half-initialised one or a module lock that thread already holds."""
    probe = ("import sys\nfrom nbparity import interrupts\nbefore = set(sys.modules)\n"
             "code = compile('torch._C._c10d_init()', 'x', 'exec')\n"
             "assert [interrupts._calls_native_init(code, o) for o in range(0, len(code.co_code), 2)]\n"
             "print(sorted(set(sys.modules) - before))")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]"


def test_a_command_leaves_the_callers_alarm_alone(alarms, capsys):
    """SIGALRM is taken only while a signal waits: an in-process caller's own timer survives a command."""
    signal.setitimer(signal.ITIMER_REAL, 5)
    assert cli.main(["--version"]) == 0
    assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    assert signal.getsignal(signal.SIGALRM) is not interrupts._on_sigalrm


def test_a_ctrl_c_python_swallows_is_raised_again(tmp_path):
    """A Ctrl-C whose exception lands in a weakref callback (Python prints "Exception ignored" and goes on:
    importlib's module-lock cleanup is one) still stops the command: 130 and one line, not exit 0."""
    script = tmp_path / "swallowed.py"
    script.write_text(
        "import signal, sys, time, weakref\n"
        "from nbparity import cli\n"
        "class Thing: pass\n"
        "def work(argv, debug, as_json=False):\n"
        "    try:\n"
        "        thing = Thing()\n"
        "        ref = weakref.ref(thing, lambda r: signal.raise_signal(signal.SIGINT))   # handler runs in it\n"
        "        del thing\n"
        "        time.sleep(0.5)\n"
        "    except KeyboardInterrupt:\n"
        "        return cli._fail('nbparity: interrupted', 130, False)\n"
        "    print('ran on')\n"
        "    return 0\n"
        "cli._main = work   # the command: cli.main's handlers, restore and exit code around it\n"
        "sys.exit(cli.main(['image']))\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr.strip()) == (130, "", "nbparity: interrupted")


def test_side_runs_may_start_again_once_a_stopped_command_has_ended(tmp_path, monkeypatch):
    """A Ctrl-C stops the side runs; once the command has ended, the process may run sides again (an
    in-process compare_pixel after an interrupted command must not find every run 'interrupted')."""
    from nbparity import port

    def stopped_command(argv, debug, as_json=False):
        port.kill_running_groups()   # what the signal handlers do
        return 130

    monkeypatch.setattr(cli, "_main", stopped_command)
    assert cli.main(["image"]) == 130
    assert port.run_in_group(["sleep", "0.2"], tmp_path, 10)[0] == 0   # still running at the first poll
