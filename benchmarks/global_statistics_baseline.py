"""Is the embedded urban data classified by structure, not by global brightness?

Trains (1) a multinomial logistic regression on 64-bin dB histograms of both channels (global statistics
only) and (2) a small CNN for about a minute, on the same split of ``synthetic_urban`` (200 images per class
to train, 100 per class to test, 100 x 100). The histogram baseline should stay at or below 50 %; the CNN
should be well above it. Run: ``.venv/bin/python benchmarks/global_statistics_baseline.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import benchmark_results
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn

from sarxai_utils import data, sar
from sarxai_utils.datasets import SARTensorDataset, make_loader


def histogram_features(images: np.ndarray, bins: int = 64) -> np.ndarray:
    """Per image, the normalised 64-bin histogram of dB values in [DB_MIN, DB_MAX] of each channel."""
    edges = np.linspace(sar.DB_MIN, sar.DB_MAX, bins + 1)
    db = np.clip(sar.to_db(images), sar.DB_MIN, sar.DB_MAX)
    feats = [
        np.stack([np.histogram(db[i, c], bins=edges)[0] for c in range(db.shape[1])]).ravel()
        for i in range(db.shape[0])
    ]
    return np.asarray(feats, np.float64) / (images.shape[-1] * images.shape[-2])


def small_cnn(in_channels: int, n_classes: int) -> nn.Module:
    """A strided stem, three conv blocks and global average pooling (about 70 k parameters)."""

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                             nn.MaxPool2d(2))

    stem = nn.Sequential(nn.Conv2d(in_channels, 16, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(16),
                         nn.ReLU())
    return nn.Sequential(stem, block(16, 32), block(32, 64), block(64, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, n_classes))


def train_cnn(train: data.SyntheticSAR, test: data.SyntheticSAR, seconds: float, seed: int = 0) -> float:
    """Train ``small_cnn`` on both polarizations for ``seconds`` of wall time; return the test accuracy."""
    torch.manual_seed(seed)
    model = small_cnn(2, len(train.classes))
    loader = make_loader(SARTensorDataset(train.images, train.labels, "both"), 64, shuffle=True, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    start, epochs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        model.train()
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        epochs += 1
    model.eval()
    test_ds = SARTensorDataset(test.images, test.labels, "both")
    with torch.inference_mode():
        x = torch.stack([test_ds[i][0] for i in range(len(test_ds))])
        pred = torch.cat([model(b).argmax(1) for b in x.split(256)])
    print(f"  CNN: {epochs} epochs in {time.perf_counter() - start:.0f} s")
    return float((pred == test_ds.labels).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-per-class", type=int, default=200)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--cnn-seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=benchmark_results.default_path("global_statistics_baseline"),
                        help="where the numbers go (default: the file the README is written from)")
    args = parser.parse_args()
    train = data.synthetic_urban(args.train_per_class, args.size, seed=1000, progress=False)
    test = data.synthetic_urban(args.test_per_class, args.size, seed=2000, progress=False)

    scaler = StandardScaler().fit(histogram_features(train.images))
    clf = LogisticRegression(max_iter=3000, C=1.0)
    clf.fit(scaler.transform(histogram_features(train.images)), train.labels)
    pred = clf.predict(scaler.transform(histogram_features(test.images)))
    hist_acc = float((pred == test.labels).mean())
    per_class = {c: float((pred[test.labels == k] == k).mean()) for k, c in enumerate(test.classes)}
    print(f"histogram + logistic regression: test accuracy {hist_acc:.1%} (chance 10%)")
    print("  per class: " + ", ".join(f"{c} {a:.0%}" for c, a in per_class.items()))
    cnn_acc = train_cnn(train, test, args.cnn_seconds)
    print(f"small CNN ({args.cnn_seconds:.0f} s of training): test accuracy {cnn_acc:.1%}")
    verdict = "OK" if hist_acc <= 0.5 and cnn_acc > hist_acc + 0.2 else "NOT MET"
    print(f"{verdict}: histogram baseline {hist_acc:.1%} (target <= 50%), CNN {cnn_acc:.1%} (well above it)")
    benchmark_results.save(args.json, {"train_per_class": args.train_per_class, "test_per_class": args.test_per_class,
                                       "size": args.size, "chance": 1 / len(test.classes),
                                       "histogram_accuracy": hist_acc, "histogram_per_class": per_class,
                                       "cnn_seconds": args.cnn_seconds, "cnn_accuracy": cnn_acc})


if __name__ == "__main__":
    main()
