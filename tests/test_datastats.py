"""Tests of sarxai_utils.datastats: known answers on speckled fields (ENL, target-to-clutter ratio, shadow depth,
target size, the VV / VH signature) and specific errors on bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sarxai_utils import datastats, sar
from sarxai_utils.errors import InvalidImageError

SIZE = 64


def _chips(n: int = 8, looks: float = 1.0, target_db: float = 10.0, shadow_db: float = -8.0, seed: int = 0):
    """Speckled chips: clutter at 0.01, a 12 x 12 target ``target_db`` above it and a 12 x 8 shadow ``shadow_db``
    from it, with their masks."""
    rng = np.random.default_rng(seed)
    clean = np.full((n, SIZE, SIZE), 0.01, np.float32)
    target = np.zeros((n, SIZE, SIZE), bool)
    shadow = np.zeros_like(target)
    target[:, 20:32, 20:32] = True
    shadow[:, 20:32, 36:44] = True
    clean[target] *= 10 ** (target_db / 10)
    clean[shadow] *= 10 ** (shadow_db / 10)
    return sar.speckle(clean, looks, rng), target, shadow


# --- clutter_mask ------------------------------------------------------------------------------------------------


def test_clutter_mask_grows_the_masks_by_whole_pixels():
    target = np.zeros((1, 9, 9), bool)
    target[0, 4, 4] = True
    none = np.zeros_like(target)
    assert datastats.clutter_mask(target, none, grow=0).sum() == 81 - 1
    assert datastats.clutter_mask(target, none, grow=2).sum() == 81 - 25  # 8-connected: a 5 x 5 square
    assert not datastats.clutter_mask(target, none, grow=2)[0, 2:7, 2:7].any()


def test_clutter_mask_never_grows_across_chips():
    target = np.zeros((2, 9, 9), bool)
    target[0, 4, 4] = True
    clutter = datastats.clutter_mask(target, np.zeros_like(target), grow=3)
    assert clutter[1].all()


def test_clutter_mask_rejects_bad_input():
    masks = np.zeros((2, 8, 8), bool)
    with pytest.raises(InvalidImageError, match="shadow_masks"):
        datastats.clutter_mask(masks, np.zeros((2, 8, 7), bool))
    with pytest.raises(InvalidImageError, match="target_masks"):
        datastats.clutter_mask(masks.astype(np.uint8), masks)
    with pytest.raises(InvalidImageError, match="target_masks"):
        datastats.clutter_mask(np.zeros((0, 8, 8), bool), np.zeros((0, 8, 8), bool))
    with pytest.raises(ValueError, match="grow"):
        datastats.clutter_mask(masks, masks, grow=-1)


# --- target_statistics -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("looks", [1.0, 3.0])
def test_clutter_enl_of_a_gamma_field_is_its_number_of_looks(looks):
    images, target, shadow = _chips(n=6, looks=looks)
    stats = datastats.target_statistics(images, target, shadow)
    assert stats.medians()["clutter_enl"] == pytest.approx(looks, rel=0.08)


@pytest.mark.parametrize("looks", [1.0, 4.4])
def test_local_enl_of_a_gamma_field_is_its_number_of_looks(looks):
    images, target, shadow = _chips(n=6, looks=looks)
    local = datastats.target_statistics(images, target, shadow).medians()["clutter_local_enl"]
    assert local == pytest.approx(looks, rel=0.1)  # 9 x 9 windows: a few per cent above L


def test_bright_points_lower_the_whole_clutter_enl_but_not_the_local_one():
    images, target, shadow = _chips(n=6, looks=1.0)
    images[:, 4:60:8, 50] *= 1000.0  # corner reflectors in the clutter
    stats = datastats.target_statistics(images, target, shadow).medians()
    assert stats["clutter_enl"] < 0.2
    assert stats["clutter_local_enl"] == pytest.approx(1.0, rel=0.15)


def test_zero_padding_is_left_out_of_the_clutter():
    images, target, shadow = _chips(n=4, looks=3.0)
    padded = images.copy()
    padded[:, :, :10] = 0.0
    a = datastats.target_statistics(padded, target, shadow).medians()
    assert a["clutter_enl"] == pytest.approx(3.0, rel=0.1)
    assert a["clutter_local_enl"] == pytest.approx(3.0, rel=0.1)


@pytest.mark.parametrize("window", [0, 2, 8, True, 3.0])
def test_target_statistics_rejects_a_bad_window(window):
    images, target, shadow = _chips(n=1)
    with pytest.raises(ValueError, match="window"):
        datastats.target_statistics(images, target, shadow, window=window)


def test_target_ten_db_above_clutter_gives_a_tcr_of_ten_db():
    images, target, shadow = _chips(n=12, target_db=10.0)
    assert datastats.target_statistics(images, target, shadow).medians()["tcr_db"] == pytest.approx(10.0, abs=0.5)


def test_shadow_eight_db_below_clutter_has_a_depth_of_eight_db():
    images, target, shadow = _chips(n=12, looks=4.0, shadow_db=-8.0)
    depth = datastats.target_statistics(images, target, shadow).medians()["shadow_depth_db"]
    assert depth == pytest.approx(8.0, abs=0.6)


def test_target_size_in_pixels_and_share():
    images, target, shadow = _chips(n=3)
    stats = datastats.target_statistics(images, target, shadow)
    np.testing.assert_array_equal(stats.target_pixels, [144, 144, 144])
    np.testing.assert_allclose(stats.target_share, 144 / SIZE**2)


def test_statistics_are_ratios_unchanged_by_a_gain():
    images, target, shadow = _chips(n=4, looks=2.0)
    a = datastats.target_statistics(images, target, shadow).medians()
    b = datastats.target_statistics(images * np.float32(7.0), target, shadow).medians()
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-4)


def test_empty_regions_give_nan_for_that_chip_only():
    images, target, shadow = _chips(n=2)
    target[1], shadow[1] = False, False
    stats = datastats.target_statistics(images, target, shadow)
    assert math.isnan(stats.tcr_db[1]) and math.isnan(stats.shadow_depth_db[1])
    assert np.isfinite(stats.tcr_db[0]) and np.isfinite(stats.clutter_enl[1])
    assert stats.target_pixels[1] == 0
    all_target = np.ones_like(target)
    everything = datastats.target_statistics(images, all_target, np.zeros_like(target))
    assert np.isnan(everything.clutter_enl).all() and np.isnan(everything.clutter_local_enl).all()
    assert math.isnan(everything.medians()["clutter_enl"])


@pytest.mark.parametrize(("change", "match"), [
    (lambda x: x[0], "shape"),
    (lambda x: x[:0], "shape"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x), "NaN"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 5, np.inf, x), "NaN or infinite"),
    (lambda x: x - 1.0, "negative"),
    (lambda x: x.astype(bool), "real numbers"),
])
def test_target_statistics_rejects_bad_images(change, match):
    images, target, shadow = _chips(n=2)
    with pytest.raises(InvalidImageError, match=match):
        datastats.target_statistics(change(images), target, shadow)


def test_target_statistics_rejects_masks_that_do_not_fit():
    images, target, shadow = _chips(n=2)
    with pytest.raises(InvalidImageError, match="target_masks"):
        datastats.target_statistics(images, target[:1], shadow)
    with pytest.raises(InvalidImageError, match="shadow_masks"):
        datastats.target_statistics(images, target, shadow.astype(np.float32))


def test_constant_clutter_names_the_chip():
    images, target, shadow = _chips(n=2)
    images[1] = 0.5
    with pytest.raises(InvalidImageError, match=r"images\[1\]"):
        datastats.target_statistics(images, target, shadow)


# --- patch_signature and class_signature -------------------------------------------------------------------------


def _patches(vv_db: float, vh_db: float, n: int = 4, looks: float | None = None, seed: int = 0) -> np.ndarray:
    clean = np.empty((n, 2, 40, 40), np.float32)
    clean[:, 0], clean[:, 1] = sar.from_db(np.float32(vv_db)), sar.from_db(np.float32(vh_db))
    return clean if looks is None else sar.speckle(clean, looks, np.random.default_rng(seed))


def test_patch_signature_of_flat_patches_is_exact():
    out = datastats.patch_signature(_patches(-10.0, -17.0))
    np.testing.assert_allclose(out, np.tile([-10.0, -17.0, 7.0], (4, 1)), atol=1e-4)


def test_patch_signature_of_speckled_patches_finds_the_ratio():
    out = datastats.patch_signature(_patches(-8.0, -14.0, n=6, looks=4.4))
    assert np.median(out[:, 2]) == pytest.approx(6.0, abs=0.3)
    assert np.median(out[:, 0]) == pytest.approx(-8.0, abs=0.5)  # 5 x 5 averaging leaves little speckle bias


def test_patch_signature_leaves_out_no_data_pixels():
    images = _patches(-10.0, -17.0, n=2)
    images[0, :, :, :15] = 0.0  # a no-data border in both channels
    images[1] = 0.0  # a patch without any data
    out = datastats.patch_signature(images)
    np.testing.assert_allclose(out[0], [-10.0, -17.0, 7.0], atol=0.05)
    assert np.isnan(out[1]).all()


def test_patch_signature_works_in_chunks():
    images = _patches(-10.0, -17.0, n=datastats._CHUNK + 3)
    out = datastats.patch_signature(images)
    assert out.shape == (datastats._CHUNK + 3, 3)
    assert np.isfinite(out).all()


@pytest.mark.parametrize(("images", "match"), [
    (np.ones((2, 1, 8, 8), np.float32), "two channels"),
    (np.ones((2, 8, 8), np.float32), "shape"),
    (np.ones((0, 2, 8, 8), np.float32), "shape"),
    (np.full((1, 2, 8, 8), np.nan, np.float32), "NaN"),
    (np.full((1, 2, 8, 8), -3.0, np.float32), "negative"),
])
def test_patch_signature_rejects_bad_images(images, match):
    with pytest.raises(InvalidImageError, match=match):
        datastats.patch_signature(images)


def test_patch_signature_rejects_a_bad_window():
    with pytest.raises(ValueError, match="window"):
        datastats.patch_signature(_patches(-10.0, -17.0), window=0)


def test_class_signature_takes_medians_per_class():
    per_patch = np.array([[-10, -17, 7], [-12, -17, 5], [-8, -17, 9], [-5, -9, 4]], np.float64)
    sig = datastats.class_signature(per_patch, np.array([0, 0, 0, 2]), 3)
    np.testing.assert_array_equal(sig.counts, [3, 0, 1])
    np.testing.assert_allclose(sig.vv_db, [-10, np.nan, -5])
    np.testing.assert_allclose(sig.vh_db, [-17, np.nan, -9])
    np.testing.assert_allclose(sig.ratio_db, [7, np.nan, 4])


def test_class_signature_leaves_out_nan_patches():
    per_patch = np.array([[-10, -17, 7], [np.nan, np.nan, np.nan]])
    sig = datastats.class_signature(per_patch, np.array([0, 0]), 1)
    assert sig.counts[0] == 2 and sig.ratio_db[0] == 7


def test_class_signature_rejects_bad_input():
    good = np.zeros((2, 3))
    with pytest.raises(ValueError, match="per_patch"):
        datastats.class_signature(np.zeros((2, 2)), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="per_patch"):
        datastats.class_signature(np.zeros((0, 3)), np.zeros(0, np.int64), 2)
    with pytest.raises(ValueError, match="labels"):
        datastats.class_signature(good, np.array([0]), 2)
    with pytest.raises(ValueError, match="labels"):
        datastats.class_signature(good, np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match=r"0\.\.1"):
        datastats.class_signature(good, np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="n_classes"):
        datastats.class_signature(good, np.array([0, 1]), 0)
