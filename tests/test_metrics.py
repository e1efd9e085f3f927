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
