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
