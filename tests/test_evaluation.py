"""Tests of sarxai_utils.evaluation: scoring several methods at once, reference maps, and the printed tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sarxai_utils import evaluation, metrics, models
from sarxai_utils.explain import explain


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = models.build_model("resnet10_slim", 1, 10).eval()
    x = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    masks = np.zeros((4, 32, 32), bool)
    masks[:, 8:20, 10:24] = True
    return model, x, torch.tensor([0, 3, 5, 9]), masks


def test_score_methods_matches_the_single_metrics(setup):
    model, x, y, masks = setup
    refs = {"evidence mask": masks.astype(float)}
    results = evaluation.score_methods(model, x, y, masks, ["saliency", "grad_cam"], refs, sens_samples=2,
                                       steps=4, progress=False)
    assert list(results) == ["saliency", "grad_cam", "evidence mask"]
    sal = results["saliency"]
    np.testing.assert_allclose(sal.maps, explain(model, x, y, "saliency").numpy())
    # every metric but the two SAR sensitivities, which score_sensitivities computes (lesson 12)
    assert set(sal.scores) == set(evaluation.METRICS) - {"speckle_sensitivity", "gamma_sensitivity"}
    for values in sal.scores.values():
        assert values.shape == (4,) and np.isfinite(values).all()
    np.testing.assert_allclose(sal.scores["max_sensitivity"],
                               metrics.max_sensitivity(model, x, y, "saliency", n_samples=2).numpy(), rtol=1e-5)
    np.testing.assert_allclose(sal.scores["relevance_mass"], metrics.relevance_mass_accuracy(sal.maps, masks))
    np.testing.assert_allclose(sal.scores["deletion_morf_auc"],
                               metrics.deletion_curve(model, x, y, sal.maps, steps=4).auc)
    assert sal.curves["deletion_lerf"].order == "lerf" and sal.curves["deletion_lerf"].scores.shape == (4, 5)
    np.testing.assert_allclose(sal.scores["insertion_morf_auc"],
                               metrics.insertion_curve(model, x, y, sal.maps, steps=4, fill="blur").auc)
    oracle = results["evidence mask"]
    assert np.isnan(oracle.scores["max_sensitivity"]).all()
    np.testing.assert_allclose(oracle.scores["relevance_mass"], 1.0)
    assert oracle.mean("pointing_game") == 1.0 and np.isnan(oracle.mean("max_sensitivity"))


def test_score_methods_without_masks_leaves_out_ground_truth(setup):
    model, x, y, masks = setup
    with_masks = evaluation.score_methods(model, x, y, masks, ["saliency"], sens_samples=2, steps=4, progress=False)
    results = evaluation.score_methods(model, x, y, None, ["saliency"], {"random map": np.ones((4, 32, 32))},
                                       sens_samples=2, steps=4, progress=False)
    got = results["saliency"].scores
    assert set(got) == set(with_masks["saliency"].scores) - set(evaluation.GROUND_TRUTH)
    for key, value in got.items():
        np.testing.assert_allclose(value, with_masks["saliency"].scores[key], rtol=1e-6, err_msg=key)
    assert "relevance_mass" not in results["random map"].scores


def test_format_table_marks_the_best_and_adds_columns(setup):
    model, x, y, masks = setup
    results = evaluation.score_methods(model, x, y, masks, ["saliency", "occlusion"], {"oracle": masks * 1.0},
                                       sens_samples=2, steps=2, progress=False,
                                       options={"occlusion": {"window": 9, "stride": 8}})
    text = evaluation.format_table(results, ["max_sensitivity", "relevance_mass"],
                                   extra={"paper": {"saliency": 0.1534}})
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["method", "Max-Sens.", "Rel."] and "(lower)" in lines[1]
    oracle_line = next(line for line in lines if line.startswith("oracle"))
    assert "1.000*" in oracle_line and " - " in oracle_line  # best relevance mass; no Max-Sensitivity
    saliency_line = next(line for line in lines if line.startswith("Saliency"))
    assert "0.153" in saliency_line
    best = min(results[m].mean("max_sensitivity") for m in ("saliency", "occlusion"))
    assert f"{best:.3f}*" in text


def test_score_methods_bad_input(setup):
    model, x, y, masks = setup
    with pytest.raises(ValueError, match="not in explain.METHODS"):
        evaluation.score_methods(model, x, y, masks, ["lime"], progress=False)
    with pytest.raises(ValueError, match="masks must be"):
        evaluation.score_methods(model, x, y, masks[:2], ["saliency"], progress=False)
    with pytest.raises(ValueError, match="reference_maps"):
        evaluation.score_methods(model, x, y, masks, [], {"bad": np.ones((4, 8, 8))}, progress=False)
    with pytest.raises(ValueError, match="targets"):
        evaluation.score_methods(model, x, [1, 2], masks, ["saliency"], progress=False)
    with pytest.raises(ValueError, match="columns"):
        evaluation.format_table({}, ["accuracy"])
