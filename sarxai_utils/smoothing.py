"""Smoothed attributions: the average of a method's maps over noisy copies of each image (SmoothGrad, Smilkov et
al. 2017, arXiv:1706.03825), with Gaussian noise or with SAR-realistic noise.

- :func:`smoothgrad`: Gaussian SmoothGrad through Captum's ``NoiseTunnel`` (``explain(..., noise_tunnel=...)``)
  for Captum's eight methods; the CAM family, which NoiseTunnel cannot wrap, gets the same Gaussian draws
  averaged by :func:`noise_average`.
- :func:`speckle_smoothgrad`: the average over fresh speckle realisations of the same clean scene (embedded data)
  or over multiplicative L-look Gamma noise (real data), which Captum lacks: :func:`noise_average` with the
  perturbations of :mod:`.metrics`.

Every function returns (B, H, W) float32 maps like ``explain`` ((B, C, H, W) with ``reduce="none"``), computes all
noisy copies in one batched ``explain`` call, and is seeded: the same call gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from . import sar
from .explain import CAM_METHODS, METHODS, _positive_int, explain, input_batch, model_device, num_classes, target_tensor
from .metrics import _count, _expand_options, perturbed_copies, sar_perturbation

DEFAULT_STDEV: float = 0.2  # model-input units: 10 % of the [-1, 1] range (Smilkov et al. use 10-20 %), 4.5 dB


def _stdev(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"stdev must be a non-negative finite number (model-input units), got {value!r}")
    return float(value)


def matched_stdev(looks: float = 4.4) -> float:
    """The Gaussian ``stdev`` in model-input units whose spread equals that of L-look speckle in dB
    (:func:`.sar.speckle_db_std` over the half-width of the dB window): 0.097 for 4.4 looks."""
    return sar.speckle_db_std(looks) / ((sar.DB_MAX - sar.DB_MIN) / 2.0)


def gaussian_perturbation(stdev: float = DEFAULT_STDEV, seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Additive Gaussian noise ``x -> x + N(0, stdev^2)`` i.i.d. per pixel in model-input units, drawn exactly as
    Captum's NoiseTunnel draws it (``torch.normal`` with a tensor of stdevs) from a CPU generator seeded with
    ``seed`` (which NoiseTunnel takes from the global generator after ``torch.manual_seed(seed)``)."""
    stdev = _stdev(stdev)
    generator = torch.Generator().manual_seed(seed)

    def perturb(x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"x must be a floating-point tensor of model input, got {type(x).__name__}")
        with torch.no_grad():
            noise = torch.normal(0, torch.tensor(stdev).repeat(tuple(x.shape)), generator=generator)
            return x.detach() + noise.to(device=x.device, dtype=x.dtype)

    return perturb


def noise_average(model: nn.Module, images: torch.Tensor, targets: Any, method: str,
                  perturb_func: Callable[[torch.Tensor], torch.Tensor], n_samples: int = 10, *,
                  batch_size: int = 16, progress: bool | None = None, reduce: str = "sum",
                  **options: Any) -> torch.Tensor:
    """The mean of ``explain`` maps over ``n_samples`` noisy copies ``perturb_func(x.repeat_interleave(n, 0))`` of
    each (B, C, H, W) model-input image (copies of an image adjacent, as in :func:`.metrics.max_sensitivity`):
    (B, H, W) float32, or (B, C, H, W) with ``reduce="none"``. One ``explain`` call over the B * n copies."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {list(METHODS)}")
    if not callable(perturb_func):
        raise TypeError(f"perturb_func must be a function x -> x', got {type(perturb_func).__name__}")
    n_samples = _count("n_samples", n_samples)
    device, dtype = model_device(model)
    x = input_batch(images, device, dtype)
    batch = len(x)
    target = target_tensor(targets, batch, num_classes(model, x[:1]), device)
    copies = perturbed_copies(x, perturb_func, n_samples)
    maps = explain(model, copies, target.repeat_interleave(n_samples), method, batch_size=batch_size,
                   progress=progress, reduce=reduce,
                   **_expand_options(options, batch, n_samples, with_originals=False))
    return maps.reshape(batch, n_samples, *maps.shape[1:]).mean(dim=1)


def smoothgrad(model: nn.Module, images: torch.Tensor, targets: Any, method: str, n_samples: int = 10,
               stdev: float = DEFAULT_STDEV, *, seed: int = 0, batch_size: int = 16, progress: bool | None = None,
               reduce: str = "sum", **options: Any) -> torch.Tensor:
    """Gaussian SmoothGrad of ``method``: the mean of its maps over ``n_samples`` copies ``x + N(0, stdev^2)``
    (model-input units; :func:`matched_stdev` gives the spread of speckle) of each (B, C, H, W) image: (B, H, W).

    Captum's methods go through ``NoiseTunnel(method).attribute(x, nt_type="smoothgrad", nt_samples=n,
    stdevs=stdev, ...)`` with torch's generator seeded with ``seed`` (the caller's random state is restored); the
    CAM family is averaged by :func:`noise_average` over the same draws. About ``batch_size`` noisy copies go
    through the model at once.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {list(METHODS)}")
    n_samples = _count("n_samples", n_samples)
    stdev = _stdev(stdev)
    batch_size = _positive_int("batch_size", batch_size)
    if method in CAM_METHODS:
        return noise_average(model, images, targets, method, gaussian_perturbation(stdev, seed), n_samples,
                             batch_size=batch_size, progress=progress, reduce=reduce, **options)
    device, _ = model_device(model)
    tunnel = {"nt_type": "smoothgrad", "nt_samples": n_samples, "stdevs": stdev,
              "nt_samples_batch_size": min(n_samples, int(batch_size))}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        return explain(model, images, targets, method, batch_size=max(1, int(batch_size) // n_samples),
                       progress=progress, reduce=reduce, noise_tunnel=tunnel, **options)


def speckle_smoothgrad(model: nn.Module, images_or_scenes: Any, targets: Any, method: str, n_samples: int = 10, *,
                       noise: str = "speckle", looks: float | None = None,
                       clean: np.ndarray | torch.Tensor | None = None,
                       polarization: str | Sequence[str] | None = None, seed: int = 0, batch_size: int = 16,
                       progress: bool | None = None, reduce: str = "sum", **options: Any) -> torch.Tensor:
    """Speckle-smoothed maps: the mean of ``method``'s maps over ``n_samples`` SAR-realistic copies of each image,
    (B, H, W) float32 (or (B, C, H, W) with ``reduce="none"``).

    ``noise="speckle"``: fresh L-look speckle realisations of the same clean scene (the observed image itself is
    not among them), an estimate of the explanation of the ground rather than of one speckle draw;
    ``noise="gamma"``: the observed image times unit-mean L-look Gamma noise (for real data; it adds speckle to
    speckle: a product of two L-look fields has L^2 / (2L + 1) looks). Inputs as :func:`.metrics.sar_perturbation`.
    """
    x, perturb = sar_perturbation(images_or_scenes, noise, n_samples, looks=looks, clean=clean,
                                  polarization=polarization, seed=seed)
    return noise_average(model, x, targets, method, perturb, n_samples, batch_size=batch_size, progress=progress,
                         reduce=reduce, **options)
