"""Tests of sarxai_utils.metrics: relevance mass accuracy on hand-made maps and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sarxai_utils import metrics


def _mask(size: int = 10) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[2:5, 3:8] = True  # 15 of 100 pixels
    return mask


def test_map_equal_to_the_mask_scores_one_and_its_complement_zero():
    mask = _mask()
    assert metrics.relevance_mass_accuracy(mask.astype(float), mask)[0] == pytest.approx(1.0)
    assert metrics.relevance_mass_accuracy((~mask).astype(float), mask)[0] == pytest.approx(0.0)


def test_uniform_map_scores_the_area_share_and_batches():
    mask = _mask()
    maps = np.stack([np.ones((10, 10)), mask * 3.0 + (~mask) * 1.0])
    got = metrics.relevance_mass_accuracy(maps, np.stack([mask, mask]))
    assert got.shape == (2,)
    assert got[0] == pytest.approx(0.15)
    assert got[1] == pytest.approx(45 / (45 + 85))


def test_positive_and_absolute_relevance():
    mask = _mask()
    signed = np.where(mask, 1.0, -1.0)  # all positive relevance inside, negative outside
    assert metrics.relevance_mass_accuracy(signed, mask, "positive")[0] == pytest.approx(1.0)
    assert metrics.relevance_mass_accuracy(signed, mask, "absolute")[0] == pytest.approx(0.15)
    assert metrics.relevance_mass_accuracy(-np.ones((10, 10)), mask)[0] == 0.0  # no positive relevance at all
    assert metrics.relevance_mass_accuracy(np.zeros((10, 10)), mask)[0] == 0.0


def test_accepts_torch_tensors():
    mask = _mask()
    got = metrics.relevance_mass_accuracy(torch.ones(1, 10, 10), torch.from_numpy(mask)[None])
    assert got[0] == pytest.approx(0.15)


def test_bad_input():
    mask = _mask()
    with pytest.raises(ValueError, match="relevance"):
        metrics.relevance_mass_accuracy(np.ones((10, 10)), mask, "negative")
    with pytest.raises(ValueError, match="masks must have"):
        metrics.relevance_mass_accuracy(np.ones((10, 10)), np.ones((5, 5), bool))
    with pytest.raises(ValueError, match="boolean"):
        metrics.relevance_mass_accuracy(np.ones((10, 10)), mask.astype(int))
    with pytest.raises(ValueError, match="NaN"):
        metrics.relevance_mass_accuracy(np.full((10, 10), np.nan), mask)
    with pytest.raises(ValueError, match="maps must be"):
        metrics.relevance_mass_accuracy(np.ones((2, 2, 10, 10)), np.ones((2, 2, 10, 10), bool))
    with pytest.raises(ValueError, match="maps must be"):
        metrics.relevance_mass_accuracy(np.ones((0, 10, 10)), np.ones((0, 10, 10), bool))


# --- completeness ---------------------------------------------------------------------------------------------
class _Linear(torch.nn.Module):
    """f(x) = W x + b on flattened (B, 1, 4, 4) images: Integrated Gradients is exact for it."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(16, 3)
        torch.manual_seed(0)
        torch.nn.init.normal_(self.fc.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def test_completeness_of_exact_and_wrong_maps():
    from sarxai_utils.explain import explain

    model = _Linear().eval()
    x = torch.rand(3, 1, 4, 4) * 2 - 1
    maps = explain(model, x, [0, 1, 2], "integrated_gradients", n_steps=4)
    check = metrics.completeness(model, x, [0, 1, 2], maps, "black")
    with torch.no_grad():
        gap = (model(x) - model(torch.full_like(x, -1.0)))[torch.arange(3), torch.tensor([0, 1, 2])]
    np.testing.assert_allclose(check.score_gap, gap.numpy(), rtol=1e-5)
    np.testing.assert_allclose(check.attribution_sum, gap.numpy(), rtol=1e-4, atol=1e-5)
    assert check.absolute_error.max() < 1e-4
    doubled = metrics.completeness(model, x, [0, 1, 2], 2 * maps, "black", min_gap=1e-6)
    np.testing.assert_allclose(doubled.relative_error, 1.0, rtol=1e-4)  # twice the gap: 100 % off


def test_completeness_leaves_out_small_gaps_and_takes_a_scalar_target():
    model = _Linear().eval()
    x = torch.full((2, 1, 4, 4), -1.0)
    x[1] += 1.0
    check = metrics.completeness(model, x, 0, torch.zeros(2, 4, 4), "black", min_gap=1e-3)
    assert check.score_gap[0] == 0.0 and np.isnan(check.relative_error[0])  # the image IS the baseline
    assert abs(check.score_gap[1]) > 1e-3 and check.relative_error[1] == pytest.approx(1.0)


def test_completeness_bad_input():
    model = _Linear().eval()
    x = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match="maps must be"):
        metrics.completeness(model, x, 0, torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match="images must be"):
        metrics.completeness(model, x[0], 0, torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="targets"):
        metrics.completeness(model, x, [0, 1, 2], torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        metrics.completeness(model, x, 0, torch.full((2, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="min_gap"):
        metrics.completeness(model, x, 0, torch.zeros(2, 4, 4), min_gap=0)
    with pytest.raises(ValueError, match="baseline"):
        metrics.completeness(model, x, 0, torch.zeros(2, 4, 4), baseline="grey")


# --- map correlation ------------------------------------------------------------------------------------------
def test_map_correlation_matches_scipy():
    from scipy.stats import pearsonr, spearmanr

    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 6, 5))
    b = a + rng.normal(scale=0.5, size=a.shape)
    b[2, 0, :3] = b[2, 0, 3]  # ties
    pearson = metrics.map_correlation(a, b)
    spearman = metrics.map_correlation(torch.from_numpy(a), b, rank=True)
    for k in range(3):
        assert pearson[k] == pytest.approx(pearsonr(a[k].ravel(), b[k].ravel())[0])
        assert spearman[k] == pytest.approx(spearmanr(a[k].ravel(), b[k].ravel())[0])


def test_map_correlation_special_cases():
    a = np.arange(12.0).reshape(3, 4)
    assert metrics.map_correlation(a, 2 * a + 1)[0] == pytest.approx(1.0)
    assert metrics.map_correlation(a, -a)[0] == pytest.approx(-1.0)
    assert metrics.map_correlation(a, np.exp(a), rank=True)[0] == pytest.approx(1.0)  # monotone: rank corr. 1
    assert np.isnan(metrics.map_correlation(a, np.ones((3, 4)))[0])
    with pytest.raises(ValueError, match="same shape"):
        metrics.map_correlation(a, np.ones((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.map_correlation(a, np.full((3, 4), np.inf))


# --- shared helpers for the metrics of lesson 08 ---------------------------------------------------------------
NAMES = ("saliency", "input_x_gradient", "integrated_gradients", "guided_backprop", "deconvolution", "grad_cam",
         "guided_grad_cam", "occlusion")
CHEAP = {"integrated_gradients": {"n_steps": 8}, "occlusion": {"stride": 8}}


def _inputs(batch: int = 3, size: int = 64, seed: int = 1) -> torch.Tensor:
    return torch.rand(batch, 1, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# --- Max-Sensitivity --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", NAMES)
def test_max_sensitivity_equals_captum_sensitivity_max(method, slim1):
    from captum.metrics import sensitivity_max

    from sarxai_utils.explain import explain

    x, targets, n = _inputs(), torch.tensor([1, 4, 7]), 4
    noise = (torch.rand(len(x) * n, *x.shape[1:], generator=torch.Generator().manual_seed(5)) * 2 - 1) * 0.02

    def fixed(inputs: torch.Tensor) -> torch.Tensor:  # the same perturbation for both
        return inputs + noise[: len(inputs)]

    options = CHEAP.get(method, {})

    def explanation(inputs, target):  # Captum hands over a tuple first, then tensors; it wants a tuple back
        inputs = inputs[0] if isinstance(inputs, tuple) else inputs
        return (explain(slim1, inputs, target, method, **options),)

    ours = metrics.max_sensitivity(slim1, x, targets, method, n_samples=n, perturb_func=fixed, **options)
    theirs = sensitivity_max(explanation, x, perturb_func=fixed, n_perturb_samples=n, target=targets)
    assert ours.shape == (3,) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, theirs.float().cpu().reshape(-1), atol=1e-5, rtol=1e-5)
    if method not in ("grad_cam", "guided_grad_cam"):  # layer4 of a random net at 64 px may be all ReLU-zero
        assert (ours > 0).all()


def test_max_sensitivity_of_an_input_independent_explanation_is_zero(slim1):
    fixed_map = torch.rand(64, 64)
    score = metrics.max_sensitivity(slim1, _inputs(), 3, lambda x, t: fixed_map.expand(len(x), 64, 64))
    assert torch.equal(score, torch.zeros(3))


def test_max_sensitivity_of_saliency_on_a_linear_model_is_zero():
    model = _Linear().eval()
    x = torch.rand(4, 1, 4, 4) * 2 - 1
    score = metrics.max_sensitivity(model, x, [0, 1, 2, 0], "saliency", radius=0.1, n_samples=5)
    assert score.abs().max() < 1e-6  # the gradient of a linear model does not depend on the input
    assert metrics.max_sensitivity(model, x, 0, "input_x_gradient", radius=0.1).min() > 0  # x * grad does


def test_max_sensitivity_is_seeded_and_grows_with_the_radius(slim1):
    x = _inputs(2)
    a = metrics.max_sensitivity(slim1, x, 0, "saliency", n_samples=3, seed=1)
    b = metrics.max_sensitivity(slim1, x, 0, "saliency", n_samples=3, seed=1)
    c = metrics.max_sensitivity(slim1, x, 0, "saliency", n_samples=3, seed=2)
    big = metrics.max_sensitivity(slim1, x, 0, "saliency", n_samples=3, seed=1, radius=0.2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (big > a).all()


def test_max_sensitivity_with_a_zero_explanation_uses_the_plain_difference(slim1):
    x = _inputs(1)

    def zero_then_ones(images, _targets):  # zero map for the original, ones for the perturbed copies
        maps = torch.ones(len(images), 64, 64)
        maps[0] = 0
        return maps

    score = metrics.max_sensitivity(slim1, x, 0, zero_then_ones, n_samples=2)
    assert float(score[0]) == pytest.approx(64.0)  # ||ones||_F = sqrt(64 * 64), divided by 1


def test_max_sensitivity_follows_per_image_baselines(slim1):
    x = _inputs(2)
    baseline = _inputs(2, seed=9)
    options = {"n_steps": 8, "baseline": baseline}
    both = metrics.max_sensitivity(slim1, x, [2, 5], "integrated_gradients", n_samples=2, seed=3, **options)
    noise = metrics.uniform_perturbation(0.02, seed=3)(torch.zeros(4, 1, 64, 64))  # the draws of that call
    for b in range(2):
        def perturb(images, b=b):
            return images + noise[2 * b: 2 * b + 2]

        one = metrics.max_sensitivity(slim1, x[b: b + 1], [2, 5][b], "integrated_gradients", n_samples=2,
                                      perturb_func=perturb, n_steps=8, baseline=baseline[b: b + 1])
        assert float(one[0]) == pytest.approx(float(both[b]), rel=1e-4, abs=1e-6)


def test_max_sensitivity_bad_input(slim1):
    x = _inputs(2)
    with pytest.raises(ValueError, match="radius"):
        metrics.max_sensitivity(slim1, x, 0, "saliency", radius=0)
    with pytest.raises(ValueError, match="radius"):
        metrics.max_sensitivity(slim1, x, 0, "saliency", radius=float("nan"))
    with pytest.raises(ValueError, match="n_samples"):
        metrics.max_sensitivity(slim1, x, 0, "saliency", n_samples=0)
    with pytest.raises(ValueError, match="unknown method"):
        metrics.max_sensitivity(slim1, x, 0, "lime")
    with pytest.raises(ValueError, match="NaN"):
        metrics.max_sensitivity(slim1, torch.full((1, 1, 64, 64), float("nan")), 0, "saliency")
    with pytest.raises(ValueError, match="perturb_func"):
        metrics.max_sensitivity(slim1, x, 0, "saliency", perturb_func=lambda v: v[:1])
    with pytest.raises(TypeError, match="options"):
        metrics.max_sensitivity(slim1, x, 0, lambda v, t: v.sum(1), n_steps=3)
    with pytest.raises(ValueError, match="targets"):
        metrics.max_sensitivity(slim1, x, [0, 1, 2], "saliency")
    with pytest.raises(TypeError, match="method"):
        metrics.max_sensitivity(slim1, x, 0, 3)


# --- XAI entropy and Shannon entropy -------------------------------------------------------------------------------
def test_xai_entropy_is_the_png_size_of_the_rendered_map():
    import io

    from PIL import Image

    from sarxai_utils import viz

    rng = np.random.default_rng(0)
    noisy = rng.normal(size=(40, 40))
    buffer = io.BytesIO()
    Image.fromarray(viz.render_map(noisy), "RGB").save(buffer, format="PNG", compress_level=9)
    assert metrics.xai_entropy_kb(noisy) == pytest.approx(buffer.tell() / 1000)


def test_xai_entropy_orders_noise_smooth_and_constant_maps():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    smooth = np.exp(-((yy - 30) ** 2 + (xx - 20) ** 2) / 200.0)
    noisy = rng.normal(size=(64, 64))
    sizes = metrics.xai_entropy_kb(np.stack([noisy, smooth, np.zeros((64, 64))]))
    assert sizes.shape == (3,)
    assert sizes[0] > 2 * sizes[1] > 0 and sizes[1] > sizes[2] > 0
    assert metrics.xai_entropy_kb(noisy, scale=2) > sizes[0]
    assert isinstance(metrics.xai_entropy_kb(torch.from_numpy(smooth)), float)


def test_xai_entropy_bad_input():
    with pytest.raises(ValueError, match="attribution"):
        metrics.xai_entropy_kb(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        metrics.xai_entropy_kb(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="scale"):
        metrics.xai_entropy_kb(np.ones((4, 4)), scale=0)


def test_map_entropy_limits():
    hot = np.zeros((8, 8))
    hot[3, 4] = -5.0
    values = metrics.map_entropy(np.stack([hot, np.ones((8, 8)), np.zeros((8, 8))]))
    np.testing.assert_allclose(values, [0.0, 6.0, 6.0])
    half = np.zeros((8, 8))
    half[:4] = 2.0
    assert metrics.map_entropy(half)[0] == pytest.approx(5.0)
    assert metrics.map_entropy(hot, "positive")[0] == pytest.approx(6.0)  # no positive relevance: uniform
    with pytest.raises(ValueError, match="NaN"):
        metrics.map_entropy(np.full((2, 2), np.inf))


# --- ground truth -------------------------------------------------------------------------------------------------
def test_relevance_rank_accuracy():
    mask = _mask()  # 15 pixels
    assert metrics.relevance_rank_accuracy(mask * 1.0, mask)[0] == pytest.approx(1.0)
    assert metrics.relevance_rank_accuracy(~mask * 1.0, mask)[0] == pytest.approx(0.0)
    assert metrics.relevance_rank_accuracy(np.ones((10, 10)), mask)[0] == pytest.approx(0.15)  # ties: chance
    ramp = np.zeros((10, 10))
    ys, xs = np.nonzero(mask)
    ramp[ys[:10], xs[:10]] = 2.0  # 10 evidence pixels on top
    ramp[0, :5] = 1.0  # then 5 outside the mask: the top 15 hold 10 hits
    assert metrics.relevance_rank_accuracy(ramp, mask)[0] == pytest.approx(10 / 15)
    assert metrics.relevance_rank_accuracy(-ramp, mask, "absolute")[0] == pytest.approx(10 / 15)
    with pytest.raises(ValueError, match="empty"):
        metrics.relevance_rank_accuracy(ramp, np.zeros((10, 10), bool))


def test_pointing_game():
    mask = _mask()
    inside, outside = np.zeros((10, 10)), np.zeros((10, 10))
    inside[3, 4] = 1.0
    outside[9, 9] = 1.0
    near = np.zeros((10, 10))
    near[6, 4] = 1.0  # one row below the mask (rows 2-4)... two rows: needs tolerance 2
    got = metrics.pointing_game(np.stack([inside, outside, near]), np.stack([mask] * 3))
    np.testing.assert_array_equal(got, [1.0, 0.0, 0.0])
    assert metrics.pointing_game(near, mask, tolerance=2)[0] == 1.0
    assert metrics.pointing_game(np.ones((10, 10)), mask)[0] == pytest.approx(0.15)  # every pixel is a peak
    with pytest.raises(ValueError, match="tolerance"):
        metrics.pointing_game(inside, mask, tolerance=-1)


def test_energy_pointing_game_counts_the_box_of_the_evidence():
    mask = np.zeros((10, 10), bool)
    mask[2, 2] = mask[6, 7] = True  # box rows 2-6, cols 2-7
    in_box = np.zeros((10, 10))
    in_box[4, 4] = 3.0  # inside the box, outside the mask
    in_box[9, 0] = 1.0  # outside the box
    assert metrics.energy_pointing_game(in_box, mask)[0] == pytest.approx(0.75)
    assert metrics.relevance_mass_accuracy(in_box, mask)[0] == 0.0
    assert metrics.energy_pointing_game(mask * 1.0, mask)[0] == pytest.approx(1.0)


# --- deletion and insertion ---------------------------------------------------------------------------------------
def test_clutter_like_is_homogeneous_speckle_at_the_median_level():
    from sarxai_utils import sar

    rng = np.random.default_rng(0)
    intensity = rng.gamma(4.4, 0.02 / 4.4, size=(2, 2, 96, 96)).astype(np.float32)
    intensity[:, :, :20] = 1.0  # bright buildings do not move the median much
    x = sar.normalize_db(sar.to_db(torch.from_numpy(intensity)))
    clutter = metrics.clutter_like(x, looks=4.4, seed=3)
    assert clutter.shape == x.shape and torch.equal(clutter, metrics.clutter_like(x, looks=4.4, seed=3))
    linear = sar.from_db(sar.denormalize_db(clutter.double())).numpy()
    median = np.median(intensity.reshape(2, 2, -1), axis=2)
    np.testing.assert_allclose(linear.reshape(2, 2, -1).mean(axis=2), median, rtol=0.05)
    enl = [sar.equivalent_number_of_looks(linear[b, c]) for b in range(2) for c in range(2)]
    np.testing.assert_allclose(enl, 4.4, rtol=0.1)


def test_fill_images():
    x = _inputs(2, 16)
    assert torch.equal(metrics.fill_images(x, "black"), torch.full_like(x, -1.0))
    torch.testing.assert_close(metrics.fill_images(x, "mean")[:, :, 3, 5], x.mean(dim=(2, 3)))
    blurred = metrics.fill_images(x, "blur")
    assert blurred.shape == x.shape and blurred.std() < x.std()
    assert torch.equal(metrics.fill_images(x, 0.25), torch.full_like(x, 0.25))
    with pytest.raises(ValueError, match="fill"):
        metrics.fill_images(x, "white")


class _Region(torch.nn.Module):
    """Two logits: the mean of the top-left quarter against 0, so only that quarter matters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = 8 * x[:, 0, :8, :8].mean(dim=(1, 2))
        return torch.stack([score, torch.zeros_like(score)], dim=1)


def test_deletion_and_insertion_curves_on_a_known_model():
    model = _Region()
    x = torch.ones(1, 1, 16, 16)
    relevant = torch.zeros(1, 16, 16)
    relevant[0, :8, :8] = 1.0
    morf = metrics.deletion_curve(model, x, 0, relevant, steps=4, fill="black")
    lerf = metrics.deletion_curve(model, x, 0, relevant, order="lerf", steps=4, fill="black")
    np.testing.assert_allclose(morf.fractions, [0, 0.25, 0.5, 0.75, 1.0])
    start = torch.softmax(model(x), 1)[0, 0].item()
    end = torch.softmax(model(-x), 1)[0, 0].item()
    np.testing.assert_allclose(morf.scores[0], [start, end, end, end, end], rtol=1e-6)
    np.testing.assert_allclose(lerf.scores[0], [start, start, start, start, end], rtol=1e-6)
    assert morf.auc[0] < lerf.auc[0]
    insertion = metrics.insertion_curve(model, x, 0, relevant, steps=4, fill="black")
    np.testing.assert_allclose(insertion.scores[0], [end, start, start, start, start], rtol=1e-6)
    assert insertion.mode == "insertion" and insertion.order == "morf"


def test_insertion_morf_is_deletion_lerf_backwards_with_the_same_fill(slim1):
    x = _inputs(3, 32)
    maps = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(1))  # no ties
    deletion = metrics.deletion_curve(slim1, x, [1, 2, 3], maps, order="lerf", steps=8, fill="mean")
    insertion = metrics.insertion_curve(slim1, x, [1, 2, 3], maps, order="morf", steps=8, fill="mean")
    np.testing.assert_allclose(insertion.scores, deletion.scores[:, ::-1], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(insertion.auc, deletion.auc, rtol=1e-5)


def test_deletion_curves_batch_and_chunk_consistently(slim1):
    x = _inputs(5, 32)
    maps = torch.randn(5, 32, 32, generator=torch.Generator().manual_seed(0))
    a = metrics.deletion_curve(slim1, x, [0, 1, 2, 3, 4], maps, steps=6, batch_size=64)
    b = metrics.deletion_curve(slim1, x, [0, 1, 2, 3, 4], maps, steps=6, batch_size=2)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-6)
    assert a.scores.shape == (5, 7) and a.auc.shape == (5,)


def test_evidence_mask_deletes_faster_than_a_random_map_on_a_trained_model(trained_vv):
    from sarxai_utils import config, data

    model, x, labels = trained_vv
    cfg = config.load("ci")
    _, test = data.embedded_split(cfg, "urban", progress=False)
    masks = data.per_class(test, 2).masks
    random_map = np.random.default_rng(0).random(masks.shape)
    evidence = metrics.deletion_curve(model, x, labels, masks.astype(float), steps=10)
    chance = metrics.deletion_curve(model, x, labels, random_map, steps=10)
    assert evidence.auc.mean() < chance.auc.mean(), (evidence.auc.mean(), chance.auc.mean())


def test_perturbation_curve_bad_input(slim1):
    x = _inputs(2, 16)
    with pytest.raises(ValueError, match="order"):
        metrics.deletion_curve(slim1, x, 0, torch.zeros(2, 16, 16), order="random")
    with pytest.raises(ValueError, match="maps must be"):
        metrics.deletion_curve(slim1, x, 0, torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        metrics.insertion_curve(slim1, x, 0, torch.full((2, 16, 16), float("nan")))
    with pytest.raises(ValueError, match="steps"):
        metrics.insertion_curve(slim1, x, 0, torch.zeros(2, 16, 16), steps=0)


# --- randomisation check --------------------------------------------------------------------------------------
def test_randomize_layers_copies_and_keeps_the_global_random_state(slim1):
    state = torch.get_rng_state()
    randomized = metrics.randomize_layers(slim1, ["fc", "layer4"], seed=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert not torch.equal(randomized.fc.weight, slim1.fc.weight)
    assert torch.equal(randomized.layer3[0].conv1.weight, slim1.layer3[0].conv1.weight)
    again = metrics.randomize_layers(slim1, ["fc", "layer4"], seed=1)
    assert torch.equal(again.layer4[0].conv2.weight, randomized.layer4[0].conv2.weight)
    with pytest.raises(ValueError, match="no submodule"):
        metrics.randomize_layers(slim1, ["layer9"])


def test_randomization_check(slim1):
    x = _inputs(2, 32)
    check = metrics.randomization_check(slim1, x, [1, 2], "saliency", layers=("fc", "layer4", "conv1"))
    assert check.maps.shape == (3, 2, 32, 32) and check.spearman.shape == (3, 2)
    assert check.original.shape == (2, 32, 32) and check.layers == ("fc", "layer4", "conv1")
    assert (check.spearman < 0.999).all()
    untouched = metrics.randomization_check(slim1, x, [1, 2], "saliency", layers=("maxpool",))
    np.testing.assert_allclose(untouched.spearman, 1.0)  # nothing to randomise: the same maps
    with pytest.raises(ValueError, match="unknown method"):
        metrics.randomization_check(slim1, x, 0, "lime")
    with pytest.raises(ValueError, match="layers"):
        metrics.randomization_check(slim1, x, 0, "saliency", layers=())


# --- ranking stability ---------------------------------------------------------------------------------------------
def test_rank_stability():
    rng = np.random.default_rng(0)
    separated = {"a": 1 + 0.01 * rng.random(30), "b": 2 + 0.01 * rng.random(30), "c": 3 + 0.01 * rng.random(30)}
    result = metrics.rank_stability(separated, n_boot=200)
    np.testing.assert_array_equal(result.rank, [1, 2, 3])
    np.testing.assert_allclose(result.rank_probability, np.eye(3))
    np.testing.assert_allclose(result.spearman, 1.0)
    assert result.means.shape == (200, 3)
    assert (result.low <= result.mean).all() and (result.mean <= result.high).all()
    overlapping = {"a": rng.normal(0, 1, 8), "b": rng.normal(0.1, 1, 8)}
    mixed = metrics.rank_stability(overlapping, n_boot=500)
    assert 0.05 < mixed.rank_probability[0, 0] < 0.95
    np.testing.assert_allclose(mixed.rank_probability.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="two methods"):
        metrics.rank_stability({"a": np.ones(3)})
    with pytest.raises(ValueError, match="same"):
        metrics.rank_stability({"a": np.ones(3), "b": np.ones(4)})
    with pytest.raises(ValueError, match="NaN"):
        metrics.rank_stability({"a": np.ones(3), "b": np.array([1.0, np.nan, 2.0])})


def test_max_sensitivity_reuses_given_maps(slim1):
    from sarxai_utils.explain import explain

    x = _inputs(2)
    baseline = _inputs(2, seed=4)
    options = {"n_steps": 8, "baseline": baseline}
    maps = explain(slim1, x, [3, 6], "integrated_gradients", **options)
    fresh = metrics.max_sensitivity(slim1, x, [3, 6], "integrated_gradients", n_samples=3, **options)
    reused = metrics.max_sensitivity(slim1, x, [3, 6], "integrated_gradients", n_samples=3, maps=maps, **options)
    torch.testing.assert_close(fresh, reused, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="maps must be"):
        metrics.max_sensitivity(slim1, x, 0, "saliency", maps=maps[:1])


def test_paired_difference_of_mean_scores():
    rng = np.random.default_rng(0)
    b = rng.random(200)
    a = b + 0.1 + 0.01 * rng.standard_normal(200)  # A scores 0.1 higher on every image
    res = metrics.paired_difference(a, b, n_boot=500, seed=0)
    assert res.difference == pytest.approx(float(a.mean() - b.mean()))
    assert res.low <= res.difference <= res.high and res.verdict == "A"
    assert metrics.paired_difference(b, a, 500).verdict == "B"
    assert metrics.paired_difference(a, a, 200).verdict == "tie"  # no difference: a zero-width interval at 0
    hits = metrics.paired_difference(np.array([True, True, False, True]), np.array([False, True, False, False]), 100)
    assert hits.difference == pytest.approx(0.5)  # booleans: a difference of success rates
    assert metrics.paired_difference(a, b, 300, seed=1) == metrics.paired_difference(a, b, 300, seed=1)


@pytest.mark.parametrize("a, b, kwargs, message", [
    (np.ones(3), np.ones(4), {}, "one length"),
    (np.ones((2, 2)), np.ones((2, 2)), {}, "1-D"),
    (np.array([]), np.array([]), {}, "non-empty"),
    (np.array([1.0, np.nan]), np.ones(2), {}, "finite"),
    (np.ones(3), np.ones(3), {"n_boot": 0}, "n_boot"),
    (np.ones(3), np.ones(3), {"level": 1.0}, "level"),
])
def test_paired_difference_rejects_bad_input(a, b, kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.paired_difference(a, b, **kwargs)


def test_evidence_boxes_are_the_masks_bounding_boxes():
    masks = np.zeros((2, 8, 8), bool)
    masks[0, 2, 3] = masks[0, 5, 6] = True  # two pixels: the box spans rows 2-5, columns 3-6
    masks[1, :, 0] = True  # a column: the box is that column
    boxes = metrics.evidence_boxes(masks)
    assert boxes[0].sum() == 16 and boxes[0, 2:6, 3:7].all() and boxes[1].sum() == 8 and boxes[1, :, 0].all()
    assert metrics.evidence_boxes(masks[0]).shape == (1, 8, 8)
    uniform = np.ones((2, 8, 8))  # a uniform map puts the box's share of the pixels in the box: the chance level
    assert np.allclose(metrics.energy_pointing_game(uniform, masks), boxes.mean(axis=(1, 2)))
    with pytest.raises(ValueError, match=r"masks \[1\] are empty"):
        metrics.evidence_boxes(np.stack([masks[0], np.zeros((8, 8), bool)]))
    with pytest.raises(ValueError, match="boolean"):
        metrics.evidence_boxes(masks.astype(float))
