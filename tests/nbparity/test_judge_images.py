"""The five-state judgement of float images (nbparity.images.judge_image) and of the traced pixel's value
(nbparity.judge_pixel): identical only when bit-equal, incomplete when there is nothing to compare."""

import numpy as np
import pytest

from nbparity.images import evaluate, judge_image, judge_image_pair
from nbparity.judge_pixel import FLOAT32_PIXEL_RTOL, judge_pixel
from nbparity.verdict import Verdict

from .test_images import gaussian_spot


def test_bit_identical_images_are_identical():
    c = gaussian_spot()
    j = judge_image(evaluate(c, c.copy()))
    assert j.verdict is Verdict.IDENTICAL and j.reason == "all 1024 pixels bit-identical" and j.exit_code == 0


def test_one_ulp_apart_is_within_tolerance_and_beyond_the_gates_divergent():
    c = gaussian_spot()
    p = c.copy()
    p[3, 4] = np.nextafter(c[3, 4], np.float32(np.inf))
    j = judge_image(evaluate(c, p))
    assert j.verdict is Verdict.WITHIN_TOLERANCE
    assert j.reason == "all gates pass (1 of 1024 pixels differ, at most 1 float32 ulps)"
    p[10, 20] *= np.float32(1.01)
    v = evaluate(c, p)
    j = judge_image(v)
    assert j.verdict is Verdict.DIVERGENT and j.exit_code == 1 and "outside_tolerance=1 (limit <= 0)" in j.reason
    assert not v.ok   # the ImageVerdict its callers use is unchanged


def test_all_zero_images_are_incomplete_unless_allow_empty():
    z = np.zeros((8, 8), np.float32)
    v = evaluate(z, z.copy())
    assert v.ok   # every gate passes on two zero images: that proves nothing
    j = judge_image(v)
    assert j.verdict is Verdict.INCOMPLETE and j.exit_code == 1
    assert j.reason == ("both images hold no finite non-zero pixel (64 pixels, 0 / 0 non-finite): nothing was "
                        "compared (--allow-empty accepts it)")
    assert v.judgement(allow_empty=True).verdict is Verdict.IDENTICAL


def test_all_nan_images_are_incomplete():
    n = np.full((4, 4), np.nan, np.float32)
    j = judge_image(evaluate(n, n.copy()))
    assert j.verdict is Verdict.INCOMPLETE and "(16 pixels, 16 / 16 non-finite)" in j.reason


def test_an_image_zero_on_one_side_only_is_divergent():
    c = gaussian_spot()
    j = judge_image(evaluate(c, np.zeros_like(c)), allow_empty=True)
    assert j.verdict is Verdict.DIVERGENT
    assert j.reason == "the torch image holds no finite non-zero pixel, the C image has 1024"


def test_a_missing_image_is_incomplete():
    j, v = judge_image_pair(None, gaussian_spot())
    assert v is None and j.verdict is Verdict.INCOMPLETE and j.reason == "C float image missing: not compared"


def test_pixel_value_rule():
    one = np.float32(1.0)
    up1 = float(np.nextafter(one, np.float32(2)))
    assert judge_pixel(1.0, 1.0).verdict is Verdict.IDENTICAL
    j = judge_pixel(1.0, up1)
    assert j.verdict is Verdict.WITHIN_TOLERANCE and "1 float32 ulps apart" in j.reason and "image gate" in j.reason
    up2 = float(np.nextafter(np.float32(up1), np.float32(2)))
    assert judge_pixel(1.0, up2).verdict is Verdict.DIVERGENT           # 2 ulps: beyond the 1-ulp gate
    # float32 torch runs: the project's float32 criterion, 1e-5 relative
    assert FLOAT32_PIXEL_RTOL == 1e-5
    assert judge_pixel(1.0, 1.000009, "float32").verdict is Verdict.WITHIN_TOLERANCE
    assert judge_pixel(1.0, 1.00002, "float32").verdict is Verdict.DIVERGENT
    assert judge_pixel(1.0, 1.00002, rtol=1e-4).verdict is Verdict.WITHIN_TOLERANCE
    # -0 and +0 are 0 ulps apart but not the same bits
    assert judge_pixel(0.0, -0.0).verdict is Verdict.WITHIN_TOLERANCE


@pytest.mark.parametrize("c,p,verdict", [
    (None, 1.0, Verdict.INCOMPLETE), (1.0, None, Verdict.INCOMPLETE),
    (float("nan"), float("nan"), Verdict.INCOMPLETE), (float("inf"), float("inf"), Verdict.INCOMPLETE),
    (float("inf"), float("-inf"), Verdict.DIVERGENT), (float("nan"), 1.0, Verdict.DIVERGENT),
    (1.0, float("inf"), Verdict.DIVERGENT),
])
def test_pixel_value_missing_or_not_finite(c, p, verdict):
    j = judge_pixel(c, p)
    assert j.verdict is verdict and j.exit_code == 1
    if verdict is Verdict.INCOMPLETE and c is not None and p is not None:
        assert j.reason.endswith("not finite on both sides, nothing to compare")
