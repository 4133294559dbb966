"""simulator.readers parses plain HKL files (the compare path's validation step) without running the
_PLAIN_HKL regex: the cheaper test must accept exactly the files the regex matches, with the same numbers."""

import random

import numpy as np

import simulator.readers as readers

PIECES = ["0", "12", "-3", "+4", "5.", ".5", "1.5", "-2.25e3", "1E-2", "1e", "e1", ".", "-", "+", "1.2.3", "--1",
          "1-2", "1e+5", "+.5E+07", "0x1", "1_0", "inf", "nan", "١", "a", "\x00"]
SEPARATORS = [" ", "\n", "  ", "\t", "\r\n", "\x0b", "\x0c", "\x1c", ""]


def _regex_values(data: bytes):
    if readers._PLAIN_HKL.fullmatch(data) is None or not data.split():
        return None
    return np.array([float(t) for t in data.split()])


def _fast_values(data: bytes):
    v = readers._plain_values(data)
    return None if v is None or not len(v) else v


def test_plain_test_is_the_regex():
    rng = random.Random(7)
    chars = list("0123456789+-.eE \t\n\r\x0b\x0c")
    for trial in range(40000):
        if trial % 2:
            data = "".join(rng.choice(chars) for _ in range(rng.randint(0, 24)))
        else:
            data = "".join(rng.choice(PIECES) + rng.choice(SEPARATORS) for _ in range(rng.randint(0, 12)))
        data = data.encode()
        a, b = _regex_values(data), _fast_values(data)
        assert (a is None) == (b is None), data
        if a is not None:
            assert np.array_equal(a, b), data


def test_plain_and_exact_paths_agree_on_a_plain_file():
    data = b"  1 2 3 4.5\n-1 -2 -3 1e2\n0 0 0 .25\n"
    plain = readers.parse_hkl_text(data)
    exact = readers.parse_hkl_text(data + b"#")   # '#' forces the fscanf emulation, which stops there
    assert np.array_equal(plain.grid, exact.grid) and plain.hkls == exact.hkls == 3
