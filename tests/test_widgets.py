"""The lesson 11 explorer, driven as a learner drives it: by setting widget values."""

from __future__ import annotations

import numpy as np
import pytest
import real_layouts
import torch
from torch import nn

from sarxai_utils import config, data, localization, metrics, models, widgets
from sarxai_utils.explain import explain


class ChannelMean(nn.Module):
    """A tiny classifier whose logits depend on the input: fast, deterministic, differentiable, with a layer4."""

    def __init__(self, channels: int, classes: int = 10):
        super().__init__()
        torch.manual_seed(0)
        self.layer4 = nn.Conv2d(channels, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, classes)

    def forward(self, x):
        return self.fc(self.relu(self.layer4(x)).mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def sources():
    urban = data.synthetic_urban(2, 40, seed=5, cache=False, progress=False)
    targets = data.synthetic_targets(2, 48, seed=5, cache=False, progress=False)
    return [
        widgets.Source("urban", "urban", ("VV", "VH"), urban.images, urban.labels, urban.classes, masks=urban.masks),
        widgets.Source("targets", "targets", ("HH",), targets.images, targets.labels, targets.classes,
                       masks=targets.masks, boxes=targets.boxes),
    ]


@pytest.fixture
def explorer(sources):
    loaded = []

    def loader(dataset, polarization, *source):
        loaded.append((dataset, polarization, *source))
        return ChannelMean(2 if polarization == "both" else 1)

    e = widgets.Explorer("ci", sources=sources, model_loader=loader,
                         methods=["saliency", "grad_cam", "integrated_gradients", "ms_cam"], device="cpu")
    e.loaded = loaded
    return e


def test_starts_on_the_first_source_with_a_picture_and_metrics(explorer):
    state = explorer.state()
    assert state["dataset"] == "urban" and state["polarization"] == "VV" and state["index"] == 0
    assert state["n_samples"] == 20
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"p(true class)", "relevance mass", "relevance mass, chance", "mask IoU"} <= set(state["metrics"])
    assert "box IoU" not in state["metrics"], "urban scenes have no boxes"
    assert "ready" in explorer.status.value
    assert explorer.polarization.options == (("VV", "VV"), ("VH", "VH"), ("VV+VH", "both"))


def test_changing_the_method_changes_the_picture_and_uses_the_cache(explorer):
    before, count = explorer.image.value, explorer.n_attributions
    explorer.method.value = "grad_cam"
    assert explorer.image.value != before and explorer.n_attributions == count + 1
    explorer.method.value = "saliency"
    assert explorer.image.value == before, "back to a seen state: the same picture"
    assert explorer.n_attributions == count + 1, "and no new attribution"


def test_busy_indicator_is_raised_while_computing_and_cleared_after(explorer):
    explorer.busy_history.clear()
    explorer.method.value = "integrated_gradients"
    assert explorer.busy_history[0] is True and explorer.busy_history[-1] is False
    explorer.busy_history.clear()
    explorer.opacity.value = 0.3  # display only: nothing to compute
    assert explorer.busy_history == [False]


def test_shown_map_is_explain_of_the_selected_scene_and_class(explorer, sources):
    explorer.sample.value = 3
    explorer.target.value = 4
    x = explorer.inputs([3])
    want = explain(ChannelMean(1), x, [4], "saliency")[0].numpy()
    np.testing.assert_allclose(explorer.attribution(), want, rtol=1e-5, atol=1e-7)
    assert explorer.state()["target"] == 4 and explorer.state()["index"] == 3


def test_predicted_target_follows_the_model(explorer):
    probs = explorer.probabilities()
    explorer.sample.value = 5
    assert explorer.target_class() == int(probs[5].argmax())
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_class_filter_and_misclassified_only(explorer, sources):
    explorer.class_filter.value = 3
    assert (sources[0].labels[explorer.indices] == 3).all() and len(explorer.indices) == 2
    assert explorer.sample.max == 1
    explorer.class_filter.value = widgets.ALL_CLASSES
    explorer.misclassified.value = True
    wrong = np.flatnonzero(explorer.probabilities().argmax(axis=1) != sources[0].labels)
    np.testing.assert_array_equal(explorer.indices, wrong)


def test_empty_filter_shows_a_message_not_an_error(explorer, sources):
    probs = explorer.probabilities()
    right = [k for k in range(10) if ((sources[0].labels == k) & (probs.argmax(1) == k)).sum() == 2]
    if not right:
        pytest.skip("the random model gets no class fully right on these scenes")
    explorer.class_filter.value = right[0]
    explorer.misclassified.value = True
    assert explorer.index is None and explorer.state()["metrics"] == {}
    assert "No scene matches" in explorer.info.value


def test_dataset_switch_updates_polarizations_classes_and_box_metrics(explorer, sources):
    explorer.dataset.value = "targets"
    assert explorer.polarization.value == "HH" and explorer.polarization.options == (("HH", "HH"),)
    assert [label for label, _ in explorer.target.options][1:] == sources[1].classes
    assert ("targets", "HH") in explorer.loaded
    assert "box IoU" in explorer.state()["metrics"]


def test_threshold_moves_the_box_and_the_iou(explorer):
    explorer.dataset.value = "targets"
    explorer.method.value = "ms_cam"
    boxes = {}
    for t in (0.1, 0.9):
        explorer.threshold.value = t
        boxes[t] = explorer.box()
        want = localization.cam_to_box(np.clip(explorer.attribution(), 0, None), t)
        np.testing.assert_array_equal(boxes[t], want)
        iou = localization.box_iou(want, explorer.source.boxes[explorer.index])
        assert explorer.state()["metrics"]["box IoU"] == pytest.approx(iou)
    area = {t: localization.box_area(b) for t, b in boxes.items()}
    assert area[0.1] > area[0.9], "a lower threshold keeps more pixels: a larger box"


def test_max_sensitivity_on_demand_equals_the_metric(explorer):
    assert "Max-Sensitivity" not in explorer.state()["metrics"]
    explorer.sensitivity_button.click()
    score = explorer.state()["metrics"]["Max-Sensitivity"]
    x, target = explorer.inputs([explorer.index]), explorer.target_class()
    want = metrics.max_sensitivity(explorer.model(), x, [target], "saliency", n_samples=config.load("ci").sens_samples)
    assert score == pytest.approx(float(want[0]), rel=1e-5)


def test_precompute_fills_the_cache_with_the_single_maps(explorer):
    done = explorer.precompute(["saliency"], indices=[0, 1, 2])
    assert done == 2, "scene 0 was already explained when the explorer opened"
    count = explorer.n_attributions
    explorer.sample.value = 2
    assert explorer.n_attributions == count, "precomputed: shown without computing"
    single = explain(explorer.model(), explorer.inputs([2]), [explorer.target_class()], "saliency")[0].numpy()
    np.testing.assert_allclose(explorer.attribution(), single, rtol=1e-5, atol=1e-7)


def test_dual_polarization_model_gets_both_channels(explorer):
    explorer.polarization.value = "both"
    assert explorer.inputs([0]).shape[1] == 2 and ("urban", "both") in explorer.loaded
    assert explorer.image.value[:4] == b"\x89PNG"


def _pixels(png: bytes) -> np.ndarray:
    """The RGBA pixels of a PNG."""
    import io

    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")


def test_one_figure_is_updated_in_place_at_every_change(explorer, monkeypatch):
    fig = explorer.figure()
    axes, images, bars = list(fig.axes), list(fig.axes[1].images), list(fig.axes[2].patches)
    built = []
    monkeypatch.setattr(widgets, "Figure", lambda *args, **kwargs: built.append(args))
    for name, value in [("method", "grad_cam"), ("sample", 4), ("threshold", 0.2), ("opacity", 0.4), ("target", 2),
                        ("method", "integrated_gradients"), ("polarization", "VH"), ("dataset", "targets"),
                        ("sample", 1), ("dataset", "urban")]:
        getattr(explorer, name).value = value
        assert explorer.figure() is fig, f"{name}: a new Figure"
        assert fig.axes == axes and list(fig.axes[1].images) == images and list(fig.axes[2].patches) == bars, \
            f"{name}: new axes or artists instead of the same ones updated"
        assert len(fig.axes[1].patches) == 2 and len(fig.axes[1].collections) == 1, f"{name}: artists pile up"
    assert not built


def test_picture_after_many_changes_equals_a_fresh_explorers(explorer, sources):
    for name, value in [("method", "integrated_gradients"), ("sample", 3), ("threshold", 0.9), ("polarization", "VH"),
                        ("dataset", "targets"), ("method", "grad_cam"), ("sample", 1), ("threshold", 0.2),
                        ("target", 4), ("dataset", "urban"), ("polarization", "both"), ("sample", 6),
                        ("dataset", "targets"), ("method", "integrated_gradients"), ("opacity", 0.5),
                        ("threshold", 0.35)]:
        getattr(explorer, name).value = value
    fresh = widgets.Explorer("ci", sources=sources, model_loader=lambda d, p, *s: ChannelMean(1),
                             methods=explorer.methods, device="cpu")
    for name in ("dataset", "method", "sample", "target", "opacity", "threshold"):
        getattr(fresh, name).value = getattr(explorer, name).value
    assert {**fresh.state(), "last_update_s": 0} == {**explorer.state(), "last_update_s": 0}
    np.testing.assert_array_equal(_pixels(explorer.image.value), _pixels(fresh.image.value),
                                  err_msg="an artist of an earlier state is still shown")
    legend = [t.get_text() for t in explorer.figure().axes[1].get_legend().get_texts()]
    assert legend == ["true box"] + (["box at 0.35"] if (explorer.box() >= 0).all() else [])


def test_updated_artists_show_the_state_as_viz_draws_it(explorer):
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    from sarxai_utils import viz

    for name, value in [("method", "grad_cam"), ("sample", 5), ("dataset", "targets"),
                        ("method", "integrated_gradients"), ("sample", 2), ("opacity", 0.6)]:
        getattr(explorer, name).value = value
    fig, src, index = explorer.figure(), explorer.source, explorer.index
    shown, limits = src.intensity[index, 0], viz.db_limits(src.intensity[index, 0])
    ref = Figure().add_subplot()
    viz.show_db(ref, shown, "", *limits, colorbar=False)
    viz.show_attribution(ref, explorer.attribution(), shown, "", signed=True, alpha=0.6, db_range=limits,
                         colorbar=False)
    for mine, want in zip([*fig.axes[0].images, *fig.axes[1].images], ref.images, strict=True):
        np.testing.assert_array_equal(mine.get_array(), want.get_array())
        np.testing.assert_equal(mine.get_alpha(), want.get_alpha())
        assert (mine.get_clim(), mine.get_cmap().name, mine.get_extent()) == \
            (want.get_clim(), want.get_cmap().name, want.get_extent())
    assert [fig.axes[3].get_ylabel(), fig.axes[4].get_ylabel()] == ["HH backscatter (dB)",
                                                                     "attribution (+ for, - against)"]
    x0, y0, x1, y1 = src.boxes[index]
    assert fig.axes[1].patches[0].get_bbox().bounds == (x0 - 0.5, y0 - 0.5, x1 - x0 + 1, y1 - y0 + 1)
    probs = explorer.probabilities()[index]
    want = ["tab:green" if k == src.labels[index] else "tab:red" if k == probs.argmax() else "tab:gray"
            for k in range(len(probs))]
    assert [to_hex(bar.get_facecolor()) for bar in fig.axes[2].patches] == [to_hex(c) for c in want]
    np.testing.assert_allclose([bar.get_width() for bar in fig.axes[2].patches], probs)
    assert [t.get_text() for t in fig.axes[2].get_yticklabels()] == src.classes


def test_empty_filter_hides_the_picture_and_the_next_match_brings_it_back(sources):
    urban = sources[0]
    few = widgets.Source("few", "urban", ("VV",), urban.intensity[:4, :1], [0, 0, 1, 1], urban.classes,
                         masks=urban.masks[:4])
    e = widgets.Explorer("ci", sources=[few], model_loader=lambda d, p: ChannelMean(1),
                         methods=["saliency", "grad_cam"], device="cpu")
    fig, before = e.figure(), e.image.value
    e.class_filter.value = 5  # no scene of this class
    assert e.index is None and "No scene matches" in e.info.value and e.image.value != before
    assert e.figure() is fig and not any(ax.get_visible() for ax in fig.axes)
    assert [t.get_text() for t in fig.texts if t.get_visible()] == ["no scene matches the filter"]
    empty = e.image.value
    e.method.value = "grad_cam"
    assert e.image.value == empty, "nothing to show, whatever the method"
    e.class_filter.value = 1
    assert e.index == 2 and all(ax.get_visible() for ax in fig.axes) and not any(t.get_visible() for t in fig.texts)
    e.class_filter.value = widgets.ALL_CLASSES
    e.method.value = "saliency"
    assert e.index == 0 and e.image.value == before, "back to the first state: the same picture"


def test_source_rejects_bad_input():
    images = np.ones((2, 1, 8, 8), np.float32)
    with pytest.raises(ValueError, match="channels"):
        widgets.Source("s", "urban", ("VV", "VH"), images, [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="labels"):
        widgets.Source("s", "urban", ("VV",), images, [0, 5], ["a", "b"])
    with pytest.raises(ValueError, match="non-negative"):
        widgets.Source("s", "urban", ("VV",), images * np.nan, [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="intensity"):
        widgets.Source("s", "urban", ("VV",), images[0], [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="masks"):
        widgets.Source("s", "urban", ("VV",), images, [0, 1], ["a", "b"], masks=np.ones((2, 8, 8)))
    with pytest.raises(ValueError, match="boxes"):
        widgets.Source("s", "urban", ("VV",), images, [0, 1], ["a", "b"], boxes=np.ones((2, 3)))


def test_explorer_rejects_bad_arguments(sources):
    with pytest.raises(ValueError, match="methods"):
        widgets.Explorer("ci", sources=sources, model_loader=lambda d, p: ChannelMean(1), methods=["nope"])
    with pytest.raises(ValueError, match="sources"):
        widgets.Explorer("ci", sources=[], model_loader=lambda d, p: ChannelMean(1))
    with pytest.raises(ValueError, match="distinct"):
        widgets.Explorer("ci", sources=[sources[0], sources[0]], model_loader=lambda d, p: ChannelMean(1))


def test_course_sources_are_the_held_out_embedded_sets(tmp_path, monkeypatch):
    real_layouts.write_opensarurban(tmp_path / "OpenSARUrban", "pol_folders", ".tif", n=2, size=64)
    monkeypatch.setenv("SARXAI_OPENSARURBAN", str(tmp_path / "OpenSARUrban"))  # on disk, but not asked for
    cfg = config.load("ci")
    found = widgets.course_sources(cfg)
    assert [s.name for s in found] == ["urban scenes (embedded)", "target chips (embedded)"]
    assert [(s.dataset, s.source) for s in found] == [("urban", "embedded"), ("targets", "embedded")]
    test = data.embedded_split(cfg, "urban", progress=False)[1]
    np.testing.assert_array_equal(found[0].intensity, test.images)
    assert found[1].boxes is not None and found[0].boxes is None
    assert not any(s.approximate or s.note for s in found)


@pytest.fixture
def opensarurban(tmp_path, monkeypatch):
    """A small OpenSARUrban copy in the layout of a real download (VV / VH folders, .tif amplitude)."""
    real_layouts.write_opensarurban(tmp_path / "OpenSARUrban", "pol_folders", ".tif", n=3, size=64)
    monkeypatch.setenv("SARXAI_OPENSARURBAN", str(tmp_path / "OpenSARUrban"))


@pytest.fixture
def mstar(tmp_path, monkeypatch):
    """A small MSTAR release tree (17 and 15 degrees) without mask files."""
    real_layouts.write_mstar_tree(tmp_path / "MSTAR", "release", n_train=2, n_test=2, size=128)
    monkeypatch.setenv("SARXAI_MSTAR", str(tmp_path / "MSTAR"))


def test_opensarurban_switch_puts_the_real_test_set_in_place_of_the_urban_scenes(opensarurban):
    cfg = config.load("ci")
    urban, targets = widgets.course_sources(cfg, "opensarurban")
    test = data.lesson_data(cfg, "opensarurban", "urban", progress=False)[1]
    assert urban.name == "urban scenes (OpenSARUrban, real)"
    assert (urban.dataset, urban.source) == ("urban", "opensarurban")
    np.testing.assert_array_equal(urban.intensity, test.images)
    np.testing.assert_array_equal(urban.labels, test.labels)
    assert urban.classes == list(data.URBAN_CLASSES) and urban.polarizations == ("VV", "VH")
    assert urban.masks is None and urban.boxes is None and "no evidence masks" in urban.note
    assert (targets.name, targets.source) == ("target chips (embedded)", "embedded")


def test_mstar_switch_puts_real_chips_with_approximate_boxes_in_place_of_the_targets(mstar):
    cfg = config.load("ci")
    urban, targets = widgets.course_sources(cfg, "mstar")
    test = data.lesson_data(cfg, "mstar", "targets", progress=False)[1]
    assert test.params["masks"] == "approximate"
    assert targets.name == "target chips (MSTAR, real; boxes approximate)"
    assert (targets.dataset, targets.source, targets.approximate) == ("targets", "mstar", True)
    assert "approximate" in targets.note and targets.classes == list(test.classes)
    np.testing.assert_array_equal(targets.intensity, test.images)
    np.testing.assert_array_equal(targets.boxes, test.boxes)
    np.testing.assert_array_equal(targets.masks, test.masks)
    assert (urban.name, urban.source) == ("urban scenes (embedded)", "embedded")


def test_real_sources_are_classified_by_models_trained_on_them(opensarurban):
    loaded = []

    def loader(dataset, polarization, *source):
        loaded.append((dataset, polarization, *source))
        return ChannelMean(2 if polarization == "both" else 1)

    e = widgets.Explorer("ci", data="opensarurban", model_loader=loader, methods=["saliency"], device="cpu")
    assert e.data == "opensarurban" and e.state()["dataset"] == "urban scenes (OpenSARUrban, real)"
    assert loaded == [("urban", "VV", "opensarurban")]
    metrics_shown = e.state()["metrics"]
    assert "p(true class)" in metrics_shown and not {"relevance mass", "mask IoU", "box IoU"} & set(metrics_shown)
    assert "no evidence masks" in e.info.value and e.image.value[:4] == b"\x89PNG"
    e.polarization.value = "both"
    e.dataset.value = "target chips (embedded)"
    assert loaded[1:] == [("urban", "both", "opensarurban"), ("targets", "HH")], "embedded: two arguments, as before"
    assert e.model("urban", "both") is e.model("urban", "both", "opensarurban"), "one model per data, kept"


def test_the_same_dataset_from_two_data_gets_two_models(sources):
    loaded = []

    def loader(dataset, polarization, *source):
        loaded.append((dataset, polarization, *source))
        return ChannelMean(1)

    real = widgets.Source("real", "urban", sources[0].polarizations, sources[0].intensity, sources[0].labels,
                          sources[0].classes, source="opensarurban")
    e = widgets.Explorer("ci", sources=[sources[0], real], model_loader=loader, methods=["saliency"], device="cpu")
    e.dataset.value = "real"
    assert loaded == [("urban", "VV"), ("urban", "VV", "opensarurban")]
    assert "relevance mass" not in e.state()["metrics"]


def test_mstar_chips_show_approximate_boxes_and_scores(mstar):
    e = widgets.Explorer("ci", data="mstar", model_loader=lambda d, p, *s: ChannelMean(1), methods=["grad_cam"],
                         device="cpu")
    e.dataset.value = e.sources[1].name
    assert e.polarization.value == "HH" and [c for c, _ in e.target.options][1:] == e.source.classes
    assert "box IoU" in e.state()["metrics"] and "approximate" in e.info.value
    assert "approx. box" in [t.get_text() for t in e.figure().axes[1].get_legend().get_texts()]


def test_data_switch_rejects_bad_values(sources):
    with pytest.raises(ValueError, match="data must be one of"):
        widgets.course_sources(config.load("ci"), "sentinel")
    with pytest.raises(ValueError, match="data must be one of"):
        widgets.Explorer("ci", data="MSTAR!", model_loader=lambda d, p: ChannelMean(1))
    with pytest.raises(ValueError, match="either sources or data"):
        widgets.Explorer("ci", sources=sources, data="mstar", model_loader=lambda d, p: ChannelMean(1))
    with pytest.raises(ValueError, match="trained on one of"):
        widgets.Source("s", "urban", ("VV",), np.ones((1, 1, 8, 8), np.float32), [0], ["a"], source="mstar")


def test_opensarurban_switch_needs_the_data_on_disk():
    from sarxai_utils.errors import DataFolderError

    with pytest.raises(DataFolderError, match="SARXAI_OPENSARURBAN"):
        widgets.course_sources(config.load("ci"), "opensarurban")


def test_explores_a_trained_course_model(trained_vv):
    model, images, labels = trained_vv
    intensity = models_intensity(images)
    src = widgets.Source("held-out", "urban", ("VV",), intensity, labels.numpy(), list(data.URBAN_CLASSES))
    e = widgets.Explorer("ci", sources=[src], model_loader=lambda d, p: model, methods=["grad_cam", "occlusion"])
    e.method.value = "occlusion"
    assert e.n_attributions == 2 and e.state()["metrics"]["p(true class)"] > 0


def models_intensity(images: torch.Tensor) -> np.ndarray:
    """Model input back to linear intensity (the inverse of datasets.preprocess inside the dB window)."""
    from sarxai_utils import sar

    return sar.from_db(sar.denormalize_db(images)).numpy().astype(np.float32)


def test_model_loader_default_is_load_or_train(monkeypatch, sources):
    calls = []

    def fake(profile, dataset, polarization, device=None, progress=True, source="embedded"):
        calls.append((profile.name, dataset, polarization, source))
        return ChannelMean(1), {}

    monkeypatch.setattr(models, "load_or_train", fake)
    e = widgets.Explorer("ci", sources=sources[:1], methods=["saliency"])
    assert calls == [("ci", "urban", "VV", "embedded")]
    real = widgets.Source("real", "urban", ("VV",), sources[0].intensity[:, :1], sources[0].labels,
                          sources[0].classes, source="opensarurban")
    widgets.Explorer("ci", sources=[real], methods=["saliency"])
    assert calls[-1] == ("ci", "urban", "VV", "opensarurban"), "trained on the data it classifies"
    assert e.data == "embedded"


def test_try_it_runs_once_now_and_again_on_run():
    import ipywidgets as W

    calls = []
    box = widgets.try_it(lambda n, name: calls.append((n, name)), n=W.IntSlider(value=3, min=1, max=9),
                         name=W.Dropdown(options=["a", "b"], value="a"))
    assert calls == [(3, "a")], "called once with the controls' values, without interaction"
    box.children[0].value = 7
    assert calls == [(3, "a")], "manual: nothing until Run is pressed"
    box.manual_button.click()
    assert calls[-1] == (7, "a")


def test_try_it_rejects_bad_arguments():
    import ipywidgets as W

    with pytest.raises(TypeError, match="callable"):
        widgets.try_it(42, n=W.IntSlider())
    with pytest.raises(ValueError, match="control"):
        widgets.try_it(print)
    with pytest.raises(TypeError, match="n"):
        widgets.try_it(print, n=3)
