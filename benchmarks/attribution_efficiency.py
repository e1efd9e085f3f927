"""How close does ``explain`` come to the cost of the model passes each method cannot avoid?

For each architecture (default resnet18 and resnet101, one input channel, 100 x 100) and each of the eight
methods, measured in one run on the same model and images:

- measured: seconds per image of ``explain(model, x, targets, method)`` with the course defaults;
- bound: seconds per image of the model passes the method needs at the least, timed on their own:
  Saliency, Input x Gradient, Guided Backpropagation, Deconvolution: one forward + backward to the input;
  Grad-CAM: one forward + backward to the ``layer4`` activations; Guided Grad-CAM: both of those;
  Integrated Gradients: ``n_steps`` x (forward + backward) in batches of its internal batch size;
  Occlusion: (number of window positions) x forward in batches of ``perturbations_per_eval`` x B images,
  plus one forward of the unperturbed images.
- efficiency = bound / measured (1 = no overhead); the target is at least 0.8 for every method on CPU.

Each time is the best of ``--repeats`` runs after one warm-up run. Run on an otherwise idle machine:
``.venv/bin/python benchmarks/attribution_efficiency.py [--archs resnet18 resnet101] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import benchmark_results
import torch
from torch import nn

from sarxai_utils import models, training
from sarxai_utils.explain import (
    IG_INTERNAL_BATCH,
    IG_STEPS,
    METHODS,
    PAPER_METHODS,
    explain,
    occlusion_passes,
    occlusion_window,
)

# Images per call: enough to batch the one-pass methods, one for the methods that batch internally.
BATCH = {"resnet18": 8, "resnet101": 4, "resnet10_slim": 16}
PER_IMAGE_METHODS = ("integrated_gradients", "occlusion")
OCCLUSION_PPE = 16  # explain's default perturbations_per_eval


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Best wall-clock seconds of ``fn`` over ``repeats`` runs, after one warm-up run."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def forward(model: nn.Module, x: torch.Tensor) -> None:
    """One forward pass without gradients."""
    with torch.no_grad():
        model(x)


def forward_backward(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> None:
    """One forward pass and the gradient of the target scores with respect to the input."""
    x = x.clone().requires_grad_(True)
    out = model(x)
    torch.autograd.grad(out[torch.arange(len(x)), target].sum(), x)


def forward_backward_to_layer(model: nn.Module, x: torch.Tensor, target: torch.Tensor, layer: nn.Module) -> None:
    """One forward pass and the gradient of the target scores with respect to ``layer``'s output only."""
    saved: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: saved.append(out))
    try:
        out = model(x)
    finally:
        handle.remove()
    torch.autograd.grad(out[torch.arange(len(x)), target].sum(), saved[0])


def bounds(model: nn.Module, size: int, batch: int, repeats: int) -> dict[str, float]:
    """The lower bound in seconds per image for every method, from model passes timed in this run."""
    gen = torch.Generator().manual_seed(0)

    def images(n: int) -> torch.Tensor:
        return torch.rand(n, 1, size, size, generator=gen) * 2 - 1

    x, target = images(batch), torch.zeros(batch, dtype=torch.long)
    fb = best_time(lambda: forward_backward(model, x, target), repeats) / batch
    cam = best_time(lambda: forward_backward_to_layer(model, x, target, model.layer4), repeats) / batch
    xi = images(IG_INTERNAL_BATCH)
    ti = torch.zeros(IG_INTERNAL_BATCH, dtype=torch.long)
    fb_ig = best_time(lambda: forward_backward(model, xi, ti), repeats) / IG_INTERNAL_BATCH
    window, stride = occlusion_window(size)
    positions = occlusion_passes(size, window, stride)
    xo = images(OCCLUSION_PPE)  # occlusion of one image: perturbations_per_eval copies per forward
    fwd_occ = best_time(lambda: forward(model, xo), repeats) / OCCLUSION_PPE
    fwd_one = best_time(lambda: forward(model, x[:1]), repeats)
    return {
        "saliency": fb, "input_x_gradient": fb, "guided_backprop": fb, "deconvolution": fb,
        "grad_cam": cam, "guided_grad_cam": fb + cam,
        "integrated_gradients": IG_STEPS * fb_ig,
        "occlusion": positions * fwd_occ + fwd_one,
    }


def measured(model: nn.Module, size: int, batch: int, repeats: int) -> dict[str, float]:
    """Seconds per image of ``explain`` for every method with the course defaults."""
    gen = torch.Generator().manual_seed(1)
    result = {}
    for method in PAPER_METHODS:
        n = 1 if method in PER_IMAGE_METHODS else batch
        x = torch.rand(n, 1, size, size, generator=gen) * 2 - 1
        result[method] = best_time(lambda x=x, method=method, n=n: explain(model, x, 0, method, batch_size=n,
                                                                               progress=False),
                                   repeats) / n
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["resnet18", "resnet101"])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=benchmark_results.default_path("attribution_efficiency"),
                        help="where the numbers go (default: the file the README is written from)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
    threads = training.configure_threads()
    print(f"{threads} threads, {args.size} x {args.size}, 1 channel, best of {args.repeats} after a warm-up; "
          f"IG n_steps={IG_STEPS}, internal batch {IG_INTERNAL_BATCH}; occlusion window/stride "
          f"{occlusion_window(args.size)}, {OCCLUSION_PPE} perturbations per forward")
    report: dict[str, dict[str, dict[str, float]]] = {}
    for arch in args.archs:
        torch.manual_seed(0)
        model = models.build_model(arch, 1, 10).eval()
        batch = BATCH.get(arch, 8)
        bound = bounds(model, args.size, batch, args.repeats)
        took = measured(model, args.size, batch, args.repeats)
        print(f"\n{arch} (batch {batch} for the one-pass methods, 1 image for IG and Occlusion)")
        print(f"{'method':<24}{'measured s/img':>16}{'bound s/img':>14}{'efficiency':>12}")
        report[arch] = {}
        for method in PAPER_METHODS:
            eff = bound[method] / took[method]
            verdict = "OK" if eff >= 0.8 else "below 0.8"
            print(f"{METHODS[method].title:<24}{took[method]:>16.4f}{bound[method]:>14.4f}{eff:>12.2f}  {verdict}",
                  flush=True)
            report[arch][method] = {"measured_s": took[method], "bound_s": bound[method], "efficiency": eff}
    window, stride = occlusion_window(args.size)
    benchmark_results.save(args.json, {"threads": threads, "size": args.size, "repeats": args.repeats,
                                       "ig_steps": IG_STEPS, "occlusion_windows": occlusion_passes(args.size, window,
                                                                                                   stride),
                                       "results": report})


if __name__ == "__main__":
    main()
