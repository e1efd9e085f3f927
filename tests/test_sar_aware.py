"""SAR-aware explanations (lesson 12): speckle and Gamma sensitivity, speckle-smoothed maps, per-channel maps."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from sarxai_utils import data, metrics, sar, smoothing
from sarxai_utils.datasets import model_input, preprocess
from sarxai_utils.explain import CHANNEL_METHODS, explain

FAST = {"integrated_gradients": {"n_steps": 4}, "occlusion": {"stride": 4}}
SIZE = 32


class _Linear(nn.Module):
    """f(x) = W x + b on flattened (B, C, SIZE, SIZE) images: its gradient does not depend on the input."""

    def __init__(self, channels: int = 1):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(channels * SIZE * SIZE, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def _images(batch: int, channels: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, channels, SIZE, SIZE, generator=generator) * 1.2 - 0.6  # inside the dB window


def _clean(batch: int, channels: int, seed: int = 2) -> torch.Tensor:
    """Clean scenes in linear intensity between -25 and 0 dB."""
    generator = torch.Generator().manual_seed(seed)
    return sar.from_db(torch.rand(batch, channels, SIZE, SIZE, generator=generator) * 25 - 25)


@pytest.fixture(scope="module")
def scenes():
    """One urban scene per class at 32 px with its clean scene (10 scenes)."""
    return data.synthetic_urban(1, SIZE, seed=3, keep_clean=True, cache=False, progress=False)


def _ratio(perturbed: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    """Linear-intensity ratio of model inputs (the multiplicative noise that was applied)."""
    def intensity(t):
        return sar.from_db(sar.denormalize_db(t.double()))
    return (intensity(perturbed) / intensity(x)).numpy().ravel()


# --------------------------------------------------------------------------------------------------------------
# sar.speckle_db_std and smoothing.matched_stdev
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("looks", [1.0, 4.4])
def test_speckle_db_std_matches_sampled_speckle(looks):
    field = sar.speckle(np.ones(200_000, np.float32), looks, np.random.default_rng(0))
    assert sar.speckle_db_std(looks) == pytest.approx(float(np.std(sar.to_db(field))), rel=0.01)


def test_speckle_db_std_known_values_and_bad_looks():
    assert sar.speckle_db_std(1.0) == pytest.approx(5.57, abs=0.01)  # 10 / ln 10 * pi / sqrt(6)
    assert smoothing.matched_stdev(4.4) == pytest.approx(sar.speckle_db_std(4.4) / 22.5)
    for bad in (0, -1.0, float("nan"), True, "4"):
        with pytest.raises(ValueError, match="looks"):
            sar.speckle_db_std(bad)


# --------------------------------------------------------------------------------------------------------------
# gamma_perturbation: real data, multiplicative noise on the linear intensity
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("looks", [1.5, 4.4])
def test_gamma_perturbation_is_unit_mean_noise_with_enl_looks_on_a_flat_image(looks):
    x = torch.zeros(16, 2, SIZE, SIZE)  # -12.5 dB everywhere: far from both ends of the dB window
    out = metrics.gamma_perturbation(looks, seed=0)(x)
    ratio = _ratio(out, x)
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    assert sar.equivalent_number_of_looks(ratio) == pytest.approx(looks, rel=0.05)
    uniform = metrics.uniform_perturbation(0.02)(x)  # the paper's noise is additive in dB, not like this
    assert sar.equivalent_number_of_looks(_ratio(uniform, x)) > 100


def test_gamma_perturbation_is_multiplicative_whatever_the_level():
    bright, dark = torch.full((8, 1, SIZE, SIZE), 0.4), torch.full((8, 1, SIZE, SIZE), -0.4)
    r_bright = _ratio(metrics.gamma_perturbation(4.4, seed=5)(bright), bright)
    r_dark = _ratio(metrics.gamma_perturbation(4.4, seed=5)(dark), dark)
    np.testing.assert_allclose(r_bright, r_dark, rtol=1e-4)  # the same draws give the same factors at any level


def test_gamma_perturbation_shapes_dtype_and_clipping():
    x = torch.cat([torch.ones(2, 1, SIZE, SIZE), -torch.ones(2, 1, SIZE, SIZE)])  # +10 dB and -35 dB (window ends)
    out = metrics.gamma_perturbation(1.0, seed=0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.max() == 1.0 and out.min() == -1.0  # clipped as preprocessing clips
    assert (out[:2] < 1).any() and (out[2:] > -1).any()  # yet the noise acts inside the window
    assert out[:2].max() <= 1 and out[2:].min() >= -1
    assert metrics.gamma_perturbation(4.4)(x.double()).dtype == torch.float64


def test_gamma_perturbation_is_seeded():
    x = _images(2, 2)
    a, b = metrics.gamma_perturbation(4.4, seed=3), metrics.gamma_perturbation(4.4, seed=3)
    first = a(x)
    assert torch.equal(first, b(x))
    assert not torch.equal(first, a(x)), "each call draws new noise"
    assert not torch.equal(first, metrics.gamma_perturbation(4.4, seed=4)(x))


def test_gamma_perturbation_bad_input():
    for bad in (0, -4.4, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="looks"):
            metrics.gamma_perturbation(bad)
    perturb = metrics.gamma_perturbation(4.4)
    with pytest.raises(ValueError, match="NaN"):
        perturb(torch.full((1, 1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        perturb(torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        perturb(torch.zeros(1, 1, 4, 4, dtype=torch.int64))


# --------------------------------------------------------------------------------------------------------------
# speckle_perturbation: embedded data, fresh speckle of the same clean scene
# --------------------------------------------------------------------------------------------------------------
def test_speckle_perturbation_renders_fresh_looks_of_the_clean_scenes():
    clean = _clean(3, 2)
    out = metrics.speckle_perturbation(clean, looks=4.4, n_samples=20, seed=0)(torch.zeros(60, 2, SIZE, SIZE))
    assert out.shape == (60, 2, SIZE, SIZE) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1
    ratio = (sar.from_db(sar.denormalize_db(out.double())) / clean.double().repeat_interleave(20, 0)).numpy()
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    assert sar.equivalent_number_of_looks(ratio) == pytest.approx(4.4, rel=0.05)
    per_scene = out.reshape(3, 20, 2, SIZE, SIZE)
    assert not torch.equal(per_scene[:, 0], per_scene[:, 1]), "every copy is a new realisation"
    corr = np.corrcoef(ratio.reshape(3, 20, -1)[0, 0], ratio.reshape(3, 20, -1)[0, 1])[0, 1]
    assert abs(corr) < 0.05, "the realisations are independent"


def test_speckle_perturbation_ignores_the_images_values_and_is_seeded():
    clean = _clean(2, 1)
    a = metrics.speckle_perturbation(clean, 4.4, 3, seed=1)(torch.zeros(6, 1, SIZE, SIZE))
    b = metrics.speckle_perturbation(clean, 4.4, 3, seed=1)(torch.ones(6, 1, SIZE, SIZE, dtype=torch.float64))
    assert torch.equal(a, b.float()) and b.dtype == torch.float64
    assert not torch.equal(a, metrics.speckle_perturbation(clean, 4.4, 3, seed=2)(torch.zeros(6, 1, SIZE, SIZE)))
    zero = metrics.speckle_perturbation(torch.zeros(1, 1, 4, 4), 4.4, 2)(torch.zeros(2, 1, 4, 4))
    assert (zero == -1).all(), "no backscatter stays black"
    assert torch.equal(metrics.speckle_perturbation(clean.numpy(), 4.4, 3, seed=1)(torch.zeros(6, 1, SIZE, SIZE)), a)


def test_speckle_perturbation_bad_input():
    clean = _clean(2, 1)
    with pytest.raises(ValueError, match="clean must be"):
        metrics.speckle_perturbation(clean[0], 4.4, 2)  # (C, H, W) without the batch
    with pytest.raises(ValueError, match="negative"):
        metrics.speckle_perturbation(sar.to_db(clean), 4.4, 2)  # dB instead of linear intensity
    with pytest.raises(ValueError, match="NaN"):
        metrics.speckle_perturbation(torch.full((1, 1, 4, 4), float("nan")), 4.4, 2)
    with pytest.raises(ValueError, match="clean must be"):
        metrics.speckle_perturbation(torch.ones(1, 1, 4, 4, dtype=torch.bool), 4.4, 2)
    with pytest.raises(ValueError, match="looks"):
        metrics.speckle_perturbation(clean, -1.0, 2)
    with pytest.raises(ValueError, match="n_samples"):
        metrics.speckle_perturbation(clean, 4.4, 0)
    with pytest.raises(ValueError, match="repeated n_samples = 2"):
        metrics.speckle_perturbation(clean, 4.4, 2)(torch.zeros(2, 1, SIZE, SIZE))  # 2 images, not 2 x 2 copies


# --------------------------------------------------------------------------------------------------------------
# speckle_sensitivity
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("noise", ["speckle", "gamma"])
def test_speckle_sensitivity_of_an_input_independent_explanation_is_zero(noise):
    x, clean = _images(3, 1), _clean(3, 1)
    kwargs = {"clean": clean} if noise == "speckle" else {}

    def constant(images, targets):
        return torch.ones(len(images), SIZE, SIZE)

    got = metrics.speckle_sensitivity(_Linear(), x, [0, 1, 2], constant, n_samples=4, noise=noise, **kwargs)
    assert torch.equal(got, torch.zeros(3))
    # Saliency of a linear model is |W_c| whatever the input: zero too, through explain
    got = metrics.speckle_sensitivity(_Linear(), x, [0, 1, 2], "saliency", n_samples=4, noise=noise, **kwargs)
    assert torch.equal(got, torch.zeros(3))


def test_speckle_sensitivity_is_max_sensitivity_under_fresh_speckle():
    x, clean = _images(2, 1), _clean(2, 1)

    def image_itself(images, targets):
        return images[:, 0]

    got = metrics.speckle_sensitivity(_Linear(), x, 0, image_itself, n_samples=5, seed=7, clean=clean, looks=3.0)
    copies = metrics.speckle_perturbation(clean, 3.0, 5, seed=7)(x.repeat_interleave(5, 0)).reshape(2, 5, -1)
    flat = x.reshape(2, 1, -1)
    expected = ((copies - flat).norm(dim=2) / flat.norm(dim=2)).max(dim=1).values
    torch.testing.assert_close(got, expected)
    # and with Gamma noise the copies are the observed images times Gamma noise
    got = metrics.speckle_sensitivity(_Linear(), x, 0, image_itself, n_samples=5, seed=7, noise="gamma", looks=3.0)
    copies = metrics.gamma_perturbation(3.0, seed=7)(x.repeat_interleave(5, 0)).reshape(2, 5, -1)
    torch.testing.assert_close(got, ((copies - flat).norm(dim=2) / flat.norm(dim=2)).max(dim=1).values)


def test_speckle_sensitivity_of_a_network_is_positive_and_seeded(slim1):
    x, clean = _images(2, 1), _clean(2, 1)
    a = metrics.speckle_sensitivity(slim1, x, [1, 2], "saliency", n_samples=3, clean=clean, seed=0)
    b = metrics.speckle_sensitivity(slim1, x, [1, 2], "saliency", n_samples=3, clean=clean, seed=0)
    c = metrics.speckle_sensitivity(slim1, x, [1, 2], "saliency", n_samples=3, clean=clean, seed=1)
    assert a.shape == (2,) and a.dtype == torch.float32
    assert (a > 0).all() and torch.equal(a, b) and not torch.equal(a, c)
    maps = explain(slim1, x, [1, 2], "saliency")
    torch.testing.assert_close(metrics.speckle_sensitivity(slim1, x, [1, 2], "saliency", n_samples=3, clean=clean,
                                                           maps=maps), a)
    d = metrics.speckle_sensitivity(slim1, x, [1, 2], "saliency", n_samples=3, noise="gamma")
    assert (d > 0).all()


def test_speckle_sensitivity_reads_a_generated_dataset(scenes, slim1, slim2):
    part = scenes.subset([0, 1])
    both = metrics.speckle_sensitivity(slim2, part, part.labels, "input_x_gradient", n_samples=2)
    by_hand = metrics.speckle_sensitivity(slim2, model_input(part, "both"), part.labels, "input_x_gradient",
                                          n_samples=2, clean=part.clean, looks=part.params["looks"])
    torch.testing.assert_close(both, by_hand)
    vv = metrics.speckle_sensitivity(slim1, part, part.labels, "saliency", n_samples=2, polarization="VV")
    torch.testing.assert_close(vv, metrics.speckle_sensitivity(
        slim1, model_input(part, "VV"), part.labels, "saliency", n_samples=2, clean=part.clean[:, :1]))
    assert (metrics.speckle_sensitivity(slim1, part, part.labels, "saliency", 2, noise="gamma",
                                        polarization="VH") > 0).all()


def test_speckle_sensitivity_bad_input(scenes, slim1):
    x, clean = _images(2, 1), _clean(2, 1)
    with pytest.raises(ValueError, match="noise must be"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2, noise="uniform", clean=clean)
    with pytest.raises(ValueError, match="needs the clean scenes"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2)
    with pytest.raises(ValueError, match="only used with noise='speckle'"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2, noise="gamma", clean=clean)
    with pytest.raises(ValueError, match="one clean scene per image"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2, clean=clean[:1])  # mismatched batch
    with pytest.raises(ValueError, match="one clean scene per image"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2, clean=_clean(2, 2))  # wrong channels
    with pytest.raises(ValueError, match="negative"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2, clean=-clean)
    with pytest.raises(ValueError, match="looks"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2, clean=clean, looks=-1)
    with pytest.raises(ValueError, match="NaN"):
        metrics.speckle_sensitivity(slim1, torch.full_like(x, float("nan")), 0, "saliency", 2, clean=clean)
    with pytest.raises(ValueError, match="targets has 3 entries"):
        metrics.speckle_sensitivity(slim1, x, [0, 1, 2], "saliency", 2, clean=clean)
    with pytest.raises(ValueError, match="n_samples"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 0, clean=clean)
    with pytest.raises(ValueError, match="unknown method"):
        metrics.speckle_sensitivity(slim1, x, 0, "smoothgrad", 2, clean=clean)
    with pytest.raises(ValueError, match="polarization picks"):
        metrics.speckle_sensitivity(slim1, x, 0, "saliency", 2, clean=clean, polarization="VV")
    with pytest.raises(ValueError, match="images_or_scenes must be"):
        metrics.speckle_sensitivity(slim1, x.numpy(), 0, "saliency", 2, clean=clean)
    part = scenes.subset([0, 1])
    with pytest.raises(ValueError, match="do not pass it"):
        metrics.speckle_sensitivity(slim1, part, part.labels, "saliency", 2, clean=part.clean, polarization="VV")
    with pytest.raises(ValueError, match="polarization"):
        metrics.speckle_sensitivity(slim1, part, part.labels, "saliency", 2, polarization="HH")
    no_clean = data.synthetic_urban(1, SIZE, seed=3, cache=False, progress=False).subset([0])
    with pytest.raises(ValueError, match="keep_clean=True"):
        metrics.speckle_sensitivity(slim1, no_clean, no_clean.labels, "saliency", 2, polarization="VV")


def test_a_clean_scene_and_its_respeckled_copy_share_the_evidence_mask(scenes, slim2):
    again = data.synthetic_urban(1, SIZE, seed=3, keep_clean=True, speckle_seed=11, cache=False, progress=False)
    assert np.array_equal(again.masks, scenes.masks) and np.array_equal(again.clean, scenes.clean)
    assert not np.array_equal(again.images, scenes.images)
    # maps of the clean scene, of the observed image and of its re-speckled copy are judged on one mask array
    inputs = [preprocess(scenes.clean), model_input(scenes, "both"), model_input(again, "both")]
    masks = scenes.masks
    for x in inputs:
        maps = explain(slim2, x, scenes.labels, "saliency")
        scores = metrics.relevance_mass_accuracy(maps, masks, "absolute")
        assert scores.shape == (10,) and ((scores > 0) & (scores < 1)).all()


# --------------------------------------------------------------------------------------------------------------
# Per-channel maps (explain reduce="none") and channel_share
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", sorted(CHANNEL_METHODS))
def test_per_channel_maps_add_up_to_the_summed_map(slim2, method):
    x = _images(2, 2)
    per_channel = explain(slim2, x, [3, 4], method, reduce="none", **FAST.get(method, {}))
    assert per_channel.shape == (2, 2, SIZE, SIZE) and per_channel.dtype == torch.float32
    torch.testing.assert_close(per_channel.sum(dim=1), explain(slim2, x, [3, 4], method, **FAST.get(method, {})),
                               rtol=1e-5, atol=1e-6)
    assert not torch.equal(per_channel[:, 0], per_channel[:, 1])


@pytest.mark.parametrize("method", ["grad_cam", "occlusion", "ms_cam", "score_cam"])
def test_methods_without_per_channel_maps_refuse_reduce_none(slim2, method):
    with pytest.raises(ValueError, match="no per-channel input attribution"):
        explain(slim2, _images(1, 2), 0, method, reduce="none")


def test_explain_bad_reduce(slim2):
    with pytest.raises(ValueError, match="reduce must be one of"):
        explain(slim2, _images(1, 2), 0, "saliency", reduce="mean")


def test_a_model_that_reads_only_vv_puts_all_its_attribution_on_vv(slim2):
    vv_only = copy.deepcopy(slim2)
    with torch.no_grad():
        vv_only.conv1.weight[:, 1] = 0  # VH never reaches the network
    x = _images(3, 2)
    for method in ("saliency", "input_x_gradient", "guided_backprop"):
        share = metrics.channel_share(explain(vv_only, x, [0, 5, 9], method, reduce="none"))
        np.testing.assert_array_equal(share, np.tile([1.0, 0.0], (3, 1)))
    share = metrics.channel_share(explain(slim2, x, [0, 5, 9], "saliency", reduce="none"))
    assert ((share > 0.05) & (share < 0.95)).all(), "the random model reads both channels"


def test_channel_share_values_relevance_and_empty_maps():
    maps = np.zeros((3, 2, 4, 4))
    maps[0, 0, 0, 0], maps[0, 1, 1, 1] = 3.0, -1.0  # |.|: 3 on VV, 1 on VH; positive: all on VV
    maps[1, :, 2, 2] = 2.0  # equal
    got = metrics.channel_share(maps)
    np.testing.assert_allclose(got[:2], [[0.75, 0.25], [0.5, 0.5]])
    assert np.isnan(got[2]).all(), "a map without mass has no share"
    np.testing.assert_allclose(metrics.channel_share(maps, "positive")[0], [1.0, 0.0])
    np.testing.assert_allclose(np.nansum(got, axis=1), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(metrics.channel_share(torch.from_numpy(maps[0])), [[0.75, 0.25]])  # one (C, H, W)
    assert metrics.channel_share(np.ones((2, 3, 4, 4))).shape == (2, 3)


def test_channel_share_bad_input():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        metrics.channel_share(np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        metrics.channel_share(np.ones((0, 2, 4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.channel_share(np.full((1, 2, 4, 4), np.nan))
    with pytest.raises(ValueError, match="relevance"):
        metrics.channel_share(np.ones((1, 2, 4, 4)), "negative")


# --------------------------------------------------------------------------------------------------------------
# Smoothing: Gaussian SmoothGrad through NoiseTunnel, by-hand averaging, speckle-smoothed maps
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "grad_cam", "guided_backprop"])
def test_noise_tunnel_with_zero_stdev_is_plain_explain(slim1, method):
    x = _images(2, 1)
    got = smoothing.smoothgrad(slim1, x, [2, 7], method, n_samples=3, stdev=0.0, **FAST.get(method, {}))
    torch.testing.assert_close(got, explain(slim1, x, [2, 7], method, **FAST.get(method, {})), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["saliency", "input_x_gradient", "integrated_gradients", "guided_grad_cam",
                                    "occlusion"])
def test_noise_tunnel_equals_hand_averaging_of_the_same_gaussian_draws(slim1, method):
    x, n = _images(2, 1), 4
    options = FAST.get(method, {})
    tunnel = smoothing.smoothgrad(slim1, x, [2, 7], method, n, stdev=0.1, seed=5, batch_size=len(x) * n, **options)
    by_hand = smoothing.noise_average(slim1, x, [2, 7], method, smoothing.gaussian_perturbation(0.1, seed=5), n,
                                      batch_size=len(x) * n, **options)
    assert tunnel.shape == (2, SIZE, SIZE)
    scale = by_hand.abs().amax()  # to 1e-5 of the largest value (Guided Grad-CAM's maps are about 1e-4)
    torch.testing.assert_close(tunnel / scale, by_hand / scale, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(tunnel / scale, explain(slim1, x, [2, 7], method, **options) / scale, atol=1e-2)


def test_smoothgrad_is_seeded_batches_alike_and_keeps_the_global_random_state(slim1):
    x = _images(3, 1)
    torch.manual_seed(123)
    a = smoothing.smoothgrad(slim1, x, 1, "saliency", 4, 0.2, seed=0)
    after = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after), "the caller's random state is left alone"
    assert torch.equal(a, smoothing.smoothgrad(slim1, x, 1, "saliency", 4, 0.2, seed=0))
    assert not torch.equal(a, smoothing.smoothgrad(slim1, x, 1, "saliency", 4, 0.2, seed=1))
    # chunking only splits the draws (1024 pixels per copy, a multiple of torch's 16-value blocks)
    torch.testing.assert_close(smoothing.smoothgrad(slim1, x, 1, "saliency", 4, 0.2, seed=0, batch_size=4), a)


def test_smoothgrad_of_the_cam_family_averages_the_same_gaussian_draws(slim1):
    x = _images(2, 1)
    got = smoothing.smoothgrad(slim1, x, [0, 1], "layer_cam", 3, 0.1, seed=2)
    by_hand = smoothing.noise_average(slim1, x, [0, 1], "layer_cam", smoothing.gaussian_perturbation(0.1, seed=2), 3)
    torch.testing.assert_close(got, by_hand)
    assert got.shape == (2, SIZE, SIZE)


def test_smoothgrad_keeps_channels_on_request(slim2):
    x = _images(2, 2)
    per_channel = smoothing.smoothgrad(slim2, x, 0, "input_x_gradient", 3, 0.1, reduce="none")
    assert per_channel.shape == (2, 2, SIZE, SIZE)
    torch.testing.assert_close(per_channel.sum(1), smoothing.smoothgrad(slim2, x, 0, "input_x_gradient", 3, 0.1),
                               rtol=1e-5, atol=1e-6)


def test_gaussian_perturbation_statistics_and_seed():
    x = torch.zeros(8, 1, SIZE, SIZE)
    noisy = smoothing.gaussian_perturbation(0.3, seed=0)(x)
    assert noisy.mean().item() == pytest.approx(0.0, abs=0.01)
    assert noisy.std().item() == pytest.approx(0.3, rel=0.02)
    assert torch.equal(noisy, smoothing.gaussian_perturbation(0.3, seed=0)(x))
    assert torch.equal(smoothing.gaussian_perturbation(0.0)(x), x)


def test_speckle_smoothgrad_averages_maps_over_fresh_speckle():
    model, x, clean = _Linear(), _images(2, 1), _clean(2, 1)
    # Input x Gradient of a linear model is x * W_c: its average over the copies is mean(x') * W_c
    got = smoothing.speckle_smoothgrad(model, x, [3, 4], "input_x_gradient", 6, clean=clean, looks=2.0, seed=9)
    copies = metrics.speckle_perturbation(clean, 2.0, 6, seed=9)(x.repeat_interleave(6, 0))
    weights = model.fc.weight.detach()[[3, 4]].reshape(2, SIZE, SIZE)
    torch.testing.assert_close(got, copies.reshape(2, 6, SIZE, SIZE).mean(1) * weights, rtol=1e-5, atol=1e-6)
    # Saliency of a linear model does not depend on the input: smoothing leaves it as it is
    for noise, kwargs in (("speckle", {"clean": clean}), ("gamma", {})):
        smooth = smoothing.speckle_smoothgrad(model, x, [3, 4], "saliency", 4, noise=noise, **kwargs)
        torch.testing.assert_close(smooth, explain(model, x, [3, 4], "saliency"))


def test_speckle_smoothgrad_reads_datasets_and_matches_noise_average(scenes, slim2):
    part = scenes.subset([2, 5])
    got = smoothing.speckle_smoothgrad(slim2, part, part.labels, "saliency", 3, seed=4)
    x, perturb = metrics.sar_perturbation(part, "speckle", 3, seed=4)
    torch.testing.assert_close(got, smoothing.noise_average(slim2, x, part.labels, "saliency", perturb, 3))
    gamma = smoothing.speckle_smoothgrad(slim2, part, part.labels, "grad_cam", 3, noise="gamma")
    assert gamma.shape == (2, SIZE, SIZE) and torch.isfinite(gamma).all()
    per_channel = smoothing.speckle_smoothgrad(slim2, part, part.labels, "saliency", 3, seed=4, reduce="none")
    torch.testing.assert_close(per_channel.sum(1), got, rtol=1e-5, atol=1e-6)


def test_smoothing_bad_input(slim1):
    x = _images(1, 1)
    with pytest.raises(ValueError, match="unknown method"):
        smoothing.smoothgrad(slim1, x, 0, "vargrad")
    with pytest.raises(ValueError, match="stdev"):
        smoothing.smoothgrad(slim1, x, 0, "saliency", stdev=-0.1)
    with pytest.raises(ValueError, match="stdev"):
        smoothing.gaussian_perturbation(float("nan"))
    with pytest.raises(ValueError, match="n_samples"):
        smoothing.smoothgrad(slim1, x, 0, "saliency", n_samples=0)
    with pytest.raises(ValueError, match="batch_size"):
        smoothing.smoothgrad(slim1, x, 0, "saliency", batch_size=0)
    with pytest.raises(ValueError, match="targets"):
        smoothing.smoothgrad(slim1, x, [0, 1], "saliency", 2)
    with pytest.raises(ValueError, match="NaN"):
        smoothing.smoothgrad(slim1, torch.full_like(x, float("nan")), 0, "saliency", 2)
    with pytest.raises(ValueError, match="perturb_func must return"):
        smoothing.noise_average(slim1, x, 0, "saliency", lambda t: t[:1], 3)
    with pytest.raises(TypeError, match="perturb_func"):
        smoothing.noise_average(slim1, x, 0, "saliency", None, 3)
    with pytest.raises(ValueError, match="needs the clean scenes"):
        smoothing.speckle_smoothgrad(slim1, x, 0, "saliency", 2)
    with pytest.raises(ValueError, match="one clean scene per image"):
        smoothing.speckle_smoothgrad(slim1, x, 0, "saliency", 2, clean=_clean(2, 1))


def test_explain_noise_tunnel_bad_arguments(slim1):
    x = _images(1, 1)
    with pytest.raises(ValueError, match="NoiseTunnel wraps Captum's methods"):
        explain(slim1, x, 0, "ms_cam", noise_tunnel={"nt_samples": 2})
    with pytest.raises(ValueError, match="unknown argument"):
        explain(slim1, x, 0, "saliency", noise_tunnel={"nt_samples": 2, "draw_baseline_from_distrib": True})
    with pytest.raises(ValueError, match="nt_type"):
        explain(slim1, x, 0, "saliency", noise_tunnel={"nt_type": "smoothgrad_cube"})
    with pytest.raises(ValueError, match="stdevs"):
        explain(slim1, x, 0, "saliency", noise_tunnel={"stdevs": -1.0})
    with pytest.raises(ValueError, match="nt_samples"):
        explain(slim1, x, 0, "saliency", noise_tunnel={"nt_samples": 0})
    with pytest.raises(ValueError, match="noise_tunnel must be a dict"):
        explain(slim1, x, 0, "saliency", noise_tunnel=5)


# --------------------------------------------------------------------------------------------------------------
# data.held_out and evaluation.score_sensitivities (the tables of lesson 12)
# --------------------------------------------------------------------------------------------------------------
def test_held_out_is_the_test_set_of_embedded_split_with_its_clean_scenes():
    from sarxai_utils import config

    cfg = config.load("ci", n_train_per_class=1, n_test_per_class=2, urban_size=SIZE)
    _, test = data.embedded_split(cfg, "urban", progress=False)
    held = data.held_out(cfg, "urban", keep_clean=True, progress=False)
    np.testing.assert_array_equal(held.images, test.images)
    np.testing.assert_array_equal(held.masks, test.masks)
    np.testing.assert_array_equal(held.labels, test.labels)
    assert test.clean is None and held.clean.shape == held.images.shape
    ratio = held.images.astype(np.float64) / held.clean  # the observed images are speckled clean scenes
    assert ratio.mean() == pytest.approx(1.0, abs=0.02)
    assert sar.equivalent_number_of_looks(ratio) == pytest.approx(cfg.looks, rel=0.1)
    with pytest.raises(ValueError, match="dataset must be"):
        data.held_out(cfg, "forest")


def test_score_sensitivities_reuses_the_maps_for_the_three_noises(scenes, slim1):
    from sarxai_utils import evaluation

    sub = scenes.subset(slice(0, 3))
    x, y = model_input(sub, "VH"), sub.labels
    opts = {"integrated_gradients": {"n_steps": 4}}
    got = evaluation.score_sensitivities(slim1, sub, y, ["saliency", "integrated_gradients"], "VH", n_samples=3,
                                         seed=5, options=opts, progress=False)
    assert list(got) == ["saliency", "integrated_gradients"]
    for name, res in got.items():
        o = opts.get(name, {})
        torch.testing.assert_close(torch.as_tensor(res.maps), explain(slim1, x, y, name, **o))
        assert set(res.scores) == set(evaluation.SENSITIVITIES) and res.seconds > 0
        expected = {
            "max_sensitivity": metrics.max_sensitivity(slim1, x, y, name, 0.02, 3, seed=5, **o),
            "speckle_sensitivity": metrics.speckle_sensitivity(slim1, sub, y, name, 3, polarization="VH", seed=5, **o),
            "gamma_sensitivity": metrics.speckle_sensitivity(slim1, sub, y, name, 3, noise="gamma",
                                                             polarization="VH", seed=5, **o)}
        for key, value in expected.items():
            np.testing.assert_allclose(res.scores[key], value.numpy(), rtol=1e-5, atol=1e-7, err_msg=key)
    table = evaluation.format_table(got, list(evaluation.SENSITIVITIES))
    assert "Speckle-Sens." in table and "Gamma-Sens." in table


def test_score_sensitivities_without_clean_scenes_leaves_out_speckle(scenes, slim1):
    from sarxai_utils import evaluation

    observed = data.synthetic_urban(1, SIZE, seed=3, cache=False, progress=False)  # no .clean, as real data
    sub = observed.subset(slice(0, 2))
    got = evaluation.score_sensitivities(slim1, sub, sub.labels, ["saliency"], "VV", n_samples=2, seed=1,
                                         progress=False)
    assert set(got["saliency"].scores) == {"max_sensitivity", "gamma_sensitivity"}
    expected = metrics.speckle_sensitivity(slim1, sub, sub.labels, "saliency", 2, noise="gamma", polarization="VV",
                                           seed=1)
    np.testing.assert_allclose(got["saliency"].scores["gamma_sensitivity"], expected.numpy(), rtol=1e-5, atol=1e-7)


def test_score_sensitivities_bad_input(scenes, slim1):
    from sarxai_utils import evaluation

    with pytest.raises(ValueError, match="not in explain.METHODS"):
        evaluation.score_sensitivities(slim1, scenes, scenes.labels, ["sailency"], "VV", progress=False)
    with pytest.raises(ValueError, match="polarization"):
        evaluation.score_sensitivities(slim1, scenes, scenes.labels, ["saliency"], "HH", progress=False)
