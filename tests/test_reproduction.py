"""Tests of sarxai_utils.reproduction: the experiments of lesson 13 on Table 1's Max-Sensitivity disagreement."""

import math

import numpy as np
import pytest
import torch

from sarxai_utils import cam, config, metrics, papers, reproduction, results
from sarxai_utils.errors import ProfileError
from sarxai_utils.explain import PAPER_METHODS, explain


@pytest.fixture(scope="module")
def scenes():
    torch.manual_seed(1)
    return torch.rand(2, 1, 32, 32) * 2 - 1, torch.tensor([3, 7])


# --- input scalings and variant profiles --------------------------------------------------------------------------

def test_input_scalings_convert_the_radius_to_the_course_units():
    radii = reproduction.input_scalings(0.02)
    assert list(radii)[0] == "[-1, 1] (the course)" and radii["[-1, 1] (the course)"] == 0.02
    assert radii["[0, 1]"] == pytest.approx(0.04)  # [0, 1] is half as wide as [-1, 1]: the same r is twice as large
    assert radii["[0, 1], ImageNet-normalised"] == pytest.approx(0.02 * 0.226 * 2)
    assert radii["[0, 255] (8-bit values)"] == pytest.approx(0.04 / 255)
    assert reproduction.input_scalings(0.1)["[0, 1]"] == pytest.approx(0.2)


@pytest.mark.parametrize("bad", [0, -0.02, math.nan, math.inf, True, "0.02", None])
def test_input_scalings_reject_a_bad_radius(bad):
    with pytest.raises(ValueError, match="radius must be a positive number"):
        reproduction.input_scalings(bad)


def test_variant_profiles_change_one_thing():
    laptop = config.load("laptop")
    short = reproduction.variant_profile(laptop, "epochs", 1)
    assert short.epochs == 1 and short.urban_size == laptop.urban_size and short.arch == laptop.arch
    other = reproduction.variant_profile(laptop, "seed", 2)
    assert other.seed == 2 and other.epochs == laptop.epochs and other.n_train_per_class == laptop.n_train_per_class
    deep = reproduction.variant_profile(laptop, "arch", "resnet101")
    assert (deep.arch, deep.urban_size, deep.n_train_per_class, deep.epochs) == ("resnet101", 64, 50, 10)
    tiny = reproduction.variant_profile(config.load("ci"), "arch", "resnet18")
    assert (tiny.urban_size, tiny.n_train_per_class, tiny.epochs) == (64, 3, 1)
    assert deep.name == "laptop" and deep.sens_samples == laptop.sens_samples


def test_variant_profile_rejects_unknown_experiments_and_values():
    cfg = config.load("ci")
    with pytest.raises(ValueError, match="experiment must be"):
        reproduction.variant_profile(cfg, "depth", "resnet18")
    with pytest.raises(ProfileError, match="vgg"):
        reproduction.variant_profile(cfg, "arch", "vgg")
    with pytest.raises(ProfileError, match="epochs"):
        reproduction.variant_profile(cfg, "epochs", 0)


# --- sensitivity columns --------------------------------------------------------------------------------------------

def test_column_without_postprocessing_is_max_sensitivity(slim1, scenes):
    x, y = scenes
    column = reproduction.sensitivity_column(slim1, x, y, methods=["saliency", "grad_cam"], n_samples=3, seed=4)
    assert set(column) == {"saliency", "grad_cam"}
    for m, values in column.items():
        assert values.shape == (2,) and values.dtype == np.float64
        expected = metrics.max_sensitivity(slim1, x, y, m, n_samples=3, seed=4, progress=False).numpy()
        np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_postprocessed_column_compares_the_processed_maps(slim1, scenes):
    x, y = scenes
    got = reproduction.sensitivity_column(slim1, x, y, methods=["input_x_gradient"], n_samples=3,
                                          postprocess="min-max to [0, 1]", cache=False)["input_x_gradient"]
    by_hand = metrics.max_sensitivity(
        slim1, x, y, lambda imgs, t: cam.normalize(explain(slim1, imgs, t, "input_x_gradient")), n_samples=3,
        progress=False).numpy()
    np.testing.assert_allclose(got, by_hand, rtol=1e-6)
    plain = reproduction.sensitivity_column(slim1, x, y, methods=["input_x_gradient"], n_samples=3, cache=False)
    assert not np.allclose(got, plain["input_x_gradient"])  # the processing changes the number
    # Saliency is |gradient| already: its absolute value changes nothing
    a = reproduction.sensitivity_column(slim1, x, y, methods=["saliency"], n_samples=3, cache=False)
    b = reproduction.sensitivity_column(slim1, x, y, methods=["saliency"], n_samples=3, postprocess="absolute value",
                                        cache=False)
    np.testing.assert_allclose(a["saliency"], b["saliency"], rtol=1e-6)


def test_column_is_cached_per_method_and_settings(slim1, scenes):
    x, y = scenes
    kw = dict(methods=["integrated_gradients"], n_samples=2, options={"integrated_gradients": {"n_steps": 4}})
    first = reproduction.sensitivity_column(slim1, x, y, **kw)
    results.LAST.clear()
    again = reproduction.sensitivity_column(slim1, x, y, **kw)
    assert [e.loaded for e in results.LAST] == [True]
    np.testing.assert_array_equal(first["integrated_gradients"], again["integrated_gradients"])
    results.LAST.clear()
    other = reproduction.sensitivity_column(slim1, x, y, **{**kw, "options": {"integrated_gradients": {"n_steps": 8}}})
    assert [e.loaded for e in results.LAST] == [False]  # other options, another entry
    assert not np.allclose(other["integrated_gradients"], first["integrated_gradients"])
    results.LAST.clear()
    reproduction.sensitivity_column(slim1, x, y, **kw, recompute=True)
    assert [e.loaded for e in results.LAST] == [False]


def test_column_rejects_bad_arguments(slim1, scenes):
    x, y = scenes
    with pytest.raises(ValueError, match="postprocess must be one of"):
        reproduction.sensitivity_column(slim1, x, y, methods=["saliency"], postprocess="log")
    with pytest.raises(ValueError, match="methods must be a non-empty list"):
        reproduction.sensitivity_column(slim1, x, y, methods=["ms_cam"])
    with pytest.raises(ValueError, match="methods must be a non-empty list"):
        reproduction.sensitivity_column(slim1, x, y, methods=[])
    with pytest.raises(ValueError, match="options must map some of the methods"):
        reproduction.sensitivity_column(slim1, x, y, methods=["saliency"], options={"occlusion": {"stride": 2}})
    with pytest.raises(ValueError, match="radius"):
        reproduction.sensitivity_column(slim1, x, y, methods=["saliency"], radius=-1, cache=False)


# --- agreement and verdicts -----------------------------------------------------------------------------------------

def test_the_paper_agrees_with_itself():
    column = dict(papers.SU_TABLE1["max_sensitivity"]["VH"])
    a = reproduction.agreement(column, "VH")
    assert a.rho == pytest.approx(1.0) and a.grad_cam_rank == 8 and a.pixel_level == pytest.approx(1.0)
    assert a.explains_grad_cam() and a.explains_pixel_level()


def test_agreement_of_a_column_like_ours():
    paper = papers.SU_TABLE1["max_sensitivity"]["VV"]
    ours = {m: np.full(3, 2.5 * paper[m]) for m in PAPER_METHODS}  # per-scene values: the mean is used
    ours["grad_cam"] = np.array([0.01, 0.02, 0.03])  # the most stable instead of the least
    a = reproduction.agreement(ours, "VV")
    assert a.grad_cam_rank == 1 and a.pixel_level == pytest.approx(2.5)
    assert not a.explains_grad_cam() and not a.explains_pixel_level()
    assert a.rho < 0.5
    assert a.rho_without_grad_cam == pytest.approx(1.0)  # the seven others keep the paper's order
    line = reproduction.verdict("test", a, a)
    assert line.startswith("test: puts Grad-CAM at rank 1 of 8 (baseline 1, the paper 8)")
    assert line.endswith("reproduces neither part")
    fixed = reproduction.agreement({m: paper[m] * 1.2 for m in PAPER_METHODS}, "VV")
    text = reproduction.verdict("t", fixed, a)
    assert "the pixel methods at 1.20 x the paper's level (baseline 2.50 x)" in text
    assert text.endswith("reproduces Grad-CAM's rank and the pixel level")
    assert reproduction.verdict("t", fixed, fixed).endswith(
        "reproduces neither part (Grad-CAM's rank and the pixel level already agreed at the baseline)")


def test_level_interval_brackets_the_level_and_rejects_bad_columns():
    paper = papers.SU_TABLE1["max_sensitivity"]["VV"]
    rng = np.random.default_rng(0)
    column = {m: paper[m] * rng.uniform(1.5, 2.5, 20) for m in PAPER_METHODS}
    low, high = reproduction.level_interval(column, "VV", n_boot=500)
    level = reproduction.agreement(column, "VV").pixel_level
    assert 1.5 < low < level < high < 2.5
    flat = {m: np.full(20, 3 * paper[m]) for m in PAPER_METHODS}
    assert reproduction.level_interval(flat, "VV") == pytest.approx((3.0, 3.0))
    with pytest.raises(ValueError, match="at least two finite"):
        reproduction.level_interval({m: v[:1] for m, v in column.items()})
    with pytest.raises(ValueError, match="at least two finite"):
        reproduction.level_interval({**column, "saliency": np.full(20, np.nan)})
    with pytest.raises(ValueError, match="polarization must be 'VV' or 'VH', got 'HH'"):
        reproduction.level_interval(column, "HH")
    with pytest.raises(ValueError, match="lacks.*grad_cam"):
        reproduction.level_interval({m: v for m, v in column.items() if m != "grad_cam"})
    with pytest.raises(ValueError, match="differ in length"):
        reproduction.level_interval({**column, "saliency": column["saliency"][:10]})


def test_paper_column_is_table_1_in_method_order():
    for pol in ("VV", "VH"):
        assert reproduction.paper_column(pol).tolist() == [papers.SU_TABLE1["max_sensitivity"][pol][m]
                                                           for m in PAPER_METHODS]
    with pytest.raises(ValueError, match="polarization"):
        reproduction.paper_column("both")


def test_agreement_rejects_incomplete_or_bad_columns():
    paper = dict(papers.SU_TABLE1["max_sensitivity"]["VV"])
    with pytest.raises(ValueError, match="lacks \\['occlusion'\\]"):
        reproduction.agreement({m: v for m, v in paper.items() if m != "occlusion"})
    with pytest.raises(ValueError, match="NaN or inf"):
        reproduction.agreement({**paper, "saliency": math.nan})
    with pytest.raises(ValueError, match="polarization must be"):
        reproduction.agreement(paper, "HH")


# --- confidence -----------------------------------------------------------------------------------------------------

def test_confidence_is_the_softmax_probability_of_the_target(slim1, scenes):
    x, y = scenes
    got = reproduction.confidence(slim1, x, y)
    with torch.no_grad():
        expected = torch.softmax(slim1(x), 1)[torch.arange(2), y].double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got.shape == (2,) and ((got > 0) & (got < 1)).all()
    with pytest.raises(ValueError, match="targets"):
        reproduction.confidence(slim1, x, torch.tensor([0.5, 1.0]))


def test_tally_counts_each_change_against_its_own_baseline():
    agree = reproduction.Agreement
    columns = {"base": agree(0.1, 1, 3.0, 0.6), "seed 2": agree(0.0, 2, 3.1, 0.5),
               "min-max": agree(0.2, 1, 1.2, 0.6),  # the level reproduced, the rank not
               "rank only": agree(0.5, 8, 3.0, 0.6),  # the rank reproduced
               "small base": agree(0.3, 7, 1.1, 0.6), "small deep": agree(0.3, 8, 1.0, 0.6)}  # already agreed
    tallied = reproduction.tally(columns, {"min-max": "base", "rank only": "base", "small deep": "small base"})
    assert tallied.changes == ("min-max", "rank only", "small deep")
    assert tallied.rank_reproduced == ("rank only",) and tallied.level_reproduced == ("min-max",)
    assert tallied.rank_range == (1, 8)
    with pytest.raises(ValueError, match="lacks.*'nowhere'"):
        reproduction.tally(columns, {"min-max": "nowhere"})
    with pytest.raises(ValueError, match="empty"):
        reproduction.tally({}, {})
