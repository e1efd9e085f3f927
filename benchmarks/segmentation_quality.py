"""How good are the approximate MSTAR masks? ``localization.segment_target`` scored where the truth is known.

Real MSTAR chips come without target boxes; unless mask files are given, lessons 09 and 10 score maps against the
boxes of ``segment_target``. On the embedded held-out chips (true target and shadow masks known) this prints the
share of chips whose approximate box has IoU >= 0.5 with the true box, the mean box IoU, and the mean mask IoU of
target and shadow. Run: ``.venv/bin/python benchmarks/segmentation_quality.py [--profiles ci laptop]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import benchmark_results
import numpy as np

from sarxai_utils import config, data, localization


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image IoU of two stacks of masks (N, H, W); 0 where both are empty."""
    return (a & b).sum((1, 2)) / np.maximum((a | b).sum((1, 2)), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", nargs="+", default=["ci", "laptop"])
    parser.add_argument("--json", type=Path, default=benchmark_results.default_path("segmentation_quality"),
                        help="where the numbers go (default: the file the README is written from)")
    args = parser.parse_args()
    rows = {}
    for name in args.profiles:
        cfg = config.load(name)
        test = data.held_out(cfg, "targets", progress=False)
        target, shadow = localization.segment_target(test.images[:, 0])
        box = np.asarray(localization.box_iou(localization.mask_boxes(target), test.boxes))
        rows[name] = {"chips": len(test), "size": cfg.targets_size, "box_iou_over_half": float(np.mean(box >= 0.5)),
                      "mean_box_iou": float(box.mean()), "target_mask_iou": float(iou(target, test.masks).mean()),
                      "shadow_mask_iou": float(iou(shadow, test.shadow_masks).mean())}
        row = rows[name]
        print(f"{name:7s} {row['chips']:5d} chips at {row['size']} px: box IoU >= 0.5 on "
              f"{row['box_iou_over_half']:.1%}, "
              f"mean box IoU {row['mean_box_iou']:.2f}, target mask IoU {row['target_mask_iou']:.2f}, "
              f"shadow mask IoU {row['shadow_mask_iou']:.2f}")
    benchmark_results.save(args.json, {"profiles": rows})


if __name__ == "__main__":
    main()
