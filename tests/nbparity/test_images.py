"""Image metrics on known arrays: every expected number is worked out by hand in the comments."""

import numpy as np
import pytest

from nbparity.images import (MetricOptions, Thresholds, evaluate, float32_ulp_distance, image_metrics,
                             match_peaks, local_maxima)


def gaussian_spot(shape=(32, 32), centre=(10, 20), sigma=1.5, height=1000.0):
    s, f = np.indices(shape)
    return (height * np.exp(-((s - centre[0]) ** 2 + (f - centre[1]) ** 2) / (2 * sigma ** 2))
            + 1.0).astype(np.float32)


def test_identical_images_are_exact():
    c = gaussian_spot()
    v = evaluate(c, c.copy())
    m = v.metrics
    assert m["corr"] == 1.0
    assert m["sum_ratio"] == 1.0
    assert m["max_abs_diff"] == 0.0 and m["rmse"] == 0.0
    assert m["ulp_histogram"] == {"0": 32 * 32, "1": 0, "2-4": 0, "5-16": 0, ">16": 0}
    assert m["outside_tolerance"] == 0
    assert m["peaks"]["matched"] == 1 and m["peaks"]["max_distance_px"] == 0.0
    assert v.ok and all(g["ok"] for g in v.gates)


def test_one_ulp_shift_is_counted_and_within_default_tolerance():
    c = gaussian_spot()
    p = c.copy()
    p[3, 4] = np.nextafter(c[3, 4], np.float32(np.inf))
    m = image_metrics(c, p)
    assert m["ulp_histogram"]["1"] == 1 and m["ulp_histogram"]["0"] == 32 * 32 - 1
    assert m["max_abs_diff_pixel"] == {"slow": 3, "fast": 4}
    # the gap equals the float32 spacing at c[3, 4] exactly
    assert m["max_abs_diff"] == float(np.spacing(c[3, 4]))
    assert m["outside_tolerance"] == 0  # default pixel tolerance is 1 ulp


def test_ulp_buckets_and_sign_crossing():
    one = np.float32(1.0)
    a = np.array([one, one, one, one, one, 0.0], dtype=np.float32)
    b = a.copy()
    for i, n in enumerate([0, 3, 10, 100]):
        x = one
        for _ in range(n):
            x = np.nextafter(x, np.float32(2))
        b[i + 1] = x
    b[5] = -0.0  # +0 and -0 are the same number
    u = float32_ulp_distance(a, b)
    assert u.tolist() == [0, 0, 3, 10, 100, 0]
    # smallest positive and smallest negative subnormal are two ulps apart (through zero)
    tiny = np.float32(np.nextafter(np.float32(0), np.float32(1)))
    assert float32_ulp_distance(np.array([tiny]), np.array([-tiny])).tolist() == [2]
    m = image_metrics(a.reshape(2, 3), b.reshape(2, 3))
    assert m["ulp_histogram"] == {"0": 3, "1": 0, "2-4": 1, "5-16": 1, ">16": 1}
    assert m["outside_tolerance"] == 3


def test_shifted_peak_is_matched_one_pixel_away():
    c = gaussian_spot(centre=(10, 20))
    p = gaussian_spot(centre=(11, 20))
    m = image_metrics(c, p)
    assert m["peaks"]["n_c"] == 1 and m["peaks"]["n_torch"] == 1
    assert m["peaks"]["matched"] == 1
    assert m["peaks"]["mean_distance_px"] == 1.0 and m["peaks"]["max_distance_px"] == 1.0
    assert m["corr"] < 1.0
    assert not evaluate(c, p).ok


def test_peak_beyond_radius_is_unmatched():
    pc = np.array([[0, 0], [10, 10]])
    pp = np.array([[0, 3], [10, 11]])
    r = match_peaks(pc, pp, radius=2.0)
    assert r["matched"] == 1 and r["unmatched_c"] == 1 and r["unmatched_torch"] == 1
    assert r["max_distance_px"] == 1.0


def test_local_maxima_threshold():
    img = np.zeros((5, 5))
    img[2, 2] = 5.0
    img[0, 4] = 1.0
    assert local_maxima(img, 2.0).tolist() == [[2, 2]]
    assert local_maxima(img, 0.5).tolist() == [[0, 4], [2, 2]]


def test_sum_ratio_rmse_relative_and_origin():
    c = np.full((4, 4), 2.0, dtype=np.float32)
    c[1, 2] = 1000.0
    p = c.copy()
    p[1, 2] = 1001.0
    m = image_metrics(c, p, MetricOptions(rel_floor_frac=1e-3), origin=(100, 200))
    assert m["sum_ratio"] == pytest.approx((15 * 2 + 1001) / (15 * 2 + 1000), rel=1e-15)
    assert m["rmse"] == pytest.approx(np.sqrt(1.0 / 16), rel=1e-15)
    assert m["max_rel_diff"] == pytest.approx(1e-3, rel=1e-12)   # 1/1000 on the one pixel above floor
    assert m["max_abs_diff_pixel"] == {"slow": 101, "fast": 202}
    assert m["worst_pixels"][0]["slow"] == 101


def test_nan_fails_every_gate_it_reaches():
    c = gaussian_spot()
    p = c.copy()
    p[0, 0] = np.nan
    v = evaluate(c, p)
    assert not v.ok
    assert v.metrics["nonfinite_torch"] == 1
    assert v.metrics["max_abs_diff_pixel"] == {"slow": 0, "fast": 0}
    assert v.metrics["ulp_histogram"][">16"] == 1


def test_thresholds_overlay_and_validation():
    t = Thresholds.from_mapping({"corr_min": 0.99, "max_abs_max": 0.5})
    assert t.corr_min == 0.99 and t.max_abs_max == 0.5 and t.sum_ratio_max == 1 + 1e-9
    with pytest.raises(ValueError, match="unknown threshold 'corr'"):
        Thresholds.from_mapping({"corr": 1})
    with pytest.raises(ValueError, match="must be a number"):
        Thresholds.from_mapping({"corr_min": "high"})


def test_max_abs_default_is_one_ulp_of_max():
    c = gaussian_spot()
    p = c.copy()
    k = np.unravel_index(np.argmax(c), c.shape)
    p[k] = np.nextafter(np.nextafter(c[k], np.float32(np.inf)), np.float32(np.inf))  # 2 ulps
    v = evaluate(c, p)
    gate = {g["gate"]: g for g in v.gates}["max_abs_diff"]
    assert gate["limit"] == float(np.spacing(np.float32(c.max())))
    assert gate["value"] == 2 * gate["limit"] and not gate["ok"]
    assert v.metrics["outside_tolerance"] == 1


# ----------------------------------------------------------------------------- the five-state judgement


def _judge(c, p, allow_empty=False):
    from nbparity.flows.image_judge import image_judgement, measure

    full = (0, c.shape[0] - 1, 0, c.shape[1] - 1)
    return image_judgement(measure(c, p, full, Thresholds(), MetricOptions()), c, p, allow_empty)


def test_image_judgement_states():
    c = gaussian_spot()
    assert _judge(c, c.copy()).verdict.value == "identical"
    p = c.copy()
    p[3, 4] = np.nextafter(c[3, 4], np.float32(np.inf))              # one pixel one ulp away (not the max)
    j = _judge(c, p)
    assert j.verdict.value == "within_tolerance" and j.exit_code == 0
    assert j.reason == "every gate passes; 1023 of 1024 pixels bit-identical, max 1 float32 ulps apart"
    p[10, 20] *= np.float32(1.5)                                       # the spot's peak
    j = _judge(c, p)
    assert j.verdict.value == "divergent" and j.exit_code == 1 and "max_abs_diff" in j.reason


def test_image_judgement_empty_and_missing_images():
    zero = np.zeros((4, 4), np.float32)
    j = _judge(zero, zero.copy())
    assert j.verdict.value == "incomplete" and j.exit_code == 1
    assert j.reason == "both images are empty (all 16 compared pixels zero or not finite)"
    assert _judge(zero, zero.copy(), allow_empty=True).verdict.value == "identical"
    nan = np.full((4, 4), np.nan, np.float32)
    assert _judge(nan, nan.copy()).verdict.value == "incomplete"        # nothing finite on either side
    assert _judge(gaussian_spot(), np.zeros((32, 32), np.float32)).verdict.value == "divergent"

    from nbparity.flows.image_judge import image_judgement

    j = image_judgement(None, zero, None, False)
    assert j.verdict.value == "incomplete" and "the torch side wrote no float image" in j.reason
