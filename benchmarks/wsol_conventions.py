"""How much does the course's box rule differ from Choe et al.'s reference evaluation code on the same CAMs?

The course (``sarxai_utils.localization``) keeps the pixels of the min-max normalised float map with value >= tau,
takes the largest 8-connected component by its number of pixels, and bounds it with inclusive pixel bounds. The
reference code (clovaai/wsolevaluation, ``evaluation.compute_bboxes_from_scoremaps``) quantises the map to uint8
(``map * 255``), keeps the pixels strictly above ``int(tau * max)``, takes the contour (cv2.RETR_TREE, so hole
contours too) of the largest polygon area (``cv2.contourArea``: 0 for a single pixel or a one-pixel line), and ends
the box one pixel past the component (``x + w``, clipped to the image). Both compute IoU with inclusive areas.

This script computes Grad-CAM and MS-CAM of the targets model of a profile on its held-out chips and prints, per
method, MaxBoxAcc (IoU 0.5, thresholds 0, 0.01, ..., 0.99) and tau* under both rules, and the share of chips whose
box differs at the course's tau*. It needs OpenCV, which the course does not install:
``.venv/bin/pip install opencv-python-headless`` then
``.venv/bin/python benchmarks/wsol_conventions.py [--profile ci|laptop] [--n 300] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sarxai_utils import cam, config, data, localization, models  # noqa: E402
from sarxai_utils.datasets import model_input  # noqa: E402
from sarxai_utils.explain import explain  # noqa: E402


def reference_box(cam01: np.ndarray, threshold: float) -> np.ndarray:
    """The box of Choe et al.'s reference code for a map already in [0, 1] (their convention, as described above)."""
    import cv2

    height, width = cam01.shape
    image = (cam01 * 255).astype(np.uint8)[:, :, None]
    _, binary = cv2.threshold(image, int(threshold * np.max(image)), 255, cv2.THRESH_BINARY)
    contours = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
    if len(contours) == 0:
        return np.array([0, 0, 0, 0])
    x, y, w, h = cv2.boundingRect(max(contours, key=cv2.contourArea))
    return np.array([x, y, min(x + w, width - 1), min(y + h, height - 1)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="ci", choices=list(config.PROFILES))
    parser.add_argument("--n", type=int, default=300, help="held-out chips (default 300)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    args = parser.parse_args()
    cfg = config.load(args.profile)
    model = models.load_or_train(cfg, "targets", "HH")[0]
    _, test = data.lesson_data(cfg, "embedded", "targets")
    n = min(args.n, len(test))
    x, y = model_input(test, "HH")[:n], torch.as_tensor(test.labels[:n])
    boxes, thresholds = test.boxes[:n], localization.CHOE_THRESHOLDS
    report = {"profile": cfg.name, "chips": n, "size": int(x.shape[-1]), "methods": {}}
    print(f"{cfg.name}: {n} held-out chips of {x.shape[-1]} px, MaxBoxAcc at IoU 0.5")
    print(f"{'method':<10}{'course':>9}{'tau*':>6}{'reference':>11}{'tau*':>6}{'difference':>12}{'boxes differ':>14}")
    for method in ("grad_cam", "ms_cam"):
        cams = cam.normalize(explain(model, x, y, method)).cpu().numpy()  # the course's min-max, per map
        ours = localization.box_ious(cams, boxes, thresholds)  # (N, T)
        ref = np.array([[localization.box_iou(reference_box(c, t), b) for t in thresholds]  # the same inclusive IoU
                        for c, b in zip(cams, boxes, strict=True)])
        acc_ours, acc_ref = (ours >= 0.5).mean(axis=0), (ref >= 0.5).mean(axis=0)
        k_ours, k_ref = int(acc_ours.argmax()), int(acc_ref.argmax())
        differ = float(np.mean(np.abs(ours[:, k_ours] - ref[:, k_ours]) > 1e-9))
        row = {"course": float(acc_ours[k_ours]), "course_tau": float(thresholds[k_ours]),
               "reference": float(acc_ref[k_ref]), "reference_tau": float(thresholds[k_ref]),
               "largest_gap_any_tau": float(np.abs(acc_ours - acc_ref).max()), "boxes_differ_at_course_tau": differ}
        report["methods"][method] = row
        print(f"{method:<10}{row['course']:>9.3f}{row['course_tau']:>6.2f}{row['reference']:>11.3f}"
              f"{row['reference_tau']:>6.2f}{row['reference'] - row['course']:>+12.3f}{differ:>13.0%}")
        print(f"{'':<10}largest gap between the two accuracy curves at one threshold: {row['largest_gap_any_tau']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
