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
    assert "1.000 " in oracle_line and "*" not in oracle_line  # a reference: shown, never starred
    assert " - " in oracle_line  # no Max-Sensitivity for a reference map
    saliency_line = next(line for line in lines if line.startswith("Saliency"))
    assert "0.153" in saliency_line
    best = min(results[m].mean("max_sensitivity") for m in ("saliency", "occlusion"))
    assert f"{best:.3f}*" in text
    best_mass = max(results[m].mean("relevance_mass") for m in ("saliency", "occlusion"))
    assert f"{best_mass:.3f}*" in text  # the best method is starred although the oracle scores higher
    assert text.count("*") == 2


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


def _flags(entries):
    return {e.name: e.loaded for e in entries}


def test_score_methods_cache_loads_the_same_scores_and_recomputes_only_what_a_setting_changes(setup, tmp_path,
                                                                                             monkeypatch, capsys):
    from sarxai_utils import results

    monkeypatch.setenv("SARXAI_DATA", str(tmp_path))
    model, x, y, masks = setup
    refs = {"random map": np.random.default_rng(0).random((4, 32, 32))}
    args = dict(sens_samples=2, steps=4, progress=False, cache=True, label="demo")
    first = evaluation.score_methods(model, x, y, masks, ["saliency", "grad_cam"], refs, **args)
    assert capsys.readouterr().out.startswith("demo: 7 of 7 results computed")
    with results.collect("again", verbose=False) as entries:
        again = evaluation.score_methods(model, x, y, masks, ["saliency", "grad_cam"], refs, **args)
    assert all(e.loaded for e in entries) and len(entries) == 7
    for name in first:
        np.testing.assert_array_equal(again[name].maps, first[name].maps)
        for metric, values in first[name].scores.items():
            np.testing.assert_array_equal(again[name].scores[metric], values, err_msg=f"{name} {metric}")
    with results.collect("radius", verbose=False) as entries:  # the radius changes Max-Sensitivity only
        evaluation.score_methods(model, x, y, masks, ["saliency", "grad_cam"], refs, radius=0.05, **args)
    assert {n for n, loaded in _flags(entries).items() if not loaded} == {"max-sensitivity, saliency",
                                                                          "max-sensitivity, grad_cam"}
    with results.collect("steps", verbose=False) as entries:  # the deletion steps change the map scores only
        evaluation.score_methods(model, x, y, masks, ["saliency"], refs, **{**args, "steps": 5})
    assert {n for n, loaded in _flags(entries).items() if not loaded} == {"map scores, saliency",
                                                                          "map scores, random map"}
    with results.collect("recompute", verbose=False) as entries:
        evaluation.score_methods(model, x, y, masks, ["saliency"], recompute=True, **args)
    assert not any(e.loaded for e in entries)
    other = model.__class__(1, 10).eval()  # other weights: everything is computed again
    with results.collect("model", verbose=False) as entries:
        evaluation.score_methods(other, x, y, masks, ["saliency"], **args)
    assert not any(e.loaded for e in entries)


def test_score_sensitivities_loads_the_maps_and_max_sensitivity_of_score_methods(setup, tmp_path, monkeypatch):
    from sarxai_utils import results

    monkeypatch.setenv("SARXAI_DATA", str(tmp_path))
    model, x, y, masks = setup

    class Scenes:  # the scenes as lesson 12 passes them: images in dB space with clean versions
        def __init__(self):
            rng = np.random.default_rng(1)
            self.clean = rng.gamma(4.0, 0.05, (4, 1, 32, 32)).astype(np.float32)
            self.images = self.clean * rng.gamma(4.4, 1 / 4.4, self.clean.shape).astype(np.float32)
            self.polarizations = ("VV",)
            self.looks = 4.4

    scenes = Scenes()
    from sarxai_utils.datasets import model_input

    xs = model_input(scenes, "VV")
    evaluation.score_methods(model, xs, y, None, ["saliency"], sens_samples=2, steps=4, progress=False, cache=True)
    with results.collect("sens", verbose=False) as entries:
        sens = evaluation.score_sensitivities(model, scenes, y, ["saliency"], "VV", 2, progress=False, cache=True)
    assert _flags(entries) == {"maps, saliency": True, "max-sensitivity, saliency": True,
                               "speckle-sensitivity, saliency": False, "gamma-sensitivity, saliency": False}
    plain = evaluation.score_sensitivities(model, scenes, y, ["saliency"], "VV", 2, progress=False)
    for metric, values in plain["saliency"].scores.items():
        np.testing.assert_allclose(sens["saliency"].scores[metric], values, rtol=1e-6, err_msg=metric)
    assert sens["saliency"].seconds > 0
    for result in (sens, plain):  # NumPy arrays, as MethodScores.mean and the tables expect
        assert all(isinstance(v, np.ndarray) for v in result["saliency"].scores.values())
        assert np.isfinite(result["saliency"].mean("gamma_sensitivity"))


def test_explain_cached_equals_explain_and_keys_on_what_changes_a_map(setup, tmp_path, monkeypatch):
    from sarxai_utils import results
    from sarxai_utils.explain import explain_cached

    monkeypatch.setenv("SARXAI_DATA", str(tmp_path))
    model, x, y, _ = setup
    first = explain_cached(model, x, y, "grad_cam")
    torch.testing.assert_close(first, explain(model, x, y, "grad_cam"))
    assert not results.LAST[-1].loaded
    again = explain_cached(model, x, y.tolist(), "grad_cam", batch_size=2, progress=False)  # same map, same key
    assert results.LAST[-1].loaded and torch.equal(again, first)
    explain_cached(model, x, 3, "grad_cam")  # one class for every image: another target
    assert not results.LAST[-1].loaded
    explain_cached(model, x, y, "grad_cam", layer="layer3")  # an option that changes the map
    assert not results.LAST[-1].loaded
    explain_cached(model, x, y, "grad_cam", layer="layer4", interpolate_mode="bilinear")  # the defaults, spelled out
    assert results.LAST[-1].loaded
    explain_cached(model, x, y, "integrated_gradients", n_steps=200, internal_batch_size=32)
    explain_cached(model, x, y, "integrated_gradients", baseline="black")  # the default call: the same settings
    assert results.LAST[-1].loaded
    with pytest.raises(ValueError, match="unknown method"):
        explain_cached(model, x, y, "no_such_method")
    with pytest.raises(TypeError, match="unknown option"):
        explain_cached(model, x, y, "saliency", n_steps=3)
    explain_cached(model, x, y, "grad_cam", recompute=True)
    assert not results.LAST[-1].loaded
    explain_cached(model, x, y, "grad_cam", enabled=False)
    assert results.LAST[-1].path is None
