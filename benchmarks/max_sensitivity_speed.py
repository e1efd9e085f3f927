"""Is ``metrics.max_sensitivity`` at least as fast as Captum's ``sensitivity_max`` for the same explanations?

For each architecture (default resnet10_slim, the laptop model, and resnet18, one input channel, 100 x 100) and
each of the eight methods, in one run on the same model, images and perturbations: the seconds of
``captum.metrics.sensitivity_max(explain-wrapper, ...)`` and of ``max_sensitivity(...)`` (Captum's default of 10
perturbed copies per image, B images), their ratio (Captum / ours; >= 1 means ours is at least as fast) and the
largest difference of the scores (they must agree). Each time is the best of ``--repeats`` alternating rounds
after a warm-up. With ``--reuse-maps`` ours is given the unperturbed maps (computed outside the timing), as the
lessons do after explaining; Captum's metric has no such option. Integrated Gradients uses ``--ig-steps``
(default 50) to keep the run short: the ratio does not depend on it. Run on an otherwise idle machine:
``.venv/bin/python benchmarks/max_sensitivity_speed.py [--archs resnet10_slim resnet18] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import benchmark_results
import torch
from captum.metrics import sensitivity_max

from sarxai_utils import metrics, models, training
from sarxai_utils.explain import METHODS, PAPER_METHODS, explain


def interleaved_best(first: Callable[[], object], second: Callable[[], object], repeats: int
                     ) -> tuple[float, object, float, object]:
    """Best wall-clock seconds of ``first`` and ``second`` over ``repeats`` alternating rounds after one warm-up
    run of each (alternating spreads any drift of the machine's speed over both), with their last results."""
    result_a, result_b = first(), second()
    best_a = best_b = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result_a = first()
        best_a = min(best_a, time.perf_counter() - start)
        start = time.perf_counter()
        result_b = second()
        best_b = min(best_b, time.perf_counter() - start)
    return best_a, result_a, best_b, result_b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["resnet10_slim", "resnet18"])
    parser.add_argument("--methods", nargs="+", default=list(PAPER_METHODS), choices=list(PAPER_METHODS))
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--ig-steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--reuse-maps", action="store_true",
                        help="give max_sensitivity the originals' maps (maps=), as the lessons do: Captum cannot")
    parser.add_argument("--json", type=Path, default=None,
                        help="where the numbers go (default: the file the README is written from)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
    threads = training.configure_threads()
    print(f"{threads} threads, {args.images} images of {args.size} x {args.size}, {args.samples} perturbations "
          f"each, best of {args.repeats} after a warm-up")
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.images, 1, args.size, args.size, generator=gen) * 2 - 1
    targets = torch.arange(args.images) % 10
    noise = (torch.rand(args.images * args.samples, 1, args.size, args.size, generator=gen) * 2 - 1) * 0.02

    def perturb(inputs: torch.Tensor) -> torch.Tensor:
        return inputs + noise[: len(inputs)]

    report: dict[str, dict[str, dict[str, float]]] = {}
    for arch in args.archs:
        torch.manual_seed(0)
        model = models.build_model(arch, 1, 10).eval()
        print(f"\n{arch}\n{'method':<24}{'Captum s':>10}{'ours s':>10}{'Captum/ours':>13}{'max |diff|':>12}")
        report[arch] = {}
        for method in args.methods:
            options = {"n_steps": args.ig_steps} if method == "integrated_gradients" else {}

            def explanation(inputs, target, model=model, method=method, options=options):
                inputs = inputs[0] if isinstance(inputs, tuple) else inputs
                return (explain(model, inputs, target, method, progress=False, **options),)

            given = explain(model, x, targets, method, progress=False, **options) if args.reuse_maps else None
            captum_s, theirs, ours_s, ours = interleaved_best(
                lambda explanation=explanation: sensitivity_max(
                    explanation, x, perturb_func=perturb, n_perturb_samples=args.samples, target=targets),
                lambda model=model, method=method, options=options, maps=given: metrics.max_sensitivity(
                    model, x, targets, method, n_samples=args.samples, perturb_func=perturb, progress=False,
                    maps=maps, **options),
                args.repeats)
            diff = float((ours - theirs.float().reshape(-1)).abs().max())
            ratio = captum_s / ours_s
            print(f"{METHODS[method].title:<24}{captum_s:>10.3f}{ours_s:>10.3f}{ratio:>13.2f}{diff:>12.1e}",
                  flush=True)
            report[arch][method] = {"captum_s": captum_s, "ours_s": ours_s, "ratio": ratio, "max_abs_diff": diff}
    name = "max_sensitivity_speed_reuse_maps" if args.reuse_maps else "max_sensitivity_speed"
    benchmark_results.save(args.json or benchmark_results.default_path(name),
                           {"threads": threads, "size": args.size, "images": args.images, "samples": args.samples,
                            "ig_steps": args.ig_steps, "repeats": args.repeats, "reuse_maps": args.reuse_maps,
                            "results": report})


if __name__ == "__main__":
    main()
