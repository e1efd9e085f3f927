"""Tests of sarxai_utils.sar: dB conversions, the [-1, 1] window, Gamma speckle and equivalent looks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from sarxai_utils import sar

# --- dB conversions ------------------------------------------------------------------------------------------


def test_to_db_known_values_numpy():
    db = sar.to_db(np.array([0.01, 1.0, 10.0, 1e-3], np.float32))
    np.testing.assert_allclose(db, [-20.0, 0.0, 10.0, -30.0], atol=1e-5)
    assert isinstance(db, np.ndarray)
    assert db.dtype == np.float32


def test_to_db_known_values_torch():
    db = sar.to_db(torch.tensor([0.01, 1.0, 100.0]))
    assert isinstance(db, torch.Tensor)
    torch.testing.assert_close(db, torch.tensor([-20.0, 0.0, 20.0]))


def test_to_db_zero_intensity_is_finite_and_far_below_window():
    for x in (np.zeros(3, np.float32), torch.zeros(3)):
        db = np.asarray(sar.to_db(x))
        assert np.all(np.isfinite(db))
        assert np.all(db < sar.DB_MIN - 20)  # the floor is 1000x below DB_MIN: -65 dB
        np.testing.assert_allclose(db, sar.DB_MIN - 30.0, atol=1e-4)


def test_to_db_negative_intensity_clamped_to_floor():
    np.testing.assert_allclose(sar.to_db(np.array([-5.0])), sar.to_db(np.array([0.0])))


def test_from_db_known_values():
    np.testing.assert_allclose(sar.from_db(np.array([-20.0, 0.0, 10.0])), [0.01, 1.0, 10.0], rtol=1e-6)
    torch.testing.assert_close(sar.from_db(torch.tensor([-20.0, 0.0, 10.0])), torch.tensor([0.01, 1.0, 10.0]))
    assert sar.from_db(np.array([3.0])).dtype == np.float32


def test_from_db_accepts_lists():
    np.testing.assert_allclose(sar.from_db([0.0, 10.0]), [1.0, 10.0], rtol=1e-6)


def test_db_round_trip_numpy():
    rng = np.random.default_rng(1)
    x = rng.uniform(1e-4, 50.0, size=(5, 7)).astype(np.float32)
    np.testing.assert_allclose(sar.from_db(sar.to_db(x)), x, rtol=1e-5)
    db = rng.uniform(-40, 15, size=20).astype(np.float32)
    np.testing.assert_allclose(sar.to_db(sar.from_db(db)), db, atol=1e-4)


def test_db_round_trip_torch():
    x = torch.linspace(1e-3, 20.0, 50)
    torch.testing.assert_close(sar.from_db(sar.to_db(x)), x, rtol=1e-5, atol=1e-7)


def test_numpy_and_torch_to_db_agree():
    x = np.geomspace(1e-6, 100.0, 30).astype(np.float32)
    np.testing.assert_allclose(sar.to_db(x), sar.to_db(torch.from_numpy(x)).numpy(), atol=1e-4)


# --- [-1, 1] window -------------------------------------------------------------------------------------------------


def test_normalize_db_window_ends_and_centre():
    out = sar.normalize_db(np.array([sar.DB_MIN, sar.DB_MAX, (sar.DB_MIN + sar.DB_MAX) / 2]))
    np.testing.assert_allclose(out, [-1.0, 1.0, 0.0], atol=1e-7)
    assert out.dtype == np.float32


def test_normalize_db_clips_outside():
    out = sar.normalize_db(np.array([-100.0, 50.0, sar.DB_MIN - 1e-3, sar.DB_MAX + 1e-3]))
    np.testing.assert_array_equal(out, [-1.0, 1.0, -1.0, 1.0])
    t = sar.normalize_db(torch.tensor([-1000.0, 1000.0]))
    torch.testing.assert_close(t, torch.tensor([-1.0, 1.0]))


def test_normalize_db_torch_and_numpy_agree():
    db = np.linspace(-50, 25, 61).astype(np.float32)
    n = sar.normalize_db(db)
    t = sar.normalize_db(torch.from_numpy(db))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(n, t.numpy(), atol=1e-6)
    assert n.min() == -1.0 and n.max() == 1.0


def test_normalize_db_custom_window():
    np.testing.assert_allclose(sar.normalize_db(np.array([0.0, 5.0, 10.0]), 0.0, 10.0), [-1.0, 0.0, 1.0])


def test_zero_intensity_maps_to_minus_one():
    assert float(sar.normalize_db(sar.to_db(np.zeros(1)))[0]) == -1.0


def test_denormalize_inverts_inside_window():
    db = np.linspace(sar.DB_MIN, sar.DB_MAX, 37)
    np.testing.assert_allclose(sar.denormalize_db(sar.normalize_db(db)), db, atol=1e-4)
    t = torch.linspace(-30.0, 5.0, 11)
    torch.testing.assert_close(sar.denormalize_db(sar.normalize_db(t)), t, atol=1e-5, rtol=0)
    np.testing.assert_allclose(sar.denormalize_db(np.array([-1.0, 1.0]), -20.0, 0.0), [-20.0, 0.0])


def test_denormalize_of_clipped_values_gives_window_edges():
    np.testing.assert_allclose(sar.denormalize_db(sar.normalize_db(np.array([-80.0, 40.0]))),
                               [sar.DB_MIN, sar.DB_MAX], atol=1e-5)


@pytest.mark.parametrize("db_min, db_max", [(0.0, 0.0), (10.0, -35.0), (1.0, 0.999)])
def test_normalize_db_bad_window_raises(db_min, db_max):
    with pytest.raises(ValueError, match="db_max"):
        sar.normalize_db(np.zeros(3), db_min, db_max)
    with pytest.raises(ValueError):
        sar.normalize_db(torch.zeros(3), db_min, db_max)


# --- speckle --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("looks", [1.0, 4.4, 16.0])
def test_speckle_unit_mean_and_variance(looks):
    rng = np.random.default_rng(123)
    out = sar.speckle(np.ones(400_000, np.float32), looks, rng)
    assert out.dtype == np.float32
    assert out.shape == (400_000,)
    assert np.all(out >= 0)
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    assert out.var() == pytest.approx(1.0 / looks, rel=0.03)


def test_speckle_scales_with_intensity_and_keeps_shape():
    rng = np.random.default_rng(5)
    clean = np.full((200, 300), 0.05, np.float32)
    out = sar.speckle(clean, 4.4, rng)
    assert out.shape == clean.shape
    assert out.mean() == pytest.approx(0.05, rel=0.02)
    assert np.all(sar.speckle(np.zeros((4, 4)), 2.0, rng) == 0)


@pytest.mark.parametrize("looks", [0, -1.0, float("nan")])
def test_speckle_bad_looks_raises(looks):
    with pytest.raises(ValueError, match="looks"):
        sar.speckle(np.ones(4), looks, np.random.default_rng(0))


def test_speckle_same_seed_same_output():
    clean = np.ones((16, 16), np.float32)
    a = sar.speckle(clean, 4.4, np.random.default_rng(7))
    b = sar.speckle(clean, 4.4, np.random.default_rng(7))
    c = sar.speckle(clean, 4.4, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# --- Gamma law ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("looks, mean", [(1.0, 1.0), (4.4, 1.0), (4.4, 0.05), (10.0, 3.0)])
def test_gamma_pdf_integrates_to_one(looks, mean):
    value, _ = scipy.integrate.quad(lambda x: float(sar.gamma_pdf(np.array(x), looks, mean)), 0, np.inf,
                                    limit=200)
    assert value == pytest.approx(1.0, abs=1e-4)
    x = np.linspace(0, 20 * mean, 200_001)
    assert scipy.integrate.trapezoid(sar.gamma_pdf(x, looks, mean), x) == pytest.approx(1.0, abs=5e-3)


@pytest.mark.parametrize("looks, mean", [(1.0, 1.0), (2.0, 0.5), (4.4, 1.0), (4.4, 0.05), (25.0, 7.0)])
def test_gamma_pdf_matches_scipy(looks, mean):
    x = np.linspace(1e-4, 6 * mean, 500)
    expected = scipy.stats.gamma(a=looks, scale=mean / looks).pdf(x)
    np.testing.assert_allclose(sar.gamma_pdf(x, looks, mean), expected, rtol=1e-9, atol=1e-12)


def test_gamma_pdf_mean_of_density_is_mean():
    x = np.linspace(0, 10, 400_001)
    p = sar.gamma_pdf(x, 4.4, 0.8)
    assert scipy.integrate.trapezoid(x * p, x) == pytest.approx(0.8, rel=1e-4)


def test_gamma_pdf_zero_and_negative_x():
    out = sar.gamma_pdf(np.array([-1.0, -1e-3, 0.0]), 4.4)
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0])
    assert out.dtype == np.float64


def test_gamma_pdf_at_zero_for_one_look():
    expected = scipy.stats.gamma(a=1.0, scale=2.0).pdf(0.0)
    assert float(sar.gamma_pdf(np.array([0.0]), 1.0, mean=2.0)[0]) == pytest.approx(expected)


def test_gamma_pdf_matches_histogram_of_speckle():
    rng = np.random.default_rng(3)
    samples = sar.speckle(np.full(300_000, 0.05, np.float32), 4.4, rng)
    hist, edges = np.histogram(samples, bins=60, range=(0, 0.15), density=False)
    centres = (edges[:-1] + edges[1:]) / 2
    density = hist / (samples.size * np.diff(edges))
    np.testing.assert_allclose(density, sar.gamma_pdf(centres, 4.4, 0.05), atol=0.6, rtol=0.05)


# --- equivalent number of looks ------------------------------------------------------------------------------


@pytest.mark.parametrize("looks", [1.0, 4.4, 12.0])
def test_enl_of_flat_speckle(looks):
    rng = np.random.default_rng(11)
    flat = sar.speckle(np.full((300, 300), 0.2, np.float32), looks, rng)
    assert sar.equivalent_number_of_looks(flat) == pytest.approx(looks, rel=0.05)


def test_enl_known_value():
    # mean 2, unbiased variance 2 -> ENL 2
    assert sar.equivalent_number_of_looks(np.array([1.0, 3.0])) == pytest.approx(2.0)
    assert isinstance(sar.equivalent_number_of_looks([1.0, 2.0, 3.0]), float)


@pytest.mark.parametrize("bad", [np.array([]), np.array([1.0]), np.ones((1, 1))])
def test_enl_too_few_pixels_raises(bad):
    with pytest.raises(ValueError, match="2 pixels"):
        sar.equivalent_number_of_looks(bad)


def test_enl_zero_variance_raises():
    with pytest.raises(ValueError, match="zero variance"):
        sar.equivalent_number_of_looks(np.full((5, 5), 0.3))


# --- local ENL -------------------------------------------------------------------------------------------------------


def test_local_enl_shape_dtype_and_flat_speckle():
    rng = np.random.default_rng(21)
    image = sar.speckle(np.ones((128, 96), np.float32), 4.4, rng)
    enl = sar.local_enl(image, 11)
    assert enl.shape == image.shape
    assert enl.dtype == np.float32
    assert np.all(enl > 0)
    assert float(np.median(enl)) == pytest.approx(4.4, rel=0.15)


def test_local_enl_low_at_sharp_edge():
    rng = np.random.default_rng(22)
    clean = np.ones((64, 64), np.float32)
    clean[:, 32:] = 100.0
    enl = sar.local_enl(sar.speckle(clean, 4.4, rng), 7)
    flat_left, flat_right = float(np.median(enl[:, :20])), float(np.median(enl[:, 44:]))
    assert flat_left > 3.0 and flat_right > 3.0
    # windows holding 1 to 4 columns of the bright side (centred on columns 29..32) are far below L
    assert float(enl[:, 29:33].max()) < 1.5
    assert np.all((enl.argmin(axis=1) >= 29) & (enl.argmin(axis=1) <= 32))


def test_local_enl_constant_image_is_infinite():
    enl = sar.local_enl(np.full((10, 10), 0.5), 3)
    assert np.all(np.isinf(enl) | (enl > 1e5))


@pytest.mark.parametrize("shape", [(4, 8, 8), (16,), (1, 1, 8, 8)])
def test_local_enl_non_2d_raises(shape):
    with pytest.raises(ValueError, match="2-D"):
        sar.local_enl(np.ones(shape), 3)


@pytest.mark.parametrize("window", [1, 0, -3])
def test_local_enl_small_window_raises(window):
    with pytest.raises(ValueError, match="window"):
        sar.local_enl(np.ones((8, 8)), window)


def test_co_cross_ratio_db():
    images = np.ones((2, 2, 8, 8), np.float32)
    images[:, 1] = 0.1  # VH 10 dB below VV
    masks = np.zeros((2, 8, 8), bool)
    masks[0, 2:6, 2:6] = True
    ratio = sar.co_cross_ratio_db(images, masks)
    assert ratio[0] == pytest.approx(10.0) and np.isnan(ratio[1])
    images[0, 1, :, :4] = 1.0  # left half: no difference
    assert sar.co_cross_ratio_db(images, masks, window=1)[0] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="images"):
        sar.co_cross_ratio_db(images[:, :1], masks)
    with pytest.raises(ValueError, match="masks"):
        sar.co_cross_ratio_db(images, masks.astype(int))
    with pytest.raises(ValueError, match="window"):
        sar.co_cross_ratio_db(images, masks, window=0)
    bad = images.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="positive"):
        sar.co_cross_ratio_db(bad, masks)


def test_replace_channel():
    rng = np.random.default_rng(0)
    images = rng.gamma(4.0, 0.25, (3, 2, 8, 8)).astype(np.float32)
    images[:, 1] *= 0.1  # VH about 10 dB lower
    out = sar.replace_channel(images, 1)
    np.testing.assert_array_equal(out[:, 0], images[:, 0])
    ratio = out[:, 1] / images[:, 0]
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)  # VV's picture, one scale
    assert np.median(sar.to_db(out[:, 1])) == pytest.approx(float(np.median(sar.to_db(images[:, 1]))), abs=1e-3)
    back = sar.replace_channel(images, 0)
    np.testing.assert_array_equal(back[:, 1], images[:, 1])
    with pytest.raises(ValueError, match="channel"):
        sar.replace_channel(images, 2)
    with pytest.raises(ValueError, match="images"):
        sar.replace_channel(images[:, :1], 0)
    with pytest.raises(ValueError, match="positive"):
        sar.replace_channel(-images, 0)
