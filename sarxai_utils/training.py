"""Training and evaluating classifiers: AdamW with a one-cycle learning-rate schedule, SAR augmentation,
progress bars with running loss and accuracy, a history to plot, and accuracy / per-class / confusion metrics.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import config
from .datasets import SARTensorDataset, compose, make_loader, random_flip_rot90, random_translate


@dataclass
class History:
    """Per-epoch training record: loss and accuracy on the (augmented) training data, test accuracy, lr, time."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    images_per_s: float = 0.0

    def as_dict(self) -> dict:
        """Plain lists and numbers (stored in checkpoints)."""
        return dict(self.__dict__)


@dataclass
class Evaluation:
    """Accuracy, per-class accuracy (K,), confusion matrix (K, K: rows true, columns predicted), predictions."""

    accuracy: float
    per_class: np.ndarray  # recall of each class (NaN for a class absent from the data)
    confusion: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray

    @property
    def balanced_accuracy(self) -> float:
        """The mean per-class recall over the classes present: accuracy as if every class were equally common."""
        return float(np.nanmean(self.per_class))


def configure_threads() -> int:
    """Use every core for intra-op parallelism on the CPU (torch's default may be lower); returns the count."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def standard_augmentation(max_shift: float = 0.08):
    """Flips and quarter turns plus small shifts (on linear intensity). Note that flips and turns also turn
    the radar's look direction (layover and shadow change sides): the model learns to ignore it."""
    return compose(random_flip_rot90, lambda image, gen: random_translate(image, gen, max_shift))


def train(model: nn.Module, train_set: SARTensorDataset, epochs: int, batch_size: int, lr: float,
          weight_decay: float = 5e-4, seed: int = 0, device: torch.device | str | None = None,
          test_set: SARTensorDataset | None = None, label_smoothing: float = 0.05,
          progress: bool = True, desc: str = "training", class_balanced: bool = False) -> History:
    """Train ``model`` in place with AdamW and a one-cycle schedule peaking at ``lr``; returns the History.

    One progress bar over all steps shows the epoch, running loss and running accuracy. Same seed, same data
    order, same augmentation, same weights (on the CPU). ``class_balanced`` samples every class equally often
    (with replacement), for imbalanced real data.
    """
    if epochs < 1 or batch_size < 1 or not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"epochs ({epochs}) and batch_size ({batch_size}) must be >= 1 and lr ({lr}) > 0")
    if len(train_set) == 0:
        raise ValueError("train_set is empty")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    torch.manual_seed(seed)
    model.to(device)
    loader = make_loader(train_set, batch_size, shuffle=True, seed=seed, class_balanced=class_balanced)
    steps = epochs * len(loader)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    if steps >= 4:
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                       pct_start=max(0.25, 1.5 / steps))
    else:  # too few steps for a warm-up and an annealing phase
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    history = History()
    bar = tqdm(total=steps, desc=desc, disable=not config.show_progress(progress), unit="batch")
    start, seen = time.perf_counter(), 0
    for epoch in range(epochs):
        train_set.epoch = epoch
        model.train()
        loss_sum, correct, count = 0.0, 0, 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            used_lr = float(optimizer.param_groups[0]["lr"])  # the rate this step used (step() moves to the next)
            schedule.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.detach().argmax(1) == y).sum())
            count += len(y)
            bar.update(1)
            bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{loss_sum / count:.3f}", acc=f"{correct / count:.1%}")
        seen += count
        history.epoch.append(epoch + 1)
        history.train_loss.append(loss_sum / count)
        history.train_acc.append(correct / count)
        history.lr.append(used_lr)  # the rate of the epoch's last step (after the final step the schedule is over)
        history.seconds.append(time.perf_counter() - start)
        if test_set is not None:
            history.test_acc.append(evaluate(model, test_set, device=device).accuracy)
    bar.close()
    history.images_per_s = seen / max(time.perf_counter() - start, 1e-9)
    model.eval()
    return history


def step_throughput(model: nn.Module, batch: int, size: int, steps: int = 3,
                    device: torch.device | str | None = None) -> float:
    """Images/s of bare training steps (forward, loss, backward, AdamW step) on one fixed random batch of
    ``batch`` x C x ``size`` x ``size``, after one warm-up step: the ceiling any training loop can reach."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, model.conv1.in_channels, size, size, device=device)
    y = torch.randint(0, model.fc.out_features, (batch,), device=device)
    for step in range(steps + 1):
        if step == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    model.eval()
    return batch * steps / (time.perf_counter() - start)


def predict_proba(model: nn.Module, dataset: SARTensorDataset, batch_size: int = 256,
                  device: torch.device | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities (N, K) and true labels (N,) of a dataset, without gradients."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    probs, labels = [], []
    with torch.inference_mode():
        for x, y in make_loader(dataset, batch_size, shuffle=False):
            probs.append(torch.softmax(model(x.to(device)), dim=1).cpu())
            labels.append(y)
    model.train(was_training)
    return torch.cat(probs).numpy(), torch.cat(labels).numpy()


def evaluate(model: nn.Module, dataset: SARTensorDataset, batch_size: int = 256,
             device: torch.device | str | None = None, num_classes: int | None = None) -> Evaluation:
    """Accuracy, per-class accuracy and confusion matrix of ``model`` on ``dataset``."""
    if len(dataset) == 0:
        raise ValueError("evaluate: the dataset is empty")
    probs, labels = predict_proba(model, dataset, batch_size, device)
    k = num_classes or probs.shape[1]
    pred = probs.argmax(1)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (labels, pred), 1)
    support = confusion.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(confusion) / support, math.nan)
    return Evaluation(float((pred == labels).mean()), per_class, confusion, pred, probs)


def error_share_within(confusion: np.ndarray, groups: list[tuple[int, ...]] | tuple[tuple[int, ...], ...]) -> float:
    """Share of the misclassifications (off-diagonal counts of a (K, K) confusion matrix) whose true and predicted
    classes lie in one of ``groups`` (tuples of class indices): how many errors are the "expected" confusions.
    NaN when there is no error."""
    confusion = np.asarray(confusion)
    k = confusion.shape[0] if confusion.ndim == 2 else -1
    if confusion.ndim != 2 or confusion.shape != (k, k) or (confusion < 0).any():
        raise ValueError(f"confusion must be a square matrix of non-negative counts, got shape {confusion.shape}")
    together = np.zeros((k, k), bool)
    for group in groups:
        members = [int(c) for c in group]
        if any(not 0 <= c < k for c in members):
            raise ValueError(f"group {tuple(group)} names a class outside 0..{k - 1}")
        together[np.ix_(members, members)] = True
    off = ~np.eye(k, dtype=bool)
    errors = confusion[off].sum()
    return float(confusion[off & together].sum() / errors) if errors else math.nan
