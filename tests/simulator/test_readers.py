"""HKL stream parsing (§2.1), Fdump (§2.2), MOSFLM matrix (§2.3), source file (§2.4), SMV (§2.6)."""

import math

import numpy as np
import pytest

from simulator.model import InputError
from simulator.readers import (fdump_bytes, parse_fdump, parse_hkl_text, parse_source_text, read_hkl,
                               read_mosflm_matrix, read_smv)


def test_hkl_basic_grid_padding_and_default_fill():
    h = parse_hkl_text(b"0 0 0 5\n1 -1 2 7.5\n", default_F=3.0)
    assert (h.h_min, h.h_max, h.k_min, h.k_max, h.l_min, h.l_max, h.hkls) == (0, 1, -1, 0, 0, 2, 2)
    assert h.grid.shape == (3, 3, 4)
    assert h.grid[0, 1, 0] == 5.0 and h.grid[1, 0, 2] == 7.5 and h.grid[1, 1, 1] == 3.0
    assert h.grid[2].sum() == 0 and h.grid[:, 2].sum() == 0 and h.grid[:, :, 3].sum() == 0


def test_hkl_is_a_stream_of_groups():
    one_line = parse_hkl_text(b"0 0 0 5 1 1 1 6")
    assert one_line.hkls == 2 and one_line.grid[1, 1, 1] == 6.0
    five = parse_hkl_text(b"0 0 0 5 1\n1 1 1 6 1\n2 2 2 7 1\n")  # groups run across columns
    assert five.hkls == 3 and (five.h_min, five.h_max) == (0, 6)
    # groups: (0 0 0 5) (1 1 1 1) (6 1 2 2); the trailing "2 7 1" is incomplete
    assert five.grid[0, 0, 0] == 5.0 and five.grid[1, 1, 1] == 1.0 and five.grid[6, 1, 2] == 2.0


def test_hkl_header_line_yields_nothing():
    with pytest.raises(InputError):
        parse_hkl_text(b"h k l F\n0 0 0 5\n")


def test_hkl_stops_at_incomplete_group_and_warns_on_fractions():
    h = parse_hkl_text(b"0 0 0 5\n1 1 1 6\n2 2 x 7\n3 3 3 8\n")
    assert h.hkls == 2 and h.h_max == 1
    w = parse_hkl_text(b"0 0 0 5\n0.5 1 1 6\n")
    assert w.hkls == 2 and any("non-integer value for h" in x for x in w.warnings)
    assert w.h_max == 0  # int assignment truncates 0.5
    assert w.grid[0, 0, 0] == 5.0  # pass 2 %d stops at '.5': the second entry is never stored
    assert w.grid[0, 1, 1] == 0.0


def test_hkl_unreadable(tmp_path):
    with pytest.raises(InputError, match="cannot read hkl file"):
        read_hkl(str(tmp_path / "missing.hkl"))


def test_fdump_round_trip_and_layout():
    h = parse_hkl_text(b"-1 0 0 1.5\n1 2 3 -2\n", default_F=0.25)
    raw = fdump_bytes(h)
    assert raw.startswith(b"-1 1 0 2 0 3\n\f")
    assert len(raw) == len(b"-1 1 0 2 0 3\n\f") + 8 * 4 * 4 * 5
    back = parse_fdump(raw)
    assert (back.grid == h.grid).all() and back.hkls == 3 * 3 * 4 and back.h_min == -1


def test_fdump_truncated():
    with pytest.raises(InputError, match="truncated"):
        parse_fdump(b"0 0 0 0 0 0\n\f" + b"\x01" * 8)


def test_mosflm_matrix_columns(tmp_path):
    p = tmp_path / "A.mat"
    p.write_text("1 2 3\n4 5 6\n7 8 9\n0 0 0\n")
    assert read_mosflm_matrix(str(p)) == ((1.0, 4.0, 7.0), (2.0, 5.0, 8.0), (3.0, 6.0, 9.0))


def test_source_file_comments_become_sources():
    rows = parse_source_text("# note\n\n , ;\n0 0 -10 1 2e-10\n1,2\n")
    assert len(rows) == 3
    assert rows[0][0] == 0.0 and all(math.isnan(x) for x in rows[0][2:])
    assert rows[1] == [0.0, 0.0, -10.0, 1.0, 2e-10]
    assert rows[2][:2] == [1.0, 2.0] and math.isnan(rows[2][2])


def test_smv_header_keyword_semantics(tmp_path):
    header = ("{\nHEADER_BYTES=512;\nSIZE1=3;\nSIZE2=2;\nPIXEL_SIZE=0.1;\nDISTANCE=100;\n"
              "CLOSE_DISTANCE=90;\nXDS_ORGX=7;\n}\f")
    raw = header.encode().ljust(512, b" ") + np.arange(6, dtype=np.uint16).tobytes()
    (tmp_path / "f.img").write_bytes(raw)
    f = read_smv(str(tmp_path / "f.img"))
    assert f.value("DISTANCE") == 90.0  # last occurrence: inside CLOSE_DISTANCE
    assert f.value("ORGX") == 7.0 and math.isnan(f.value("WAVELENGTH"))
    assert list(f.data) == [0, 1, 2, 3, 4, 5]
    (tmp_path / "g.img").write_bytes(b"not a frame" + b" " * 600)
    assert read_smv(str(tmp_path / "g.img")) is None


def test_plain_hkl_fast_path_matches_the_fscanf_emulation():
    """The vectorized reader must give the exact grid of the sequential two-pass C emulation,
    duplicates (last wins), negative indices and default_F prefill included."""
    from simulator import readers

    text = b"1 2 3 4.5\n1 2 3 7\n-2 0 1 1e2 0 0 0 .5\n 5 -1 2 33.25\n"
    for default_F in (0.0, 3.5):
        fast = readers._parse_plain_hkl(text, default_F, "t")
        slow = readers.parse_hkl_text(text + b" not-a-number", default_F, "t")  # forces the exact path
        assert fast is not None
        assert (fast.h_min, fast.h_max, fast.k_min, fast.k_max, fast.l_min, fast.l_max) == (
            slow.h_min, slow.h_max, slow.k_min, slow.k_max, slow.l_min, slow.l_max)
        assert fast.hkls == slow.hkls == 5
        assert np.array_equal(fast.grid, slow.grid)
        assert fast.grid[1 + 2, 2 - (-1), 3 - 0] == 7.0  # the later duplicate wins


def test_non_plain_hkl_text_takes_the_exact_path():
    from simulator import readers

    assert readers._parse_plain_hkl(b"h k l F\n1 2 3 4\n", 0.0, "t") is None
    assert readers._parse_plain_hkl(b"1.0 2 3 4\n", 0.0, "t") is None
    assert readers._parse_plain_hkl(b"1 2 3 4 5\n", 0.0, "t") is None
