"""Tests of sarxai_utils.localization: boxes from maps, IoU, MaxBoxAcc(V2), GT-known / Top-1 Loc, mask IoU, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from sarxai_utils import cam as cam_module
from sarxai_utils import localization
from sarxai_utils.localization import (
    CHOE_THRESHOLDS,
    EMPTY_BOX,
    BoxAccuracy,
    BoxAccuracyV2,
    box_iou,
    box_ious,
    cam_to_box,
    gt_known_loc,
    mask_iou,
    max_box_acc,
    max_box_acc_v2,
    threshold_curve,
    top1_loc,
)


def _one_blob() -> np.ndarray:
    """A 20 x 30 map with one blob: rows 4-9, columns 6-14 at 1, a weaker rim around it at 0.4."""
    cam = np.zeros((20, 30))
    cam[3:11, 5:16] = 0.4
    cam[4:10, 6:15] = 1.0
    return cam


def _two_blobs() -> np.ndarray:
    """Two separate blobs: a small bright one (rows 2-5, cols 3-7, value 1) and a large dimmer one (rows 10-17,
    cols 12-24, value 0.8)."""
    cam = np.zeros((20, 30))
    cam[2:6, 3:8] = 1.0
    cam[10:18, 12:25] = 0.8
    return cam


SMALL = [3, 2, 7, 5]
LARGE = [12, 10, 24, 17]


# ---------------------------------------------------------------------------------------------------------------
# cam_to_box
# ---------------------------------------------------------------------------------------------------------------
def test_one_blob_box_at_each_threshold():
    cam = _one_blob()
    np.testing.assert_array_equal(cam_to_box(cam, 0.5), [6, 4, 14, 9])
    np.testing.assert_array_equal(cam_to_box(cam, 1.0), [6, 4, 14, 9])  # only the maximum pixels
    np.testing.assert_array_equal(cam_to_box(cam, 0.4), [5, 3, 15, 10])  # the rim counts (>=)
    np.testing.assert_array_equal(cam_to_box(cam, 0.0), [0, 0, 29, 19])  # every pixel: the whole image
    box = cam_to_box(cam, 0.5)
    assert box.dtype == np.int64 and box.shape == (4,)


def test_box_is_invariant_to_scale_and_offset_of_the_map():
    cam = _one_blob()
    for threshold in (0.2, 0.5, 0.9):
        np.testing.assert_array_equal(cam_to_box(3 * cam - 7, threshold), cam_to_box(cam, threshold))
    np.testing.assert_array_equal(cam_to_box(torch.tensor(cam, dtype=torch.float32), 0.5), [6, 4, 14, 9])


def test_two_blobs_largest_component_against_multi_contour():
    cam = _two_blobs()
    # at 0.5 both blobs are kept: the larger one (104 pixels against 20) gives the box
    np.testing.assert_array_equal(cam_to_box(cam, 0.5), LARGE)
    np.testing.assert_array_equal(cam_to_box(cam, 0.5, multi_contour=True), [LARGE, SMALL])  # largest first
    # above 0.8 only the bright small blob remains
    np.testing.assert_array_equal(cam_to_box(cam, 0.9), SMALL)
    np.testing.assert_array_equal(cam_to_box(cam, 0.9, multi_contour=True), [SMALL])


def test_components_are_eight_connected():
    cam = np.zeros((6, 6))
    cam[1, 1] = cam[2, 2] = cam[3, 3] = 1.0  # a diagonal: one component with 8-connectivity
    cam[5, 0] = 1.0  # isolated
    np.testing.assert_array_equal(cam_to_box(cam, 0.5), [1, 1, 3, 3])
    assert cam_to_box(cam, 0.5, multi_contour=True).shape == (2, 4)


def test_tie_goes_to_the_first_component_in_row_major_order():
    cam = np.zeros((10, 10))
    cam[6:8, 1:3] = 1.0  # same size, lower
    cam[1:3, 6:8] = 1.0  # same size, met first in row-major order
    np.testing.assert_array_equal(cam_to_box(cam, 0.5), [6, 1, 7, 2])


def test_empty_and_constant_maps_give_the_empty_box():
    for cam in (np.zeros((8, 8)), np.full((8, 8), 3.5), np.full((8, 8), -2.0)):
        for threshold in (0.0, 0.5, 1.0):
            np.testing.assert_array_equal(cam_to_box(cam, threshold), EMPTY_BOX)
            np.testing.assert_array_equal(cam_to_box(cam, threshold, multi_contour=True), [EMPTY_BOX])
    assert box_iou(EMPTY_BOX, [0, 0, 7, 7]) == 0.0
    assert box_iou(EMPTY_BOX, EMPTY_BOX) == 0.0


def test_single_pixel_map():
    cam = np.zeros((5, 7))
    cam[3, 4] = 2.0
    np.testing.assert_array_equal(cam_to_box(cam, 0.5), [4, 3, 4, 3])


# ---------------------------------------------------------------------------------------------------------------
# box_iou
# ---------------------------------------------------------------------------------------------------------------
def test_box_iou_known_values():
    assert box_iou([2, 3, 8, 9], [2, 3, 8, 9]) == 1.0
    assert box_iou([0, 0, 4, 4], [5, 5, 9, 9]) == 0.0  # disjoint
    assert box_iou([0, 0, 4, 4], [5, 0, 9, 4]) == 0.0  # touching sides share no pixel
    # inclusive bounds: [0..9] x [0..9] is 100 pixels, [5..14] x [5..14] too, they share [5..9]^2 = 25 pixels
    assert box_iou([0, 0, 9, 9], [5, 5, 14, 14]) == pytest.approx(25 / 175)
    # one shared column of 3 pixels: [0..2] x [0..2] (9) and [2..4] x [0..2] (9) -> 3 / 15
    assert box_iou([0, 0, 2, 2], [2, 0, 4, 2]) == pytest.approx(3 / 15)
    # a single pixel inside a 2 x 2 box
    assert box_iou([1, 1, 1, 1], [1, 1, 2, 2]) == pytest.approx(1 / 4)
    # containment: 3 x 4 = 12 pixels inside 10 x 10 = 100
    assert box_iou([2, 2, 4, 5], [0, 0, 9, 9]) == pytest.approx(12 / 100)


def test_box_iou_shapes():
    a = np.array([[0, 0, 9, 9], [5, 5, 14, 14], [-1, -1, -1, -1]])
    ious = box_iou(a, [0, 0, 9, 9])
    assert ious.shape == (3,)
    np.testing.assert_allclose(ious, [1.0, 25 / 175, 0.0])
    np.testing.assert_allclose(box_iou(a, a), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(box_iou([0, 0, 9, 9], a), ious)  # symmetric
    assert isinstance(box_iou([0, 0, 1, 1], [0, 0, 1, 1]), float)


def test_box_iou_errors():
    with pytest.raises(ValueError, match=r"a must have shape \(4,\) or \(N, 4\)"):
        box_iou([0, 0, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="b must be"):
        box_iou([0, 0, 1, 1], [3, 0, 1, 1])  # x0 > x1
    with pytest.raises(ValueError, match="b must be"):
        box_iou([0, 0, 1, 1], [-2, 0, 1, 1])
    with pytest.raises(ValueError, match="a must hold integer"):
        box_iou([0, 0, 1.5, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="a must hold integer"):
        box_iou([0, 0, np.nan, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="same number of boxes"):
        box_iou(np.zeros((2, 4), int), np.zeros((3, 4), int))


# ---------------------------------------------------------------------------------------------------------------
# MaxBoxAcc, MaxBoxAccV2, curves
# ---------------------------------------------------------------------------------------------------------------
def _dataset() -> tuple[np.ndarray, np.ndarray]:
    """Three maps: two blobs with the large blob as target, two blobs with the small blob as target, a constant."""
    cams = np.stack([_two_blobs(), _two_blobs(), np.zeros((20, 30))])
    boxes = np.array([LARGE, SMALL, [0, 0, 3, 3]])
    return cams, boxes


def test_box_ious_table():
    cams, boxes = _dataset()
    table = box_ious(cams, boxes, [0.0, 0.5, 0.9])
    union_box_iou = box_iou([0, 0, 29, 19], LARGE)
    np.testing.assert_allclose(table[0], [union_box_iou, 1.0, 0.0])
    np.testing.assert_allclose(table[1], [box_iou([0, 0, 29, 19], SMALL), 0.0, 1.0])
    np.testing.assert_allclose(table[2], [0.0, 0.0, 0.0])  # constant map: empty box at every threshold
    multi = box_ious(cams, boxes, [0.0, 0.5, 0.9], multi_contour=True)
    np.testing.assert_allclose(multi[:, 1], [1.0, 1.0, 0.0])  # the small blob's own box matches at 0.5


def test_max_box_acc_known_answer():
    cams, boxes = _dataset()
    result = max_box_acc(cams, boxes, [0.0, 0.5, 0.9])
    assert isinstance(result, BoxAccuracy)
    np.testing.assert_allclose(result.curve, [0.0, 1 / 3, 1 / 3])
    assert result.accuracy == pytest.approx(1 / 3)
    assert result.threshold == 0.5  # the first threshold that reaches the best accuracy
    assert result.iou == 0.5 and not result.multi_contour
    np.testing.assert_array_equal(result.thresholds, [0.0, 0.5, 0.9])
    multi = max_box_acc(cams, boxes, [0.0, 0.5, 0.9], multi_contour=True)
    assert multi.accuracy == pytest.approx(2 / 3) and multi.threshold == 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.accuracy = 1.0  # type: ignore[misc]


def test_max_box_acc_one_blob_and_iou_level():
    cam = _one_blob()
    boxes = np.array([[5, 3, 15, 10]])  # the rim's box
    result = max_box_acc(cam[None], boxes, CHOE_THRESHOLDS)
    assert result.accuracy == 1.0
    assert result.curve.shape == (100,)
    # rim box 11 x 8 = 88 pixels; core box 9 x 6 = 54 -> IoU 54 / 88 = 0.61: correct at 0.5, not at 0.7
    assert result.curve[CHOE_THRESHOLDS.tolist().index(0.4)] == 1.0
    assert result.curve[CHOE_THRESHOLDS.tolist().index(0.5)] == 1.0
    strict = max_box_acc(cam[None], boxes, [0.5], iou=0.7)
    assert strict.accuracy == 0.0
    np.testing.assert_allclose(threshold_curve(cam[None], boxes, [0.3, 0.5], iou=0.7), [1.0, 0.0])


def test_max_box_acc_v2_known_answer():
    cams, boxes = _dataset()
    result = max_box_acc_v2(cams, boxes, [0.0, 0.5, 0.9])
    assert isinstance(result, BoxAccuracyV2)
    assert [level.iou for level in result.levels] == [0.3, 0.5, 0.7]
    assert all(level.multi_contour for level in result.levels)
    # at 0.5 both blobs' own boxes exist: images 0 and 1 match exactly at every IoU level, the constant map never
    assert [level.accuracy for level in result.levels] == pytest.approx([2 / 3] * 3)
    assert result.accuracy == pytest.approx(2 / 3)
    # a shifted ground truth: IoU 0.52 with the large blob's box counts at 0.3 and 0.5 but not at 0.7
    shifted = np.array([[12, 10, 24, 17], [16, 10, 28, 17]])
    iou = box_iou(shifted[1], LARGE)
    assert 0.5 < iou < 0.7
    v2 = max_box_acc_v2(np.stack([_two_blobs(), _two_blobs()]), shifted, [0.5])
    assert [level.accuracy for level in v2.levels] == [1.0, 1.0, 0.5]
    assert v2.accuracy == pytest.approx(2.5 / 3)


def test_gt_known_and_top1_loc():
    cams, boxes = _dataset()
    assert gt_known_loc(cams, boxes, 0.5) == pytest.approx(1 / 3)
    assert gt_known_loc(cams, boxes, 0.5, multi_contour=True) == pytest.approx(2 / 3)
    assert gt_known_loc(cams, boxes, 0.9) == pytest.approx(1 / 3)
    labels = np.array([1, 2, 3])
    assert top1_loc(cams, boxes, labels, labels, 0.5) == pytest.approx(1 / 3)
    assert top1_loc(cams, boxes, np.array([0, 2, 3]), labels, 0.5) == 0.0  # image 0 localised but misclassified
    assert top1_loc(cams, boxes, torch.tensor([1, 0, 3]), torch.tensor([1, 2, 3]), 0.5) == pytest.approx(1 / 3)


def test_mask_iou():
    cam = _one_blob()
    mask = np.zeros((20, 30), bool)
    mask[4:10, 6:15] = True
    np.testing.assert_allclose(mask_iou(cam[None], mask[None], 0.5), [1.0])
    np.testing.assert_allclose(mask_iou(cam[None], mask[None], 0.2), [54 / 88])  # the rim is kept too
    np.testing.assert_allclose(mask_iou(np.zeros((1, 20, 30)), mask[None], 0.0), [0.0])  # constant keeps nothing
    np.testing.assert_allclose(mask_iou(cam[None], mask[None], 0.0), [54 / 600])  # threshold 0 keeps everything


# ---------------------------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------------------------
def test_bad_input_names_the_argument():
    cams, boxes = _dataset()
    with pytest.raises(ValueError, match=r"cam must have shape \(H, W\)"):
        cam_to_box(cams, 0.5)
    with pytest.raises(ValueError, match="cam contains NaN"):
        cam_to_box(np.full((4, 4), np.nan), 0.5)
    bad = cams.copy()
    bad[1, 3, 3] = np.nan
    with pytest.raises(ValueError, match="cams contains NaN"):
        max_box_acc(bad, boxes, [0.5])
    bad[1, 3, 3] = np.inf
    with pytest.raises(ValueError, match="cams contains NaN or inf"):
        box_ious(bad, boxes, [0.5])
    for threshold in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="threshold must lie in"):
            cam_to_box(cams[0], threshold)
        with pytest.raises(ValueError, match="threshold must lie in"):
            gt_known_loc(cams, boxes, threshold)
    with pytest.raises(ValueError, match="threshold must be a number"):
        cam_to_box(cams[0], "0.5")
    with pytest.raises(ValueError, match=r"thresholds must lie in \[0, 1\]"):
        max_box_acc(cams, boxes, [0.2, 1.2])
    with pytest.raises(ValueError, match="thresholds must be a non-empty"):
        max_box_acc(cams, boxes, [])
    with pytest.raises(ValueError, match="iou must lie in"):
        max_box_acc(cams, boxes, [0.5], iou=0.0)
    with pytest.raises(ValueError, match="iou must lie in"):
        max_box_acc_v2(cams, boxes, [0.5], ious=(0.3, 1.3))
    with pytest.raises(ValueError, match="boxes must have shape .N, 4. with one box per map"):
        max_box_acc(cams, boxes[:2], [0.5])
    with pytest.raises(ValueError, match=r"cams must have shape \(N, H, W\)"):
        max_box_acc(cams[0], boxes[:1], [0.5])
    with pytest.raises(ValueError, match="boxes .1. reach outside"):
        max_box_acc(cams, np.array([LARGE, [0, 0, 30, 5], [0, 0, 1, 1]]), [0.5])
    with pytest.raises(ValueError, match="boxes contains the empty box"):
        max_box_acc(cams, np.array([LARGE, [-1, -1, -1, -1], SMALL]), [0.5])
    with pytest.raises(ValueError, match="multi_contour must be True or False"):
        cam_to_box(cams[0], 0.5, multi_contour=1)
    with pytest.raises(ValueError, match="cams must hold real numbers"):
        max_box_acc(cams > 0, boxes, [0.5])
    with pytest.raises(ValueError, match=r"predictions must have shape \(3,\)"):
        top1_loc(cams, boxes, [1, 2], [1, 2, 3], 0.5)
    with pytest.raises(ValueError, match="labels must hold integer"):
        top1_loc(cams, boxes, [1, 2, 3], [1.0, 2.0, 3.0], 0.5)
    mask = np.zeros(cams.shape, bool)
    with pytest.raises(ValueError, match=r"masks \[0, 1, 2\] are empty"):
        mask_iou(cams, mask, 0.5)
    with pytest.raises(ValueError, match="masks must have the cams' shape"):
        mask_iou(cams, mask[:2], 0.5)
    with pytest.raises(ValueError, match="masks must be boolean"):
        mask_iou(cams, mask.astype(int), 0.5)


def test_box_area_inclusive_bounds_and_empty_box():
    from sarxai_utils.localization import box_area

    assert box_area([3, 4, 3, 4]) == 1
    assert box_area(np.array([0, 0, 9, 4])) == 50
    np.testing.assert_array_equal(box_area([[0, 0, 1, 1], list(EMPTY_BOX)]), [4, 0])
    with pytest.raises(ValueError, match="boxes"):
        box_area([1, 2, 3])


def test_image_alone_references():
    torch.manual_seed(0)
    x = torch.rand(3, 2, 32, 32) * 2 - 1
    x[0, :, 4:10, 20:28] = 1.0  # a bright block
    block = localization.image_alone(x, q=8)
    blur = localization.image_alone(x, blur_sigma=1.5)
    for maps in (block, blur):
        assert maps.shape == (3, 32, 32) and maps.dtype == np.float32
        assert maps.min() >= 0 and maps.max() <= 1
        y, xx = np.unravel_index(np.argmax(maps[0]), (32, 32))
        assert 3 <= y <= 10 and 19 <= xx <= 28, "the brightest place is the bright block"
    expect = cam_module.normalize(cam_module.upsample(cam_module.matching_image(x, (8, 8))[:, 0], (32, 32))).numpy()
    np.testing.assert_allclose(block, expect, atol=1e-6)  # MS-CAM's matching image at Q = 8
    with pytest.raises(ValueError, match="exactly one"):
        localization.image_alone(x)
    with pytest.raises(ValueError, match="exactly one"):
        localization.image_alone(x, q=4, blur_sigma=1.0)
    for bad in (0, 33, 2.5, True):
        with pytest.raises(ValueError, match="q must"):
            localization.image_alone(x, q=bad)
    with pytest.raises(ValueError, match="blur_sigma"):
        localization.image_alone(x, blur_sigma=-1.0)
    with pytest.raises(ValueError, match="images"):
        localization.image_alone(x[0], q=4)


def test_paired_bootstrap():
    rng = np.random.default_rng(1)
    a = rng.random(400) < 0.8
    b = rng.random(400) < 0.5
    res = localization.paired_bootstrap(a, b, n_boot=500, seed=0)
    assert res.difference == pytest.approx(a.mean() - b.mean())
    assert res.low < res.difference < res.high and res.verdict == "A"
    assert localization.paired_bootstrap(b, a, 500).verdict == "B"
    same = localization.paired_bootstrap(a, a, 200)
    assert same.difference == same.low == same.high == 0 and same.verdict == "tie"
    again = localization.paired_bootstrap(a, b, n_boot=500, seed=0)
    assert (again.low, again.high) == (res.low, res.high), "same seed, same interval"
    with pytest.raises(ValueError, match="boolean"):
        localization.paired_bootstrap(a.astype(int), b)
    with pytest.raises(ValueError, match="one length"):
        localization.paired_bootstrap(a, b[:10])
    with pytest.raises(ValueError, match="n_boot"):
        localization.paired_bootstrap(a, b, n_boot=0)
    with pytest.raises(ValueError, match="level"):
        localization.paired_bootstrap(a, b, level=1.5)


def test_score_maps_equals_the_single_functions_from_one_labelling(monkeypatch):
    rng = np.random.default_rng(3)
    from scipy import ndimage

    cams = ndimage.gaussian_filter(rng.random((12, 32, 32)), (0, 2, 2))
    cams[3] = 0.0  # a constant map: empty boxes
    boxes = np.array([[4 + k, 5, 20 + k, 25] for k in range(12)])
    masks = np.zeros((12, 32, 32), bool)
    masks[:, 6:20, 6:22] = True
    predictions, labels = rng.integers(0, 3, 12), rng.integers(0, 3, 12)
    thresholds = np.round(np.arange(0, 1, 0.05), 2)
    calls = []
    real = localization._components
    monkeypatch.setattr(localization, "_components", lambda c, t: calls.append(len(t)) or real(c, t))
    got = localization.score_maps(cams, boxes, thresholds, 0.5, predictions=predictions, labels=labels, masks=masks)
    assert calls == [len(thresholds)] * 12  # one labelling per map, every threshold at once
    best = localization.max_box_acc(cams, boxes, thresholds, iou=0.5)
    v2 = localization.max_box_acc_v2(cams, boxes, thresholds)
    assert (got.best.accuracy, got.best.threshold) == (best.accuracy, best.threshold)
    np.testing.assert_array_equal(got.best.curve, best.curve)
    assert got.v2.accuracy == v2.accuracy
    for a, b in zip(got.v2.levels, v2.levels, strict=True):
        np.testing.assert_array_equal(a.curve, b.curve)
    np.testing.assert_array_equal(got.ious, localization.box_ious(cams, boxes, [best.threshold])[:, 0])
    assert got.top1 == localization.top1_loc(cams, boxes, predictions, labels, best.threshold, 0.5)
    assert got.mask_iou == localization.mask_iou(cams, masks, best.threshold).mean()
    bare = localization.score_maps(cams, boxes, thresholds)
    assert np.isnan(bare.top1) and np.isnan(bare.mask_iou) and bare.best.accuracy == got.best.accuracy


def test_score_maps_bad_input():
    cams, boxes = np.random.default_rng(0).random((2, 8, 8)), np.array([[0, 0, 3, 3], [1, 1, 4, 4]])
    with pytest.raises(ValueError, match="both predictions and labels"):
        localization.score_maps(cams, boxes, predictions=np.array([0, 1]))
    with pytest.raises(ValueError, match="predictions must have shape"):
        localization.score_maps(cams, boxes, predictions=np.array([0]), labels=np.array([0]))
    with pytest.raises(ValueError, match="ious must name"):
        localization.score_maps(cams, boxes, ious=())
    with pytest.raises(ValueError, match="boxes must have shape"):
        localization.score_maps(cams, boxes[:1])


def test_box_iou_tables_in_worker_processes_equal_one_process():
    from scipy import ndimage

    rng = np.random.default_rng(5)
    cams = ndimage.gaussian_filter(rng.random((70, 24, 24)), (0, 1.5, 1.5))
    boxes = np.array([[2, 3, 12 + k % 10, 15] for k in range(70)])
    one = localization.box_iou_tables(cams, boxes, localization.CHOE_THRESHOLDS, workers=1)
    two = localization.box_iou_tables(cams, boxes, localization.CHOE_THRESHOLDS, workers=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[0], localization.box_ious(cams, boxes, localization.CHOE_THRESHOLDS))
    assert localization.default_workers(localization.PARALLEL_MIN_MAPS - 1) == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be a positive integer"):
            localization.box_iou_tables(cams, boxes, [0.5], workers=bad)
