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


# --- attribution maps -----------------------------------------------------------------------------------------
def _signed_map(size: int = 16) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (xx - size / 2).astype(np.float32) / size  # from -0.5 to +0.44


def test_is_signed_and_map_limit():
    signed = _signed_map()
    assert viz.is_signed(signed)
    assert not viz.is_signed(np.abs(signed))
    assert not viz.is_signed(np.zeros((4, 4)))
    assert not viz.is_signed(np.ones((4, 4)) - 1.000000001 * np.eye(4))  # rounding noise below zero
    assert viz.is_signed(np.ones((4, 4)) - 1.01 * np.eye(4))
    hot = np.zeros((100, 100))
    hot[:, :50] = 1.0
    hot[0, 0] = 1000.0  # one hot pixel does not set the scale
    assert viz.map_limit(hot) == pytest.approx(1.0)
    assert viz.map_limit(hot, percentile=100) == pytest.approx(1000.0)
    assert viz.map_limit(np.zeros((3, 3))) == 1.0
    sparse = np.zeros((100, 100))
    sparse[3, 4] = -2.0  # the percentile is 0: fall back to the maximum magnitude
    assert viz.map_limit(sparse) == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((0, 3)), np.array([[np.nan, 1.0]])])
def test_map_helpers_reject_bad_maps(bad):
    with pytest.raises(ValueError, match="maps"):
        viz.map_limit(bad)


def test_map_limit_rejects_bad_percentile():
    with pytest.raises(ValueError, match="percentile"):
        viz.map_limit(np.ones((2, 2)), percentile=0)


def test_map_norm_diverging_centred_or_sequential():
    cmap, norm = viz.map_norm(_signed_map(), limit=2.0)
    assert cmap == viz.SIGNED_CMAP and (norm.vmin, norm.vmax) == (-2.0, 2.0)
    cmap, norm = viz.map_norm(np.abs(_signed_map()), limit=3.0)
    assert cmap == viz.POSITIVE_CMAP and (norm.vmin, norm.vmax) == (0.0, 3.0)
    cmap, _ = viz.map_norm(np.abs(_signed_map()), signed=True)  # forced
    assert cmap == viz.SIGNED_CMAP
    with pytest.raises(ValueError, match="limit"):
        viz.map_norm(_signed_map(), limit=0.0)


def test_show_attribution_overlay_transparent_where_zero():
    fig, ax = plt.subplots()
    attr = _signed_map()
    attr[:, 8] = 0.0
    intensity = np.full((16, 16), 0.1, np.float32)
    handle = viz.show_attribution(ax, attr, intensity, "IG", limit=0.5)
    assert ax.get_title() == "IG"
    assert len(ax.images) == 2  # the dB image, then the heatmap
    assert ax.images[0].get_cmap().name == "gray"
    assert handle.get_cmap().name == viz.SIGNED_CMAP
    assert (handle.norm.vmin, handle.norm.vmax) == (-0.5, 0.5)
    alpha = np.asarray(handle.get_alpha())
    assert alpha.shape == (16, 16)
    assert np.all(alpha[:, 8] == 0) and alpha[:, 0].max() == pytest.approx(0.85)
    assert alpha[0, 4] == pytest.approx(0.85 * np.sqrt(0.25 / 0.5))  # opacity grows with sqrt(|a| / limit)
    assert len(fig.axes) == 2  # the colour bar
    assert fig.axes[1].get_ylabel() == "attribution"


def test_show_attribution_without_image_and_checks():
    fig, ax = plt.subplots()
    handle = viz.show_attribution(ax, np.abs(_signed_map()), title="Saliency", colorbar=False)
    assert len(ax.images) == 1 and handle.get_cmap().name == viz.POSITIVE_CMAP and len(fig.axes) == 1
    with pytest.raises(ValueError, match="2-D"):
        viz.show_attribution(ax, np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="intensity has shape"):
        viz.show_attribution(ax, np.zeros((4, 4)), np.ones((5, 5)))


def test_attribution_grid_layout_titles_shared_scale_and_png(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.uniform(0.01, 1, (16, 16)).astype(np.float32) for _ in range(2)]
    maps = {"Integrated Gradients": [_signed_map(), 3 * _signed_map()],
            "Grad-CAM": [np.abs(_signed_map()), np.abs(_signed_map())]}
    metrics = {"Integrated Gradients": [0.1234, 0.5]}
    path = tmp_path / "figs" / "fig1.png"
    fig = viz.attribution_grid(images, maps, ["VV", "VH"], metrics=metrics, title="Fig. 1", path=path)
    panels = _image_axes(fig)
    titles = [ax.get_title() for ax in panels]
    assert titles[0] == "VV: image" and titles.count("VH: image") == 1
    assert "Integrated Gradients\n(0.123)" in titles and "Integrated Gradients\n(0.500)" in titles
    assert titles.count("Grad-CAM") == 2
    ig = [ax for ax in panels if ax.get_title().startswith("Integrated")]
    norms = {(ax.images[-1].norm.vmin, ax.images[-1].norm.vmax) for ax in ig}
    assert len(norms) == 1  # one shared scale per method column
    vmin, vmax = norms.pop()
    assert vmin == -vmax and vmax == pytest.approx(viz.map_limit(np.stack(maps["Integrated Gradients"])))
    cam = [ax for ax in panels if ax.get_title() == "Grad-CAM"]
    assert all(ax.images[-1].get_cmap().name == viz.POSITIVE_CMAP for ax in cam)
    assert fig.get_suptitle() == "Fig. 1"
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == len(panels) + 3  # one colour bar for the dB images and one per method


def test_clipped_says_which_end_of_the_colour_bar_cuts_values():
    from matplotlib.colors import Normalize

    assert viz.clipped(np.array([0.0, 0.5, 1.0]), Normalize(0, 1)) == "neither"
    assert viz.clipped(np.array([0.0, 2.0]), Normalize(0, 1)) == "max"
    assert viz.clipped(np.array([-3.0, 0.5]), Normalize(-1, 1)) == "min"
    assert viz.clipped(np.array([-3.0, 3.0, np.nan]), Normalize(-1, 1)) == "both"
    assert viz.clipped(np.array([np.nan]), Normalize(0, 1)) == "neither"


def test_attribution_grid_marks_a_clipped_colour_bar():
    rng = np.random.default_rng(0)
    hot = np.abs(rng.normal(size=(16, 16)))
    hot[0, 0] = 100.0  # one hot pixel above the 99.5th percentile
    fig = viz.attribution_grid([rng.uniform(0.01, 1, (16, 16))], {"hot": [hot], "flat": [np.ones((16, 16))]}, ["VV"])
    bars = {ax.get_xlabel(): ax for ax in fig.axes if ax.get_xlabel() in ("≥ 0", "signed")}
    extends = sorted(ax._colorbar.extend for ax in fig.axes if hasattr(ax, "_colorbar"))
    assert bars and "max" in extends and "neither" in extends
    plt.close(fig)


def test_attribution_grid_checks_its_inputs():
    img = [np.ones((8, 8))]
    with pytest.raises(ValueError, match="row labels"):
        viz.attribution_grid(img, {"a": [np.zeros((8, 8))]}, ["VV", "VH"])
    with pytest.raises(ValueError, match="empty"):
        viz.attribution_grid(img, {}, ["VV"])
    with pytest.raises(ValueError, match=r"maps\['a'\] has 2 maps"):
        viz.attribution_grid(img, {"a": [np.zeros((8, 8))] * 2}, ["VV"])
    with pytest.raises(ValueError, match="shape"):
        viz.attribution_grid(img, {"a": [np.zeros((4, 4))]}, ["VV"])
    with pytest.raises(ValueError, match="metrics"):
        viz.attribution_grid(img, {"a": [np.zeros((8, 8))]}, ["VV"], metrics={"b": [1.0]})
    with pytest.raises(ValueError, match="NaN"):
        viz.attribution_grid(img, {"a": [np.full((8, 8), np.nan)]}, ["VV"])


def test_save_png_checks_suffix(tmp_path):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="png"):
        viz.save_png(fig, tmp_path / "x.jpg")
    assert viz.save_png(fig, tmp_path / "a" / "x.png").exists()


def test_attribution_gallery_one_column_per_present_class():
    ds = _tiny(n_classes=3, per_class=2, size=8)
    maps = np.stack([np.abs(_signed_map(8))] * len(ds.labels))
    fig = viz.attribution_gallery(ds.images[:, 0], maps, ds.labels, ds.classes, "Saliency per class",
                                  masks=ds.masks, predictions=np.array([0, 2, 2, 0, 1, 2]))
    panels = _image_axes(fig)
    assert len(panels) == 6  # 3 classes x (image, map)
    titles = [ax.get_title() for ax in panels if ax.get_title()]
    assert titles == ["class0\n-> class0", "class1\n-> class2", "class2\n-> class2"]
    assert fig.get_suptitle() == "Saliency per class"
    assert sum(len(ax.collections) > 0 for ax in panels) == 3  # evidence contours on the map row
    only_two = viz.attribution_gallery(ds.images[:2, 0], maps[:2], ds.labels[:2], ds.classes, "t")
    assert len(_image_axes(only_two)) == 4
    shared = viz.attribution_gallery(ds.images[:, 0], maps, ds.labels, ds.classes, "t", limit=0.25)
    panels = [ax.images[-1] for ax in _image_axes(shared)]
    limits = {im.norm.vmax for im in panels if im.get_cmap().name == viz.POSITIVE_CMAP}
    assert limits == {0.25}  # a given limit is the scale of every map panel


def test_attribution_gallery_checks_shapes():
    ds = _tiny(size=8)
    maps = np.zeros((3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        viz.attribution_gallery(ds.images, maps, ds.labels, ds.classes, "t")  # (N, C, H, W) images
    with pytest.raises(ValueError, match="masks"):
        viz.attribution_gallery(ds.images[:, 0], maps, ds.labels, ds.classes, "t", masks=np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="no image"):
        viz.attribution_gallery(ds.images[:, 0], maps, np.array([7, 8, 9]), ds.classes, "t")


def test_render_map_colours():
    signed = np.array([[-1.0, 0.0], [1.0, 0.5]])
    rgb = viz.render_map(signed, limit=1.0)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 1].min() > 230  # zero is white in the diverging map
    assert rgb[1, 0, 0] > rgb[1, 0, 2] and rgb[0, 0, 2] > rgb[0, 0, 0]  # positive red, negative blue
    positive = viz.render_map(np.array([[0.0, 2.0], [5.0, 1.0]]), limit=2.0)
    assert positive[0, 0].max() < 10  # zero is black in inferno
    np.testing.assert_array_equal(positive[1, 0], positive[0, 1])  # beyond the limit: the end colour
    with pytest.raises(ValueError, match="2-D"):
        viz.render_map(np.ones((2, 2, 2)))


def test_fit_panels_keeps_small_rows_and_shrinks_wide_ones():
    assert viz.fit_panels(2.0, 4) == 2.0
    assert viz.fit_panels(2.0, 10) == pytest.approx((viz.MAX_WIDTH_IN - 1.2) / 10)
    with pytest.raises(ValueError, match="columns >= 1"):
        viz.fit_panels(2.0, 0)


def test_wide_galleries_fit_the_screen():
    rng = np.random.default_rng(0)
    images = rng.gamma(1.0, 1.0, (14, 16, 16)).astype(np.float32)
    fig = viz.attribution_gallery(images, images, np.arange(14), [f"c{k}" for k in range(14)], "wide", panel_size=3.0)
    assert fig.get_size_inches()[0] <= viz.MAX_WIDTH_IN + 1e-6
    plt.close(fig)
    fig = viz.attribution_grid([images[0]], {f"m{k}": [images[k]] for k in range(12)}, ["VV"], panel_size=3.0)
    assert fig.get_size_inches()[0] <= viz.MAX_WIDTH_IN + 1e-6
    plt.close(fig)


def test_attribution_grid_draws_the_evidence_and_its_chance_level():
    rng = np.random.default_rng(1)
    image = rng.gamma(1.0, 1.0, (16, 16)).astype(np.float32)
    evidence = np.zeros((16, 16), bool)
    evidence[4:8, 4:8] = True  # 16 of 256 pixels: 6 %
    fig = viz.attribution_grid([image, image], {"a": [image, image]}, ["VV", "VH"], title="t", evidence=evidence)
    assert "6% of the pixels" in fig._suptitle.get_text() and fig._suptitle.get_text().startswith("t\n")
    assert all(ax.collections for ax in fig.axes if ax.get_title()), "a contour on every panel"
    plt.close(fig)
    with pytest.raises(ValueError, match="evidence has shape"):
        viz.attribution_grid([image], {"a": [image]}, ["VV"], evidence=np.zeros((8, 8), bool))


def test_attribution_grid_shared_scale_puts_every_column_on_one_scale():
    rng = np.random.default_rng(2)
    image = rng.gamma(1.0, 1.0, (16, 16)).astype(np.float32)
    small, large = rng.random((16, 16)), 10 * rng.standard_normal((16, 16))
    fig = viz.attribution_grid([image], {"a": [small], "b": [large]}, ["VV"], shared_scale=True)
    limits = {tuple(np.round(im.get_clim(), 6)) for ax in fig.axes for im in ax.images if im.get_cmap().name != "gray"}
    assert len(limits) == 1 and next(iter(limits))[0] < 0, "one signed scale for both columns"
    plt.close(fig)
    fig = viz.attribution_grid([image], {"a": [small], "b": [large]}, ["VV"])
    limits = {tuple(np.round(im.get_clim(), 6)) for ax in fig.axes for im in ax.images if im.get_cmap().name != "gray"}
    assert len(limits) == 2
    plt.close(fig)


def test_attribution_grid_signed_follows_the_method_not_the_data():
    rng = np.random.default_rng(3)
    image = rng.gamma(1.0, 1.0, (16, 16)).astype(np.float32)
    positive = rng.random((16, 16))  # a signed method's map that happens to be positive here
    fig = viz.attribution_grid([image], {"Occlusion": [positive]}, ["VV"], signed={"Occlusion": True})
    low, high = next(im.get_clim() for ax in fig.axes for im in ax.images if im.get_cmap().name != "gray")
    assert low == -high, "drawn on a signed scale centred at zero"
    plt.close(fig)
