"""Tests of sarxai_utils.datasets: channel selection, preprocessing, augmentation hooks, the Dataset and loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sarxai_utils import datasets, sar


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(n: int = 6, c: int = 2, size: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-3, 1.0, size=(n, c, size, size)).astype(np.float32)


def _sorted(t: torch.Tensor) -> torch.Tensor:
    return torch.sort(t.flatten()).values


# --- channel_indices -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pol, expected", [
    ("VV", [0]), ("VH", [1]), ("vh", [1]), ("both", [0, 1]), ("BOTH", [0, 1]),
    (["VV", "VH"], [0, 1]), (["VH", "VV"], [1, 0]), (("vh",), [1]),
])
def test_channel_indices(pol, expected):
    assert datasets.channel_indices(pol) == expected


def test_channel_indices_custom_available():
    assert datasets.channel_indices("HH", ("HH",)) == [0]
    assert datasets.channel_indices("both", ("hh", "hv", "vh")) == [0, 1, 2]
    assert datasets.channel_indices(["VH"], ("HH", "HV", "VH", "VV")) == [2]


@pytest.mark.parametrize("pol", ["HH", "", "VVVH", ["VV", "HV"], [], ("HH",)])
def test_channel_indices_unknown_raises(pol):
    with pytest.raises(ValueError, match="not available"):
        datasets.channel_indices(pol)


def test_channel_indices_vh_missing_from_single_channel():
    with pytest.raises(ValueError, match="HH"):
        datasets.channel_indices("VH", ("HH",))


# --- preprocess ------------------------------------------------------------------------------------------------


def test_preprocess_range_and_dtype():
    x = np.geomspace(1e-8, 1e4, 200).reshape(2, 10, 10)
    out = datasets.preprocess(x)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float32
    assert out.shape == (2, 10, 10)
    assert float(out.min()) == -1.0 and float(out.max()) == 1.0
    assert torch.all((out >= -1) & (out <= 1))


def test_preprocess_known_values():
    x = torch.tensor([0.0, sar.from_db(np.array([sar.DB_MIN]))[0], 1.0, 10.0, 1e3])
    out = datasets.preprocess(x)
    expected = torch.tensor([-1.0, -1.0, (0.0 - (-12.5)) / 22.5, 1.0, 1.0])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_preprocess_black_image_is_minus_one():
    out = datasets.preprocess(np.zeros((1, 4, 4), np.float32))
    assert torch.equal(out, torch.full((1, 4, 4), -1.0))


def test_preprocess_custom_window():
    out = datasets.preprocess(np.array([0.1, 1.0, 10.0]), db_min=-10.0, db_max=10.0)
    torch.testing.assert_close(out, torch.tensor([-1.0, 0.0, 1.0]), atol=1e-6, rtol=0)


def test_preprocess_matches_sar_pipeline():
    x = _images(2)
    expected = sar.normalize_db(sar.to_db(x))
    np.testing.assert_allclose(datasets.preprocess(x).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_preprocess_non_finite_raises(bad):
    x = np.ones((2, 3), np.float32)
    x[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        datasets.preprocess(x)


def test_preprocess_bad_window_raises():
    with pytest.raises(ValueError, match="db_max"):
        datasets.preprocess(np.ones(3), db_min=5.0, db_max=-5.0)


# --- augmentations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aug", [datasets.random_flip_rot90, datasets.random_translate])
def test_geometric_augmentations_preserve_shape_and_values(aug):
    image = torch.from_numpy(_images(1, 2, 16)[0])
    for seed in range(12):
        out = aug(image, _gen(seed))
        assert out.shape == image.shape
        assert out.dtype == image.dtype
        for c in range(image.shape[0]):
            torch.testing.assert_close(_sorted(out[c]), _sorted(image[c]), rtol=0, atol=0)


def test_flip_rot90_produces_several_orientations():
    image = torch.arange(16.0).reshape(1, 4, 4)
    seen = {tuple(datasets.random_flip_rot90(image, _gen(s)).flatten().tolist()) for s in range(64)}
    assert len(seen) >= 5  # up to 8 dihedral transforms
    allowed = set()
    for flip in (False, True):
        base = image.flip(-1) if flip else image
        for k in range(4):
            allowed.add(tuple(torch.rot90(base, k, dims=(-2, -1)).flatten().tolist()))
    assert seen <= allowed


def test_translate_is_a_circular_shift_within_bounds():
    image = torch.arange(400.0).reshape(1, 20, 20)
    shifts = set()
    for s in range(40):
        out = datasets.random_translate(image, _gen(s), max_shift=0.1)
        match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(torch.roll(image, (dy, dx), dims=(-2, -1)), out)]
        assert len(match) == 1
        shifts.add(match[0])
    assert len(shifts) > 3


def test_translate_zero_shift_is_identity():
    image = torch.rand(2, 8, 8)
    assert torch.equal(datasets.random_translate(image, _gen(3), max_shift=0.0), image)


def test_extra_speckle_unit_mean_and_variance():
    image = torch.ones(1, 400, 500)
    out = datasets.extra_speckle(image, _gen(0), looks=8.0)
    assert out.shape == image.shape and out.dtype == torch.float32
    assert torch.all(out >= 0)
    assert float(out.mean()) == pytest.approx(1.0, abs=0.01)
    assert float(out.var()) == pytest.approx(1 / 8.0, rel=0.05)


def test_extra_speckle_multiplies_the_scene():
    image = torch.full((1, 200, 200), 0.25)
    image[0, :, 100:] = 4.0
    out = datasets.extra_speckle(image, _gen(1), looks=4.0)
    assert float(out[0, :, :100].mean()) == pytest.approx(0.25, rel=0.03)
    assert float(out[0, :, 100:].mean()) == pytest.approx(4.0, rel=0.03)
    assert torch.all(datasets.extra_speckle(torch.zeros(1, 4, 4), _gen(1)) == 0)


@pytest.mark.parametrize("looks", [0.0, -2.0, float("nan")])
def test_extra_speckle_bad_looks_raises(looks):
    with pytest.raises(ValueError, match="looks"):
        datasets.extra_speckle(torch.ones(1, 4, 4), _gen(0), looks=looks)


@pytest.mark.parametrize("aug", [datasets.random_flip_rot90, datasets.random_translate, datasets.extra_speckle])
def test_same_generator_seed_same_augmentation(aug):
    image = torch.from_numpy(_images(1, 2, 16)[0])
    a = aug(image, _gen(42))
    b = aug(image, _gen(42))
    assert torch.equal(a, b)


def test_extra_speckle_different_seed_different_output():
    image = torch.ones(1, 8, 8)
    assert not torch.equal(datasets.extra_speckle(image, _gen(1)), datasets.extra_speckle(image, _gen(2)))


def test_compose_chains_in_order():
    calls = []

    def add_one(image, gen):
        calls.append("add")
        return image + 1

    def double(image, gen):
        calls.append("double")
        assert isinstance(gen, torch.Generator)
        return image * 2

    aug = datasets.compose(add_one, double)
    out = aug(torch.zeros(1, 2, 2), _gen())
    assert torch.equal(out, torch.full((1, 2, 2), 2.0))
    assert calls == ["add", "double"]
    assert torch.equal(datasets.compose(double, add_one)(torch.zeros(1, 2, 2), _gen()), torch.ones(1, 2, 2))


def test_compose_empty_is_identity():
    image = torch.rand(1, 3, 3)
    assert torch.equal(datasets.compose()(image, _gen()), image)


def test_compose_shares_the_generator():
    image = torch.from_numpy(_images(1, 1, 16)[0])
    chained = datasets.compose(datasets.random_flip_rot90, datasets.extra_speckle)
    g = _gen(9)
    manual = datasets.extra_speckle(datasets.random_flip_rot90(image, g), g)
    assert torch.equal(chained(image, _gen(9)), manual)


# --- SARTensorDataset ----------------------------------------------------------------------------------------------


def test_dataset_shapes_dtype_labels_vv():
    images = _images(6)
    labels = np.array([0, 1, 2, 0, 1, 2])
    ds = datasets.SARTensorDataset(images, labels)
    assert len(ds) == 6
    x, y = ds[4]
    assert x.shape == (1, 8, 8)
    assert x.dtype == torch.float32
    assert y.dtype == torch.int64 and int(y) == 1
    torch.testing.assert_close(x, datasets.preprocess(images[4, :1]))


def test_dataset_vh_and_both():
    images = _images(3)
    labels = np.arange(3)
    x, _ = datasets.SARTensorDataset(images, labels, polarization="VH")[2]
    torch.testing.assert_close(x, datasets.preprocess(images[2, 1:2]))
    x, _ = datasets.SARTensorDataset(images, labels, polarization="both")[2]
    assert x.shape == (2, 8, 8)
    torch.testing.assert_close(x, datasets.preprocess(images[2]))
    x, _ = datasets.SARTensorDataset(images, labels, polarization=["VH", "VV"])[0]
    torch.testing.assert_close(x, datasets.preprocess(images[0, ::-1].copy()))


def test_dataset_single_channel_names():
    images = _images(4, c=1)
    ds = datasets.SARTensorDataset(images, np.zeros(4), polarization="HH", channel_names=("HH",))
    assert ds.channels == [0]
    assert ds[0][0].shape == (1, 8, 8)


def test_dataset_accepts_tensors():
    images = torch.from_numpy(_images(3))
    ds = datasets.SARTensorDataset(images, torch.tensor([2, 1, 0]))
    assert [int(ds[i][1]) for i in range(3)] == [2, 1, 0]


@pytest.mark.parametrize("shape", [(6, 8, 8), (2, 8), (1, 6, 2, 8, 8)])
def test_dataset_bad_image_shape_raises(shape):
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        datasets.SARTensorDataset(np.ones(shape, np.float32), np.zeros(shape[0]))


@pytest.mark.parametrize("labels", [np.zeros(5), np.zeros(7), np.zeros((6, 1)), np.array(3)])
def test_dataset_label_mismatch_raises(labels):
    with pytest.raises(ValueError, match="labels"):
        datasets.SARTensorDataset(_images(6), labels)


def test_dataset_channel_names_mismatch_raises():
    with pytest.raises(ValueError, match="channel"):
        datasets.SARTensorDataset(_images(6, c=2), np.zeros(6), channel_names=("HH",))
    with pytest.raises(ValueError, match="channel"):
        datasets.SARTensorDataset(_images(6, c=1), np.zeros(6))


def test_dataset_unknown_polarization_raises():
    with pytest.raises(ValueError, match="not available"):
        datasets.SARTensorDataset(_images(6), np.zeros(6), polarization="HH")


def test_dataset_non_finite_image_raises_on_access():
    images = _images(2)
    images[1, 0, 0, 0] = np.nan
    ds = datasets.SARTensorDataset(images, np.zeros(2))
    ds[0]
    with pytest.raises(ValueError, match="NaN"):
        ds[1]


def _augmented(seed: int = 0):
    return datasets.SARTensorDataset(_images(4, size=16), np.arange(4), polarization="both",
                                     augment=datasets.compose(datasets.random_flip_rot90, datasets.extra_speckle),
                                     seed=seed)


def test_dataset_augmentation_deterministic_per_seed_epoch_index():
    a, b = _augmented(), _augmented()
    for i in range(4):
        assert torch.equal(a[i][0], b[i][0])
        assert torch.equal(a[i][0], a[i][0])  # repeated access in the same epoch
    assert not torch.equal(a[0][0], a[1][0])


def test_dataset_augmentation_changes_with_epoch_and_seed():
    ds = _augmented()
    before = [ds[i][0] for i in range(4)]
    ds.epoch = 1
    after = [ds[i][0] for i in range(4)]
    assert all(not torch.equal(x, y) for x, y in zip(before, after, strict=True))
    ds.epoch = 0
    assert all(torch.equal(x, ds[i][0]) for i, x in enumerate(before))
    other = _augmented(seed=5)
    assert not torch.equal(other[0][0], before[0])


def test_dataset_augmentation_runs_on_linear_intensity():
    seen = []

    def spy(image, gen):
        seen.append(image.clone())
        return image * 0.0  # black image -> -1 after preprocessing

    images = _images(2)
    ds = datasets.SARTensorDataset(images, np.zeros(2), polarization="VH", augment=spy)
    x, _ = ds[1]
    assert torch.equal(seen[0], torch.from_numpy(images[1, 1:2]))
    assert torch.equal(x, torch.full((1, 8, 8), -1.0))


def test_dataset_without_augmentation_is_plain_preprocessing():
    images = _images(3)
    ds = datasets.SARTensorDataset(images, np.arange(3))
    ds.epoch = 7
    torch.testing.assert_close(ds[2][0], datasets.preprocess(images[2, :1]))


# --- make_loader ----------------------------------------------------------------------------------------------------


def _order(loader) -> list[int]:
    return [int(y) for _, labels in loader for y in labels]


def test_make_loader_batches():
    ds = datasets.SARTensorDataset(_images(10), np.arange(10))
    loader = datasets.make_loader(ds, batch_size=4, shuffle=False)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[0][0].shape == (4, 1, 8, 8)
    assert _order(loader) == list(range(10))
    assert loader.num_workers == 0


def test_make_loader_same_seed_same_order():
    ds = datasets.SARTensorDataset(_images(20), np.arange(20))
    a = _order(datasets.make_loader(ds, 3, shuffle=True, seed=11))
    b = _order(datasets.make_loader(ds, 3, shuffle=True, seed=11))
    c = _order(datasets.make_loader(ds, 3, shuffle=True, seed=12))
    assert a == b
    assert sorted(a) == list(range(20))
    assert a != list(range(20))
    assert a != c


def test_model_input_picks_channels_by_name_and_preprocesses():
    from sarxai_utils import data
    from sarxai_utils.datasets import model_input, preprocess

    ds = data.synthetic_urban(1, 32, seed=0, cache=False, progress=False)
    vh = model_input(ds, "VH")
    assert vh.shape == (10, 1, 32, 32) and vh.dtype == torch.float32
    torch.testing.assert_close(vh, preprocess(ds.images[:, 1:2]))
    assert model_input(ds, "both").shape == (10, 2, 32, 32)
    targets = data.synthetic_targets(1, 48, seed=0, cache=False, progress=False)
    assert model_input(targets, "HH").shape == (10, 1, 48, 48)
    with pytest.raises(ValueError, match="polarization 'VV' is not available"):
        model_input(targets, "VV")
