"""Item 4 (torch side): the argv parser and the setup derivation are fuzzed.

* `simulator.cparse.atof/atoi` must be C's `strtod`/`atoi` (checked against the real libc via ctypes).
* `simulator.argv.parse_argv` never raises (the C parser never fails: unknown tokens are ignored,
  missing values skip the option, garbage parses as 0).
* `simulator.setup.derive` raises only the documented errors: `SimulatorError` (`UsageExit`,
  `InputError`, carrying the C exit status) or a `ValueError` of its own with a one-line message; never
  a Python-internal error (ZeroDivisionError, OverflowError, IndexError, a "math domain error", ...)
  where the C would just compute an inf/NaN.
"""

from __future__ import annotations

import ctypes
import math
import resource
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from . import BASE_ARGS, OPTION_NAMES, corpus_lines, make_hostile_files

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])

# ----------------------------------------------------------------------------- strategies

NUMBER_TOKENS = ["0", "-0", "1", "2", "3", "-1", "-5", "0.5", "90", "180", "1e3", "1e308", "-1e308",
                 "1e-308", "4.9e-324", "1e-320", "1e400", "nan", "-nan", "NaN(12)", "inf", "-inf",
                 "Infinity", "0x10", "0x1p-3", "-0x.8p1", "99999999999999999999", "-2147483648",
                 "2147483648", "1.5x", "abc", "", " 7", "٣", "５", "1\u00a0"]
FILE_TOKENS = ["empty.txt", "garbage.txt", "garbage.hkl", "garbage.bin", "/nonexistent/x", ".", "sub dir/it's"]

token = st.one_of(
    st.sampled_from(OPTION_NAMES),
    st.sampled_from(NUMBER_TOKENS),
    st.sampled_from(FILE_TOKENS),
    st.integers(-50, 50).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.text(max_size=12),
    st.sampled_from(OPTION_NAMES).flatmap(lambda o: st.text(max_size=4).map(lambda t: o + t)),
)
value_token = st.one_of(st.sampled_from(NUMBER_TOKENS), st.integers(-50, 50).map(str),
                        st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr))
# mostly "option value value ...", as a user would write it, plus stray garbage tokens
group = st.one_of(
    st.tuples(st.sampled_from(OPTION_NAMES), st.lists(value_token, max_size=4)).map(lambda t: [t[0], *t[1]]),
    st.tuples(st.sampled_from(["-hkl", "-mat", "-sourcefile", "-img", "-mask", "-stol", "-dump"]),
              st.sampled_from(FILE_TOKENS)).map(list),
    token.map(lambda t: [t]),
)
argv_lists = st.lists(group, max_size=8).map(lambda groups: [t for g in groups for t in g])


# ----------------------------------------------------------------------------- C library oracle

_libc = ctypes.CDLL(None)
_libc.strtod.restype = ctypes.c_double
_libc.strtod.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
_libc.atoi.restype = ctypes.c_int
_libc.atoi.argtypes = [ctypes.c_char_p]


def _bits(x: float) -> bytes:
    if math.isnan(x):  # glibc's NaN payload/sign is not part of the contract, NaN-ness is
        return b"nan"
    return struct.pack("<d", x)


def _c_safe(s: str) -> bytes | None:
    b = s.encode("utf-8", "surrogatepass")
    return None if b"\0" in b else b


numeric_text = st.one_of(
    st.sampled_from(NUMBER_TOKENS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats().map(float.hex),
    st.integers(-(2**70), 2**70).map(str),
    st.from_regex(r"\A[ \t]*[+-]?(0[xX])?[0-9a-fA-F.]{0,12}([eEpP][+-]?[0-9]{0,4})?[a-z ]{0,3}\Z"),
    st.text(max_size=10),
)


@SETTINGS
@given(numeric_text)
@example("５０")
@example("١٠٠")
@example("1\u00a0")
def test_atof_atoi_match_libc(text):
    from simulator.cparse import atof, atoi

    raw = _c_safe(text)
    assume(raw is not None)
    assert _bits(atof(text)) == _bits(_libc.strtod(raw, None)), f"atof({text!r})"
    assert atoi(text) == _libc.atoi(raw), f"atoi({text!r})"


# ----------------------------------------------------------------------------- known bugs (xfail)

XFAIL_PARSE: dict = {}   # fixed: -energy 0 / -detector_abs 1e-320 divide like C doubles
XFAIL_DERIVE: dict = {}  # fixed: -pixel 0, inf/nan angles (libm NaN semantics)


def corpus_params(xfails: dict):
    out = []
    for argv in corpus_lines():
        line = " ".join(argv)
        marks = [pytest.mark.xfail(strict=True, reason=xfails[line])] if line in xfails else []
        out.append(pytest.param(argv, marks=marks, id=line[:60]))
    return out


# ----------------------------------------------------------------------------- parse_argv


@pytest.mark.parametrize("argv", corpus_params(XFAIL_PARSE))
def test_parse_argv_corpus_never_raises(argv):
    from simulator.argv import Options, parse_argv

    assert isinstance(parse_argv(argv), Options)
    assert isinstance(parse_argv(BASE_ARGS + argv), Options)


@SETTINGS
@given(argv_lists)
@example(["-energy", "0"])
@example(["-energy", "-0"])
@example(["-detector_abs", "1e-320"])
@example(["-detector_abs"])
@example(["-lambda", "0x1p2000"])
@example(["-N"])
def test_parse_argv_never_raises(argv):
    from simulator.argv import Options, parse_argv

    assert isinstance(parse_argv(argv), Options)


# ----------------------------------------------------------------------------- derive

# Python-internal failures that betray arithmetic the C would do silently (inf/NaN/UB), not a
# deliberate, documented input error
_INTERNAL_VALUE_ERRORS = ("math domain error", "cannot convert float", "invalid literal", "too many values",
                          "not enough values", "could not convert", "math range error")


class _Slow(BaseException):
    pass


def _alarm(signum, frame):
    raise _Slow()


def _derive_or_documented_error(argv, cwd: Path, budget_s: float = 10.0):
    """Run parse_argv + derive; return None or the documented exception; fail on anything else.
    A derivation slower than budget_s is reported as a rejection (too big, not a crash)."""
    from simulator.argv import parse_argv
    from simulator.model import SimulatorError
    from simulator.setup import derive

    opts = parse_argv(argv)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, budget_s)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    # a memory bomb must fail this example, not the machine: at most 3 GiB more address space
    cap = _vm_bytes() + (3 << 30)
    if limits[1] == resource.RLIM_INFINITY or cap < limits[1]:
        resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
    try:
        derive(opts, cwd=str(cwd))
    except SimulatorError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg.strip(), f"{type(exc).__name__} message not one line: {msg!r}"
        assert isinstance(exc.exit_code, int)
        return exc
    except ValueError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg.strip(), f"ValueError message not one line: {msg!r}"
        assert not any(m in msg for m in _INTERNAL_VALUE_ERRORS), (
            f"derive({argv!r}) raised a Python-internal ValueError: {msg}")
        return exc
    except _Slow:
        return _Slow()
    except MemoryError:
        raise AssertionError(f"derive({argv!r}) ran out of memory; the C exits 9 when an allocation "
                             "fails, the port must raise a SimulatorError (or not allocate that much)") from None
    finally:
        resource.setrlimit(resource.RLIMIT_AS, limits)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return None


def _vm_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    make_hostile_files(d)
    (d / "sub dir").mkdir()
    (d / "sub dir" / "it's").write_text("1 2 3 4\n")
    return d


@pytest.mark.parametrize("argv", corpus_params(XFAIL_DERIVE))
def test_derive_corpus_only_documented_errors(argv, hostile_dir):
    result = _derive_or_documented_error(BASE_ARGS + argv, hostile_dir)
    assert not isinstance(result, _Slow), f"derive took more than 10 s on {argv!r}"


@SETTINGS
@given(with_base=st.booleans(), argv=argv_lists)
@example(with_base=True, argv=["-energy", "0"])
@example(with_base=True, argv=["-detector_abs", "1e-320"])
@example(with_base=True, argv=["-hdivrange", "1e308", "-hdivstep", "1e-308", "-vdivsteps", "1"])
@example(with_base=True, argv=["-phistep", "0", "-osc", "1"])
@example(with_base=True, argv=["-oversample", "0", "-xtalsize", "1e308"])
@example(with_base=True, argv=["-detpixels", "0"])
@example(with_base=True, argv=["-pixel", "0"])
@example(with_base=True, argv=["-lambda", "0"])
@example(with_base=True, argv=["-cell", "30", "30", "30", "0", "0", "0"])
@example(with_base=True, argv=["-cell", "30", "30", "30", "180", "180", "180"])
@example(with_base=True, argv=["-mosaic", "nan", "-mosaic_dom", "3"])
def test_derive_only_documented_errors(with_base, argv, hostile_dir):
    result = _derive_or_documented_error((BASE_ARGS if with_base else []) + argv, hostile_dir)
    assume(not isinstance(result, _Slow))


_HUGE_HKL_CHILD = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, resource.RLIM_INFINITY))
from simulator.argv import parse_argv
from simulator.model import SimulatorError
from simulator.setup import derive
try:
    derive(parse_argv(sys.argv[1:]), cwd=".")
except SimulatorError as exc:
    print("SimulatorError", exc.exit_code)
except MemoryError:
    print("MemoryError")
else:
    print("ok")
"""


def test_huge_hkl_grid_is_an_input_error_like_c(tmp_path):
    """An HKL list spanning -1000..1000 on every axis needs a 60 GB grid: the C's allocation fails and it
    exits 9; the port must fail the same way (SimulatorError, exit 9), never with a bare MemoryError.
    Runs in a child process with a 3 GiB address-space cap so a regression cannot exhaust the machine."""
    (tmp_path / "huge.hkl").write_text("-1000 -1000 -1000 1\n1000 1000 1000 1\n")
    proc = subprocess.run([sys.executable, "-c", _HUGE_HKL_CHILD, *BASE_ARGS, "-hkl", "huge.hkl"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "SimulatorError 9", proc.stdout + proc.stderr[-2000:]
