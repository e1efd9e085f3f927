"""The training loop and evaluation: it learns, it is deterministic, and its metrics are right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sarxai_utils import models, sar, training
from sarxai_utils.datasets import SARTensorDataset


def _toy(n_per_class: int = 48, size: int = 32, seed: int = 0):
    """Two classes told apart by structure (invariant to flips and turns): one bright bar vs two parallel bars."""
    rng = np.random.default_rng(seed)
    clean = np.full((2 * n_per_class, 1, size, size), 0.05, np.float32)
    labels = np.repeat([0, 1], n_per_class)
    for i, label in enumerate(labels):
        c = int(rng.integers(8, size - 12))
        clean[i, 0, :, c:c + 2] = 2.0
        if label == 1:
            clean[i, 0, :, c + 5:c + 7] = 2.0
        if rng.random() < 0.5:
            clean[i, 0] = clean[i, 0].T
    images = sar.speckle(clean, 4.0, rng)
    return images, labels, clean


def _model(seed=0):
    torch.manual_seed(seed)
    return models.build_model("resnet10_slim", 1, 2)


def test_training_learns_a_structural_task():
    images, labels, clean = _toy()
    train_set = SARTensorDataset(images, labels, "HH", ("HH",), augment=training.standard_augmentation(),
                                 clean=clean, looks=4.0)
    t_img, t_lab, _ = _toy(10, seed=1)
    test_set = SARTensorDataset(t_img, t_lab, "HH", ("HH",))
    model = _model()
    history = training.train(model, train_set, epochs=12, batch_size=16, lr=3e-3, test_set=test_set, progress=False)
    result = training.evaluate(model, test_set)
    assert result.accuracy >= 0.9, history.test_acc
    assert len(history.train_loss) == 12 and len(history.test_acc) == 12 and history.images_per_s > 0
    assert history.train_loss[-1] < history.train_loss[0]
    assert not model.training


def test_same_seed_same_weights():
    images, labels, clean = _toy(8)

    def run():
        ds = SARTensorDataset(images, labels, "HH", ("HH",), augment=training.standard_augmentation(),
                              clean=clean, looks=4.0, seed=3)
        model = _model()
        training.train(model, ds, epochs=2, batch_size=8, lr=1e-3, seed=5, progress=False)
        return model.state_dict()

    a, b = run(), run()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_confusion_and_per_class():
    images, labels, _ = _toy(5)
    ds = SARTensorDataset(images, labels, "HH", ("HH",))

    class AlwaysOne(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.stack([torch.zeros(len(x)), torch.ones(len(x))], 1) + 0 * self.p

    result = training.evaluate(AlwaysOne(), ds)
    assert result.accuracy == pytest.approx(0.5)
    assert result.confusion.tolist() == [[0, 5], [0, 5]]
    assert result.per_class.tolist() == [0.0, 1.0]
    assert result.probabilities.shape == (10, 2) and np.allclose(result.probabilities.sum(1), 1)


def test_evaluate_and_train_reject_bad_input():
    images, labels, _ = _toy(2)
    ds = SARTensorDataset(images, labels, "HH", ("HH",))
    empty = SARTensorDataset(images[:0], labels[:0], "HH", ("HH",))
    with pytest.raises(ValueError, match="empty"):
        training.evaluate(_model(), empty)
    with pytest.raises(ValueError, match="empty"):
        training.train(_model(), empty, 1, 4, 1e-3, progress=False)
    for kwargs in (dict(epochs=0), dict(batch_size=0), dict(lr=0.0), dict(lr=float("nan"))):
        args = dict(epochs=1, batch_size=4, lr=1e-3) | kwargs
        with pytest.raises(ValueError):
            training.train(_model(), ds, progress=False, **args)


def test_fresh_speckle_is_a_new_realisation_of_the_same_scene():
    images, labels, clean = _toy(4)
    ds = SARTensorDataset(images, labels, "HH", ("HH",), clean=clean, looks=4.0)
    first = torch.stack([ds._intensity(i) for i in range(len(ds))])
    ds.epoch = 1
    second = torch.stack([ds._intensity(i) for i in range(len(ds))])
    assert not torch.allclose(first, second)
    ratio = (second / torch.as_tensor(clean)).numpy().ravel()
    assert ratio.mean() == pytest.approx(1.0, abs=0.03)
    assert sar.equivalent_number_of_looks(ratio) == pytest.approx(4.0, rel=0.1)
    batch = ds.__getitems__([0, 3])
    assert torch.equal(batch[1][0], ds[3][0]), "batched and single access give the same sample"


def test_clean_and_looks_go_together():
    images, labels, clean = _toy(2)
    with pytest.raises(ValueError, match="clean and looks"):
        SARTensorDataset(images, labels, "HH", ("HH",), clean=clean)
    with pytest.raises(ValueError, match="shape"):
        SARTensorDataset(images, labels, "HH", ("HH",), clean=clean[:1], looks=4.0)


def test_configure_threads():
    assert training.configure_threads() >= 1


@pytest.mark.parametrize("n_per_class, epochs", [(2, 1), (4, 1), (8, 2)])
def test_short_runs_use_a_valid_schedule(n_per_class, epochs):
    images, labels, _ = _toy(n_per_class)
    ds = SARTensorDataset(images, labels, "HH", ("HH",))
    history = training.train(_model(), ds, epochs=epochs, batch_size=4, lr=1e-3, progress=False)
    assert len(history.lr) == epochs and all(np.isfinite(history.lr))


def test_step_throughput_is_positive_and_trains_the_given_model():
    model = _model()
    before = model.conv1.weight.detach().clone()
    speed = training.step_throughput(model, batch=4, size=32, steps=2)
    assert speed > 0 and not model.training
    assert not torch.equal(before, model.conv1.weight), "the steps really updated the model"


def test_error_share_within_groups():
    from sarxai_utils.training import error_share_within

    confusion = np.array([[5, 3, 1], [1, 6, 0], [0, 0, 9]])
    assert error_share_within(confusion, [(0, 1)]) == pytest.approx(4 / 5)
    assert error_share_within(confusion, []) == 0.0
    assert np.isnan(error_share_within(np.diag([3, 4, 5]), [(0, 1)]))
    with pytest.raises(ValueError, match="square"):
        error_share_within(confusion[:2], [(0, 1)])
    with pytest.raises(ValueError, match="outside"):
        error_share_within(confusion, [(0, 3)])
