"""How good are the approximate MSTAR masks? ``localization.segment_target`` scored where the truth is known.

Real MSTAR chips come without target boxes; unless mask files are given, lessons 09 and 10 score maps against the
boxes of ``segment_target``. On the embedded held-out chips (true target and shadow masks known) this prints the
share of chips whose approximate box has IoU >= 0.5 with the true box, the mean box IoU, and the mean mask IoU of
target and shadow. Run: ``.venv/bin/python benchmarks/segmentation_quality.py [--profiles ci laptop]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from sarxai_utils import config, data, localization


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image IoU of two stacks of masks (N, H, W); 0 where both are empty."""
    return (a & b).sum((1, 2)) / np.maximum((a | b).sum((1, 2)), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", nargs="+", default=["ci", "laptop"])
    args = parser.parse_args()
    for name in args.profiles:
        cfg = config.load(name)
        test = data.held_out(cfg, "targets", progress=False)
        target, shadow = localization.segment_target(test.images[:, 0])
        box = np.asarray(localization.box_iou(localization.mask_boxes(target), test.boxes))
        print(f"{name:7s} {len(test):5d} chips at {cfg.targets_size} px: box IoU >= 0.5 on {np.mean(box >= 0.5):.1%}, "
              f"mean box IoU {box.mean():.2f}, target mask IoU {iou(target, test.masks).mean():.2f}, "
              f"shadow mask IoU {iou(shadow, test.shadow_masks).mean():.2f}")


if __name__ == "__main__":
    main()
