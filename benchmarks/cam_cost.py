"""What does each CAM cost per image, and is MS-CAM within 1.5 x Grad-CAM (issue 6)?

For each architecture (default resnet10_slim, the laptop model, and resnet18; one input channel, 100 x 100,
random weights: the cost does not depend on them), in one run on the same model and images: the seconds per image
of ``explain`` for Grad-CAM (Captum's, the lessons 03-07 method), MS-CAM, Self-Matching CAM (both at their
default Q = the layer's size) and the torchcam baselines Grad-CAM++, XGrad-CAM, LayerCAM and Score-CAM, in
batches of ``--batch`` images; each time the best of ``--repeats`` rounds after a warm-up, the methods
interleaved within each round so that a load change on the machine hits all of them alike. Prints each method's
ratio to Grad-CAM; MS-CAM's must be <= 1.5. Run on an otherwise idle machine:
``.venv/bin/python benchmarks/cam_cost.py [--archs resnet10_slim resnet18] [--threads 1] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import benchmark_results
import torch

from sarxai_utils import models, training
from sarxai_utils.explain import METHODS, explain

CAM_COST_METHODS: tuple[str, ...] = ("grad_cam", "ms_cam", "self_matching_cam", "grad_cam_pp", "xgrad_cam",
                                     "layer_cam", "score_cam")
MS_CAM_LIMIT = 1.5  # MS-CAM's cost per image may be at most 1.5 x Grad-CAM's


def timed(method: str, model: torch.nn.Module, x: torch.Tensor, targets: torch.Tensor) -> float:
    """Wall-clock seconds of one ``explain`` call over the whole batch."""
    start = time.perf_counter()
    explain(model, x, targets, method, batch_size=len(x), progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["resnet10_slim", "resnet18"])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: every core)")
    parser.add_argument("--json", type=Path, default=benchmark_results.default_path("cam_cost"),
                        help="where the numbers go (default: the file the README is written from)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
    if args.threads is None:
        threads = training.configure_threads()
    else:
        torch.set_num_threads(args.threads)
        threads = torch.get_num_threads()
    print(f"{threads} thread(s), batches of {args.batch} images of {args.size} x {args.size}, 1 channel, best of "
          f"{args.repeats} interleaved rounds after a warm-up")
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, 1, args.size, args.size, generator=gen) * 2 - 1
    targets = torch.arange(args.batch) % 10
    report: dict[str, dict[str, dict[str, float]]] = {}
    verdicts = []
    for arch in args.archs:
        torch.manual_seed(0)
        model = models.build_model(arch, 1, 10).eval()
        for method in CAM_COST_METHODS:  # warm-up
            timed(method, model, x, targets)
        best = dict.fromkeys(CAM_COST_METHODS, float("inf"))
        for _ in range(args.repeats):
            for method in CAM_COST_METHODS:
                best[method] = min(best[method], timed(method, model, x, targets))
        per_image = {method: seconds / args.batch for method, seconds in best.items()}
        base = per_image["grad_cam"]
        print(f"\n{arch}\n{'method':<20}{'s / image':>12}{'x Grad-CAM':>12}")
        report[arch] = {}
        for method in CAM_COST_METHODS:
            ratio = per_image[method] / base
            print(f"{METHODS[method].title:<20}{per_image[method]:>12.4f}{ratio:>12.2f}", flush=True)
            report[arch][method] = {"seconds_per_image": per_image[method], "ratio_to_grad_cam": ratio}
        ms_ratio = per_image["ms_cam"] / base
        verdicts.append(ms_ratio <= MS_CAM_LIMIT)
        print(f"MS-CAM / Grad-CAM = {ms_ratio:.2f} ({'OK' if verdicts[-1] else 'ABOVE'} the limit {MS_CAM_LIMIT})")
    benchmark_results.save(args.json, {"threads": threads, "size": args.size, "batch": args.batch,
                                       "repeats": args.repeats, "results": report})
    if not all(verdicts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
