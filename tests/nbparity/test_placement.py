"""Parse-preserving placement of the harness's tokens (nbparity/placement.py): every placed argv parses
to the user's configuration under both C lines; where no position can guarantee that, less is added."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbparity.errors import UsageError
from nbparity.placement import place, preserves_parse, with_pixel
from simulator.argv import configuration, parse_argv
from simulator.cparse import RTD

BASE = "-cell 50 60 70 90 90 90 -lambda 1 -default_F 100 -N 4 -distance 100 -pixel 0.5 -detpixels 32".split()
ROI, TP = (2, 3, 23, 23), (23, 3)
IGNORE = {"roi", "trace_pixel"}


def naive(argv):
    return argv + ["-roi", *map(str, ROI), "-trace_pixel", *map(str, TP)]


def assert_same_config(user, placed, lines=(True, False)):
    for r1 in lines:
        u, p = parse_argv(user, r1=r1), parse_argv(placed, r1=r1)
        assert configuration(p, IGNORE) == configuration(u, IGNORE)
        assert p.roi == ROI and p.trace_pixel == TP


def test_trailing_misset_seed_is_not_followed_by_harness_tokens():
    argv = BASE + ["-misset", "random", "-misset_seed", "3"]
    # the bug being prevented: appended, -trace_pixel 23 3 makes R1 read misset angles (3, 0, 23)
    bad = parse_argv(argv + ["-trace_pixel", "23", "3"], r1=True)
    assert bad.misset_mode == "angles"
    assert (bad.misset_x, bad.misset_y, bad.misset_z) == pytest.approx((3 / RTD, 0.0, 23 / RTD))
    assert not preserves_parse(argv, naive(argv), roi=ROI, trace_pixel=TP)
    p = place(argv, roi=ROI, trace_pixel=TP)
    assert p.where == "prepended" and p.roi == ROI and p.trace_pixel == TP and p.reason == ""
    assert p.argv[-4:] == ["-misset", "random", "-misset_seed", "3"]
    assert parse_argv(p.argv, r1=True).misset_mode == "random"
    assert parse_argv(p.argv, r1=True).misset_seed == -3
    assert_same_config(argv, p.argv)


def test_trailing_dump_pixel_keeps_the_fdump_name():
    argv = BASE + ["-dump_pixel"]
    assert parse_argv(naive(argv), r1=True).dumpfile == "-roi"   # what appending would do under R1
    p = place(argv, roi=ROI, trace_pixel=TP)
    assert p.where == "prepended"
    assert parse_argv(p.argv, r1=True).dumpfile == "Fdump.bin"
    assert_same_config(argv, p.argv)


@pytest.mark.parametrize("tail", [["-spindle_axis", "-1", "0", "0"], ["-phi", "-5"], ["-twotheta", "-0.5"],
                                  ["-Xbeam", "-1e-3", "-Ybeam", "-inf"]])
def test_values_that_look_like_options_are_appended_after(tail):
    argv = BASE + tail
    p = place(argv, roi=ROI, trace_pixel=TP)
    assert p.where == "appended" and p.argv == naive(argv)
    assert_same_config(argv, p.argv)
    if tail[0] == "-spindle_axis":
        assert parse_argv(p.argv).spindle_axis == (-1.0, 0.0, 0.0)


def test_user_roi_then_dangling_option_inserts_between():
    argv = BASE + ["-roi", "0", "10", "0", "10", "-misset_seed", "3"]
    p = place(argv, roi=ROI, trace_pixel=TP)
    # appended breaks -misset_seed, prepended loses to the user's -roi: the boundary after the user's -roi
    assert p.where == f"inserted before token {len(argv) - 2}"
    assert p.argv[-2:] == ["-misset_seed", "3"]
    assert_same_config(argv, p.argv)


def test_a_region_that_cannot_be_placed_falls_back_to_the_full_frame():
    # adversarial, but possible: the user's own (incomplete) -trace_pixel reads the misset's tokens
    argv = ["-misset_seed", "-trace_pixel", "-misset", "1"]
    p = place(argv, roi=ROI, trace_pixel=(1, 1))
    assert p.roi is None and p.trace_pixel == (1, 1) and not p.narrowed
    assert "changes how it parses" in p.reason and "full frame" in p.reason
    for r1 in (True, False):
        u, c = parse_argv(argv, r1=r1), parse_argv(p.argv, r1=r1)
        assert configuration(c, IGNORE) == configuration(u, IGNORE) and c.trace_pixel == (1, 1)
        assert c.roi == u.roi


def test_nothing_placeable_adds_nothing_and_with_pixel_refuses():
    argv = ["-dump_pixel", "-spindle_axis", "-misset"]
    p = place(argv, roi=ROI, trace_pixel=TP)
    assert p.argv == argv and p.trace_pixel is None and "nothing was added" in p.reason
    with pytest.raises(UsageError, match="cannot trace this argv"):
        with_pixel(argv, *TP, ROI)


def test_runners_with_pixel_is_the_placement():
    from nbparity.runners import with_pixel as runners_with_pixel

    argv = BASE + ["-misset", "random", "-misset_seed", "3"]
    assert runners_with_pixel(argv, *TP, ROI) == place(argv, roi=ROI, trace_pixel=TP).argv


def test_one_line_verification_accepts_what_only_that_line_allows():
    # -dump_pixel 7 8 is the R2 trace pixel: under R2 alone the appended tokens override it harmlessly
    argv = BASE + ["-dump_pixel", "7", "8"]
    p = place(argv, roi=ROI, trace_pixel=TP, lines=("R2",))
    assert p.where == "appended" and p.lines == ("R2",)
    assert parse_argv(p.argv, r1=False).trace_pixel == TP


def test_output_names_are_verified_too():
    argv = BASE + ["-floatfile", "mine.bin"]
    p = place(argv, outputs={"-floatfile": "theirs.bin"})
    assert parse_argv(p.argv).floatfile == "theirs.bin" and p.where == "appended"
    user = dataclasses.replace(parse_argv(argv))
    assert configuration(parse_argv(p.argv), {"floatfile"}) == configuration(user, {"floatfile"})


# options that read following tokens, values that look like options, and the harness's own flags
_TOKENS = ["-misset", "-misset_seed", "-dump_pixel", "-dump", "-trace_pixel", "-roi", "-spindle_axis", "-cell",
           "-lambda", "-phi", "-floatfile", "-img", "rand", "random", "-1", "0", "3", "-0.5", "x.bin"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=9))
def test_any_placement_reported_is_proven_by_the_parser(tail):
    argv = BASE + tail
    p = place(argv, roi=ROI, trace_pixel=TP)
    want_roi = p.roi
    for r1 in (True, False):
        u, c = parse_argv(argv, r1=r1), parse_argv(p.argv, r1=r1)
        assert configuration(c, IGNORE) == configuration(u, IGNORE)
        assert c.roi == (want_roi if want_roi is not None else u.roi)
        if p.trace_pixel is not None:
            assert c.trace_pixel == TP
    assert (p.roi is None) == bool(p.reason) or p.trace_pixel is None
