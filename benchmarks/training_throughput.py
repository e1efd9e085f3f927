"""Does the training loop keep the model busy? Images/s of ``training.train`` against a bare loop.

For each architecture, on the same model, batch size and 100 x 100 input, measured in one run:
- bare: forward, loss, backward and optimizer step on one pre-made batch, repeated (no data pipeline);
- course: ``training.train`` for one epoch over embedded urban scenes with the full augmentation (fresh speckle,
  flips, turns, shifts), the data loader, the one-cycle schedule and the progress bookkeeping.
Target: the course loop reaches at least 85 % of the bare loop. Run:
``.venv/bin/python benchmarks/training_throughput.py [--archs resnet18 resnet101] [--batches 6]``.
"""

from __future__ import annotations

import argparse

import torch

from sarxai_utils import data, models, training
from sarxai_utils.datasets import SARTensorDataset


def course_loop(model: torch.nn.Module, dataset: SARTensorDataset, batch: int) -> float:
    """Images/s of one epoch of ``training.train`` (AdamW, one-cycle, augmentation, data loader)."""
    history = training.train(model, dataset, epochs=1, batch_size=batch, lr=1e-3, progress=False)
    return history.images_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archs", nargs="+", default=["resnet18", "resnet101", "resnet10_slim"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=6, help="batches per measurement")
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    threads = training.configure_threads()
    n_per_class = max(1, args.batch * args.batches // 10)
    scenes = data.synthetic_urban(n_per_class, args.size, seed=0, keep_clean=True, progress=False)
    dataset = SARTensorDataset(scenes.images, scenes.labels, "VV", augment=training.standard_augmentation(),
                               clean=scenes.clean, looks=4.4)
    print(f"{threads} threads, {args.size}x{args.size}, batch {args.batch}, {len(dataset)} images per course epoch")
    print(f"{'architecture':<15}{'bare img/s':>12}{'course img/s':>14}{'ratio':>8}")
    for arch in args.archs:
        torch.manual_seed(0)
        model = models.build_model(arch, 1, 10)
        # Warm both paths up once, then measure them back to back on the same model.
        course_loop(model, dataset, args.batch)
        bare = training.step_throughput(model, args.batch, args.size, steps=len(dataset) // args.batch)
        course = course_loop(model, dataset, args.batch)
        verdict = "OK" if course >= 0.85 * bare else "below 85%"
        print(f"{arch:<15}{bare:>12.1f}{course:>14.1f}{course / bare:>8.0%}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
