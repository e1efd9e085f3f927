"""Tests of sarxai_utils.sources: lesson data from the embedded generator or from real-layout copies on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import real_layouts as rl
import torch

from sarxai_utils import config, data, localization, models, sources
from sarxai_utils.datasets import SARTensorDataset, make_loader
from sarxai_utils.errors import DataFolderError
from sarxai_utils.readers import MSTAR_CLASSES, OPENSARURBAN_CLASSES


@pytest.fixture
def urban_root(tmp_path: Path, monkeypatch) -> tuple[Path, dict[str, int]]:
    root = tmp_path / "OpenSARUrban"
    counts = rl.write_opensarurban(root, "flat", ".npy", n=6, size=100)
    monkeypatch.setenv("SARXAI_OPENSARURBAN", str(root))
    return root, counts


@pytest.fixture
def mstar_root(tmp_path: Path, monkeypatch) -> tuple[Path, dict[str, tuple[int, int]]]:
    root = tmp_path / "MSTAR"
    counts = rl.write_mstar_tree(root, "release", n_train=4, n_test=3, size=128)
    monkeypatch.setenv("SARXAI_MSTAR", str(root))
    return root, counts


def test_check_source_names_what_can_feed_a_kind() -> None:
    assert sources.check_source(" OpenSARUrban ", "urban") == "opensarurban"
    assert sources.check_source("MSTAR", "targets") == "mstar"
    with pytest.raises(ValueError, match="cannot feed the targets lessons"):
        sources.check_source("opensarurban", "targets")
    with pytest.raises(ValueError, match="kind"):
        sources.check_source("embedded", "ships")


def test_embedded_source_is_the_embedded_split() -> None:
    cfg = config.load("ci")
    train, test = data.lesson_data(cfg, "embedded", "urban", progress=False)
    ref_train, ref_test = data.embedded_split(cfg, "urban", progress=False)
    np.testing.assert_array_equal(train.images, ref_train.images)
    np.testing.assert_array_equal(test.labels, ref_test.labels)


def test_missing_real_dataset_says_where_to_put_it() -> None:
    with pytest.raises(DataFolderError, match="SARXAI_OPENSARURBAN"):
        data.lesson_data("ci", "opensarurban", "urban")
    with pytest.raises(DataFolderError, match="SARXAI_MSTAR"):
        data.lesson_data("ci", "mstar", "targets")


def test_opensarurban_lesson_data(urban_root) -> None:
    root, counts = urban_root
    cfg = config.load("ci")
    before = {p: p.read_bytes() for p in root.iterdir()}
    train, test = data.lesson_data(cfg, "opensarurban", "urban", progress=False)
    assert train.classes == list(OPENSARURBAN_CLASSES) and train.polarizations == ("VV", "VH")
    assert train.images.shape[1:] == (2, cfg.urban_size, cfg.urban_size) and train.masks is None
    got = np.bincount(train.labels, minlength=10) + np.bincount(test.labels, minlength=10)
    assert got.tolist() == [counts[c] for c in OPENSARURBAN_CLASSES]  # every patch lands on one side
    assert not set(train.files) & set(test.files) and (np.bincount(test.labels, minlength=10) >= 1).all()
    # one gain for both channels: the training VV median sits at the reference, VV - VH is unchanged
    assert abs(10 * np.log10(np.median(train.images[:, 0])) - sources.REFERENCE_MEDIAN_DB["urban"]) < 0.01
    assert (train.images[:, 0] > train.images[:, 1]).mean() > 0.5
    again, _ = data.lesson_data(cfg, "opensarurban", "urban", progress=False)  # from the cache
    np.testing.assert_array_equal(again.images, train.images)
    assert {p: p.read_bytes() for p in root.iterdir()} == before
    small = train.subset(slice(0, 3))
    assert len(small) == 3 and small.files == train.files[:3] and small.masks is None
    assert "opensarurban: " in data.describe(test) and "masks: none" in data.describe(test)


def test_real_cache_follows_the_files(urban_root) -> None:
    root, _ = urban_root
    cfg = config.load("ci")
    first, first_test = data.lesson_data(cfg, "opensarurban", "urban", progress=False)
    extra = root / "airport_x900_y900_Polygon99_vv.npy"
    np.save(extra, np.ones((100, 100), np.float32))
    np.save(root / "airport_x900_y900_Polygon99_vh.npy", np.ones((100, 100), np.float32))
    second, test = data.lesson_data(cfg, "opensarurban", "urban", progress=False)
    assert second.params["files"] != first.params["files"]
    assert len(second) + len(test) == len(first) + len(first_test) + 1
    assert str(extra) in second.files + test.files


def test_mstar_lesson_data_uses_the_soc_split_and_approximate_masks(mstar_root) -> None:
    _, counts = mstar_root
    cfg = config.load("ci")
    train, test = data.lesson_data(cfg, "mstar", "targets", progress=False)
    assert train.classes == list(MSTAR_CLASSES) and train.polarizations == ("HH",)
    assert np.bincount(train.labels).tolist() == [counts[c][0] for c in MSTAR_CLASSES]
    assert np.bincount(test.labels).tolist() == [counts[c][1] for c in MSTAR_CLASSES]
    assert set(train.params["depressions"]) == {17} and set(test.params["depressions"]) == {15}
    assert train.params["split_rule"] == "SOC 17/15" and test.params["masks"] == "approximate"
    assert data.describe(test).endswith("masks: approximate; split: SOC 17/15")
    assert test.images.shape[1:] == (1, cfg.targets_size, cfg.targets_size)
    assert test.masks.shape == test.shadow_masks.shape == (len(test), cfg.targets_size, cfg.targets_size)
    np.testing.assert_array_equal(test.boxes, localization.mask_boxes(test.masks))


def test_mstar_mask_files_replace_the_approximation(tmp_path: Path, monkeypatch) -> None:
    root, masks = tmp_path / "MSTAR", tmp_path / "masks"
    rl.write_mstar_tree(root, "converted_npy", n_train=3, n_test=2, size=128, masks=masks)
    monkeypatch.setenv("SARXAI_MSTAR", str(root))
    monkeypatch.setenv(sources.MASKS_ENV, str(masks))
    train, test = data.lesson_data("ci", "mstar", "targets", progress=False)
    assert test.params["masks"] == "files" and test.params["split_rule"] == "train/test folders"
    assert all(t.any() for t in test.masks) and all(s.any() for s in test.shadow_masks)


def test_stratified_split_keeps_every_class_on_both_sides() -> None:
    labels = np.repeat(np.arange(4), [2, 3, 10, 40])
    train, test = sources.stratified_split(labels, 0.25, seed=0)
    assert not set(train) & set(test) and len(train) + len(test) == len(labels)
    assert np.bincount(labels[test]).tolist() == [1, 1, 2, 10]
    again = sources.stratified_split(labels, 0.25, seed=0)
    np.testing.assert_array_equal(again[0], train)
    with pytest.raises(ValueError, match="test_share"):
        sources.stratified_split(labels, 1.0, 0)


def test_resample_keeps_the_mean_when_shrinking() -> None:
    x = np.random.default_rng(0).gamma(1.0, 1.0, (2, 2, 100, 100)).astype(np.float32)
    small = sources.resample(x, 50)
    assert small.shape == (2, 2, 50, 50)
    np.testing.assert_allclose(small.mean((2, 3)), x.mean((2, 3)), rtol=1e-5)
    assert sources.resample(x, 120).shape == (2, 2, 120, 120) and (sources.resample(x, 120) >= 0).all()
    assert sources.resample(x, 100) is not x and np.array_equal(sources.resample(x, 100), x)


def test_segment_target_finds_most_embedded_targets() -> None:
    cfg = config.load("ci")
    _, test = data.embedded_split(cfg, "targets", progress=False)
    target, shadow = localization.segment_target(test.images[:, 0])
    iou = localization.box_iou(localization.mask_boxes(target), test.boxes)
    assert (iou >= 0.5).mean() >= 0.6  # an approximation: most boxes, not all
    assert not (target & shadow).any()
    one, _ = localization.segment_target(test.images[0, 0])
    np.testing.assert_array_equal(one, target[0])
    flat, flat_shadow = localization.segment_target(np.ones((16, 16)))
    assert not flat.any() and not flat_shadow.any()
    dim = np.ones((32, 32))
    dim[14:18, 14:18] = 2.0  # 3 dB above the clutter: below SEGMENT_TARGET_DB, still found
    found, _ = localization.segment_target(dim)
    assert found[15, 15] and found.sum() < 100
    for bad in (np.ones((3, 3)), np.full((8, 8), np.nan), -np.ones((8, 8)), np.ones((0, 8, 8))):
        with pytest.raises(ValueError, match="intensity"):
            localization.segment_target(bad)


def test_mask_boxes_match_the_generator() -> None:
    _, test = data.embedded_split(config.load("ci"), "targets", progress=False)
    np.testing.assert_array_equal(localization.mask_boxes(test.masks), test.boxes)
    empty = localization.mask_boxes(np.zeros((1, 5, 5), bool))
    np.testing.assert_array_equal(empty[0], localization.EMPTY_BOX)
    with pytest.raises(ValueError, match="masks"):
        localization.mask_boxes(np.zeros((5, 5), bool))


def test_class_balanced_loader_draws_classes_equally() -> None:
    labels = np.repeat(np.arange(3), [5, 20, 200])
    ds = SARTensorDataset(np.ones((len(labels), 1, 4, 4), np.float32), labels, "VV", ("VV",))
    drawn = torch.cat([y for _, y in make_loader(ds, 64, shuffle=True, seed=0, class_balanced=True)])
    share = np.bincount(drawn.numpy(), minlength=3) / len(drawn)
    assert len(drawn) == len(labels) and np.abs(share - 1 / 3).max() < 0.06
    again = torch.cat([y for _, y in make_loader(ds, 64, shuffle=True, seed=0, class_balanced=True)])
    assert torch.equal(drawn, again)


def test_load_or_train_on_real_data_is_keyed_by_the_files(mstar_root) -> None:
    cfg = config.load("ci")
    model, meta = models.load_or_train(cfg, "targets", "HH", source="mstar", progress=False)
    assert meta["source"] == "mstar" and meta["classes"] == list(MSTAR_CLASSES)
    assert 0 <= meta["balanced_accuracy"] <= 1 and meta["settings"]["class_balanced"]
    ckpt = list((config.data_dir() / "checkpoints").glob("mstar-hh-ci-*.pt"))
    assert len(ckpt) == 1
    _, again = models.load_or_train(cfg, "targets", "HH", source="mstar", progress=False)
    assert again["test_accuracy"] == meta["test_accuracy"]  # loaded, not retrained
    with pytest.raises(ValueError, match="proportions"):
        models.load_or_train(cfg, "targets", "HH", source="mstar", proportions="opensarurban")
    with pytest.raises(ValueError, match="cannot feed"):
        models.load_or_train(cfg, "urban", "VV", source="mstar")
