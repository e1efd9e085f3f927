"""Tests of sarxai_utils.viz: dB display limits, dB images with colour bars, boxes and class galleries."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from sarxai_utils import data, sar, viz  # noqa: E402
from sarxai_utils.synthetic import SyntheticSAR  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def urban() -> SyntheticSAR:
    return data.synthetic_urban(1, 64, seed=0, cache=False, progress=False)


@pytest.fixture(scope="module")
def targets() -> SyntheticSAR:
    return data.synthetic_targets(1, 64, seed=0, cache=False, progress=False)


def _tiny(n_classes: int = 3, per_class: int = 1, channels: int = 1, size: int = 8, boxes: bool = False,
          labels: np.ndarray | None = None) -> SyntheticSAR:
    rng = np.random.default_rng(0)
    if labels is None:
        labels = np.tile(np.arange(n_classes), per_class)
    n = len(labels)
    masks = np.zeros((n, size, size), bool)
    masks[:, 2:5, 2:5] = True
    return SyntheticSAR(
        images=rng.uniform(0.01, 1.0, (n, channels, size, size)).astype(np.float32),
        labels=np.asarray(labels, np.int64),
        masks=masks,
        classes=[f"class{k}" for k in range(n_classes)],
        polarizations=("VV", "VH")[:channels] if channels <= 2 else tuple(f"C{i}" for i in range(channels)),
        boxes=np.tile(np.array([2, 2, 4, 4], np.int64), (n, 1)) if boxes else None,
        shadow_masks=masks.copy() if boxes else None,
    )


def _image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.images]


# --- db_limits ------------------------------------------------------------------------------------------------


def test_db_limits_ordering_and_values():
    images = sar.from_db(np.linspace(-30.0, 0.0, 1001))
    lo, hi = viz.db_limits(images)
    assert isinstance(lo, float) and isinstance(hi, float)
    assert lo < hi
    assert lo == pytest.approx(-30.0 + 0.01 * 30.0, abs=0.05)
    assert hi == pytest.approx(-30.0 + 0.995 * 30.0, abs=0.05)


def test_db_limits_custom_percentiles_and_shape():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.001, 1.0, (4, 16, 16))
    lo, hi = viz.db_limits(images, low=0.0, high=100.0)
    assert lo == pytest.approx(float(sar.to_db(images.min())), abs=1e-4)
    assert hi == pytest.approx(float(sar.to_db(images.max())), abs=1e-4)
    narrow = viz.db_limits(images, low=40.0, high=60.0)
    assert lo < narrow[0] < narrow[1] < hi


def test_db_limits_constant_image():
    lo, hi = viz.db_limits(np.full((8, 8), 0.1))
    assert lo == pytest.approx(-10.0, abs=1e-4) and hi == pytest.approx(-10.0, abs=1e-4)


# --- show_db ---------------------------------------------------------------------------------------------------


def test_show_db_image_title_and_colorbar():
    fig, ax = plt.subplots()
    image = sar.from_db(np.linspace(-20, 0, 64).reshape(8, 8))
    handle = viz.show_db(ax, image, "VV, Airport")
    assert isinstance(handle, AxesImage)
    assert ax.get_title() == "VV, Airport"
    np.testing.assert_allclose(handle.get_array(), sar.to_db(image), atol=1e-5)
    assert handle.get_cmap().name == "gray"
    assert handle.colorbar is not None
    assert handle.colorbar.ax.get_ylabel() == "dB"
    assert len(fig.axes) == 2
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def test_show_db_limits_and_no_colorbar():
    fig, ax = plt.subplots()
    handle = viz.show_db(ax, np.ones((4, 5)), "t", vmin=-25.0, vmax=5.0, colorbar=False)
    assert handle.get_clim() == (-25.0, 5.0)
    assert handle.colorbar is None
    assert len(fig.axes) == 1
    assert handle.get_array().shape == (4, 5)


@pytest.mark.parametrize("shape", [(8,), (1, 8, 8), (2, 2, 8, 8)])
def test_show_db_non_2d_raises(shape):
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="2-D"):
        viz.show_db(ax, np.ones(shape), "bad")
    assert not ax.images


# --- draw_box ------------------------------------------------------------------------------------------------------


def test_draw_box_adds_inclusive_rectangle():
    _, ax = plt.subplots()
    assert len(ax.patches) == 0
    viz.draw_box(ax, np.array([2, 3, 10, 7]), color="yellow", label="target")
    assert len(ax.patches) == 1
    rect = ax.patches[0]
    assert isinstance(rect, Rectangle)
    assert rect.get_xy() == (1.5, 2.5)
    assert rect.get_width() == 9 and rect.get_height() == 5
    assert not rect.get_fill()
    assert rect.get_label() == "target"
    np.testing.assert_allclose(rect.get_edgecolor(), matplotlib.colors.to_rgba("yellow"))
    viz.draw_box(ax, [0, 0, 0, 0])
    assert len(ax.patches) == 2
    assert ax.patches[1].get_width() == 1 and ax.patches[1].get_height() == 1


# --- class_gallery -------------------------------------------------------------------------------------------------


def test_class_gallery_urban(urban):
    fig = viz.class_gallery(urban)
    assert isinstance(fig, Figure)
    image_axes = _image_axes(fig)
    assert len(image_axes) == len(urban.classes) == 10
    assert [ax.get_title() for ax in image_axes] == list(urban.classes)
    # one shared scale on every panel
    clims = {ax.images[0].get_clim() for ax in image_axes}
    assert len(clims) == 1
    assert clims.pop() == pytest.approx(viz.db_limits(urban.images[:, 0]))
    # the colour bar in dB
    colorbar_axes = [ax for ax in fig.axes if ax not in image_axes]
    assert len(colorbar_axes) == 1 and colorbar_axes[0].get_ylabel() == "dB"
    assert "VV" in fig.get_suptitle()
    assert all(len(ax.patches) == 0 for ax in image_axes)  # no boxes for urban scenes


def test_class_gallery_urban_second_channel_and_title(urban):
    fig = viz.class_gallery(urban, channel=1, title="VH gallery")
    assert fig.get_suptitle() == "VH gallery"
    first = _image_axes(fig)[0]
    np.testing.assert_allclose(first.images[0].get_array(), sar.to_db(urban.images[0, 1]), atol=1e-5)


def test_class_gallery_default_title_names_channel(urban):
    assert "VH" in viz.class_gallery(urban, channel=1).get_suptitle()


def test_class_gallery_targets_with_boxes(targets):
    fig = viz.class_gallery(targets)
    image_axes = _image_axes(fig)
    assert len(image_axes) == 10
    assert [ax.get_title() for ax in image_axes] == list(targets.classes)
    for k, ax in enumerate(image_axes):
        boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(boxes) == 1
        x0, y0, x1, y1 = targets.boxes[k]
        assert boxes[0].get_xy() == (x0 - 0.5, y0 - 0.5)
    assert "HH" in fig.get_suptitle()


def test_class_gallery_no_evidence(targets):
    fig = viz.class_gallery(targets, show_evidence=False)
    assert all(len(ax.patches) == 0 for ax in _image_axes(fig))


def test_class_gallery_rows_per_example():
    ds = _tiny(n_classes=3, per_class=2)
    fig = viz.class_gallery(ds, n_per_class=2)
    image_axes = _image_axes(fig)
    assert len(image_axes) == 6
    grid = {(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start) for ax in image_axes}
    assert grid == {(r, c) for r in range(2) for c in range(3)}
    titles = sorted(ax.get_title() for ax in image_axes)
    assert titles == ["", "", "", "class0", "class1", "class2"]


def test_class_gallery_uneven_classes_turns_off_empty_panels():
    ds = _tiny(n_classes=2, labels=np.array([0, 1, 0]))
    fig = viz.class_gallery(ds, n_per_class=2)
    assert len(_image_axes(fig)) == 3
    off = [ax for ax in fig.axes if not ax.axison]
    assert len(off) == 1 and not off[0].images


def test_class_gallery_tiny_dataset_with_boxes():
    fig = viz.class_gallery(_tiny(n_classes=2, boxes=True), title="tiny")
    assert all(len(ax.patches) == 1 for ax in _image_axes(fig))
    assert fig.get_suptitle() == "tiny"


def test_class_gallery_missing_class_raises(urban):
    without = urban.subset(np.flatnonzero(urban.labels != 3))
    with pytest.raises(ValueError, match="HighBuildings"):
        viz.class_gallery(without)


def test_class_gallery_missing_classes_all_named():
    ds = _tiny(n_classes=4, labels=np.array([0, 2]))
    with pytest.raises(ValueError) as info:
        viz.class_gallery(ds)
    assert "class1" in str(info.value) and "class3" in str(info.value)
    assert "class0" not in str(info.value)


def test_confusion_matrix_normalises_rows_and_annotates():
    fig, ax = plt.subplots()
    handle = viz.confusion_matrix(ax, np.array([[8, 2], [0, 0]]), ["a", "b"], "t")
    shares = handle.get_array()
    assert np.allclose(shares[0], [0.8, 0.2]) and np.allclose(shares[1], [0.0, 0.0]), "empty rows stay 0"
    assert sorted(t.get_text() for t in ax.texts) == ["0.20", "0.80"]
    assert ax.get_title() == "t" and ax.get_xlabel() == "predicted"
    with pytest.raises(ValueError, match="confusion"):
        viz.confusion_matrix(ax, np.zeros((3, 3)), ["a", "b"], "t")
    plt.close(fig)
