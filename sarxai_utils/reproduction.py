"""Experiments that test why a recomputed Max-Sensitivity column differs from Su et al.'s Table 1 (lesson 13).

A column (each method's Max-Sensitivity) is reduced to what the disagreement is about by :func:`agreement`:
Spearman's rho with the paper's ranking, Grad-CAM's rank (the paper's: 8 of 8, the least stable) and the level of
the five pixel methods relative to the paper's (the geometric mean of ours / theirs). Each experiment changes one
thing the paper leaves open and scores the column again (:func:`sensitivity_column`): the input scaling behind its
radius (:func:`input_scalings`), a post-processing of the maps (:data:`POSTPROCESSING`), how long the model
trained, its depth and its training seed (:func:`variant_profile`). :func:`verdict` says from the numbers which
part of the disagreement a change explains, and :func:`tally` counts it over all the single changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from . import cam, config, metrics, papers, results
from .explain import PAPER_METHODS, explain

PIXEL_METHODS: tuple[str, ...] = ("saliency", "input_x_gradient", "integrated_gradients", "guided_backprop",
                                  "deconvolution")
IMAGENET_STD = 0.226  # the mean of torchvision's ImageNet channel standard deviations (0.229, 0.224, 0.225)
COURSE_SPAN = 2.0  # the course's model input spans [-1, 1] over the dB window (sar.DB_MIN ... sar.DB_MAX)
LEVEL_TOLERANCE = 1.5  # a pixel level within this factor of the paper's counts as "at the paper's level"
GRAD_CAM_LAST = 7  # Grad-CAM at this rank or above (of 8, 8 = least stable) counts as "the paper's outlier"
CODE: tuple[str, ...] = (*results.DEFAULT_CODE, "reproduction")

POSTPROCESSING: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "none": lambda maps: maps,
    "absolute value": torch.abs,  # Captum's visualisation default for heat maps (sign="absolute_value")
    "min-max to [0, 1]": cam.normalize,  # what a heat-map picture shows
}


def input_scalings(radius: float = 0.02) -> dict[str, float]:
    """A ``radius`` (Captum's default 0.02: the paper used Captum and states none) read in other input scalings,
    converted to the course's model input: the same
    L-infinity ball drawn on a picture scaled to [0, 1], ImageNet-normalised, or kept as 8-bit values spans these
    radii here (the course's own reading first)."""
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not math.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    return {
        "[-1, 1] (the course)": float(radius),
        "[0, 1]": radius * COURSE_SPAN,
        "[0, 1], ImageNet-normalised": radius * IMAGENET_STD * COURSE_SPAN,
        "[0, 255] (8-bit values)": radius * COURSE_SPAN / 255,
    }


def variant_profile(cfg: config.Profile, experiment: str, value: Any) -> config.Profile:
    """The profile of one trained-model experiment: ``"epochs"`` (``value`` epochs, the rest as ``cfg``),
    ``"seed"`` (training seed ``value``) or ``"arch"`` (architecture ``value`` at a small scale: at most 64 px,
    a quarter of the training scenes and half the epochs of ``cfg``, so that ResNet101 trains on a CPU)."""
    if experiment == "epochs":
        return config.load(cfg.name, **{**_sizes(cfg), "epochs": value})
    if experiment == "seed":
        return config.load(cfg.name, **{**_sizes(cfg), "seed": value})
    if experiment == "arch":
        small = dict(_sizes(cfg), urban_size=min(64, cfg.urban_size),
                     n_train_per_class=max(1, cfg.n_train_per_class // 4), epochs=max(1, cfg.epochs // 2))
        return config.load(cfg.name, **{**small, "arch": value})
    raise ValueError(f"experiment must be 'epochs', 'seed' or 'arch', got {experiment!r}")


def _sizes(cfg: config.Profile) -> dict[str, Any]:
    """Every setting of ``cfg`` that config.load accepts as an override (so a variant keeps them all)."""
    return {k: v for k, v in cfg.as_dict().items() if k not in ("name", "description")}


def sensitivity_column(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *,
                       methods: Sequence[str] = PAPER_METHODS, radius: float = 0.02, n_samples: int = 10,
                       seed: int = 0, postprocess: str = "none", options: Mapping[str, Mapping[str, Any]] | None = None,
                       cache: bool = True, recompute: bool = False,
                       label: str = "Max-Sensitivity") -> dict[str, np.ndarray]:
    """Each method's per-image Max-Sensitivity ((N,) float arrays, Su et al. Eq. 4 as :func:`metrics.max_sensitivity`)
    with the maps passed through ``POSTPROCESSING[postprocess]`` before they are compared; ``options[method]`` go to
    ``explain`` (e.g. ``{"integrated_gradients": {"n_steps": 50}}``). Kept in the results cache keyed by the model, the
    images, the targets and the settings (one entry per method)."""
    if postprocess not in POSTPROCESSING:
        raise ValueError(f"postprocess must be one of {list(POSTPROCESSING)}, got {postprocess!r}")
    unknown = [m for m in methods if m not in PAPER_METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty list of {list(PAPER_METHODS)}, got {list(methods)}")
    options = dict(options or {})
    if not set(options) <= set(methods) or not all(isinstance(o, Mapping) for o in options.values()):
        raise ValueError(f"options must map some of the methods {list(methods)} to dicts of explain options, "
                         f"got {options!r}")
    post = POSTPROCESSING[postprocess]

    def score(method: str) -> np.ndarray:
        extra = dict(options.get(method, {}))
        if postprocess == "none":
            how: Any = method
        else:
            def how(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
                return post(explain(model, x, t, method, progress=False, **extra))
            extra = {}
        return metrics.max_sensitivity(model, images, targets, how, radius=radius, n_samples=n_samples, seed=seed,
                                       progress=False, **extra).numpy().astype(np.float64)

    key = dict(model=model, images=images, targets=targets, radius=float(radius), n_samples=int(n_samples),
               seed=int(seed), postprocess=postprocess)
    with results.collect(label, verbose=cache):
        return {m: results.cached(f"{label}, {m}", lambda m=m: score(m),
                                  {**key, "method": m, "options": dict(options.get(m, {}))}, code=CODE,
                                  recompute=recompute, enabled=cache, verbose=False) for m in methods}


@dataclass(frozen=True)
class Agreement:
    """What a Max-Sensitivity column has in common with the paper's (one polarization)."""

    rho: float  # Spearman's rho between the two rankings of the eight methods
    grad_cam_rank: float  # Grad-CAM's rank among the eight, 1 = most stable, 8 = least (the paper's)
    pixel_level: float  # geometric mean over PIXEL_METHODS of ours / the paper's (1 = the paper's level)
    rho_without_grad_cam: float  # Spearman's rho over the seven other methods: the agreement Grad-CAM hides

    def explains_grad_cam(self) -> bool:
        """Grad-CAM is among the two least stable methods, as in the paper."""
        return self.grad_cam_rank >= GRAD_CAM_LAST

    def explains_pixel_level(self) -> bool:
        """The pixel methods are within LEVEL_TOLERANCE of the paper's level."""
        return 1 / LEVEL_TOLERANCE <= self.pixel_level <= LEVEL_TOLERANCE


def paper_column(polarization: str = "VV") -> np.ndarray:
    """Su et al.'s Max-Sensitivity of the eight methods for ``polarization`` ("VV" or "VH"), in PAPER_METHODS order."""
    if polarization not in papers.SU_TABLE1["max_sensitivity"]:
        raise ValueError(f"polarization must be 'VV' or 'VH', got {polarization!r}")
    paper = papers.SU_TABLE1["max_sensitivity"][polarization]
    return np.array([paper[m] for m in PAPER_METHODS])


def agreement(column: Mapping[str, float | np.ndarray], polarization: str = "VV") -> Agreement:
    """Compare a column (each of the eight methods' mean Max-Sensitivity, or its per-image values) with Su et al.'s
    Table 1 for ``polarization``."""
    from scipy.stats import rankdata

    theirs = paper_column(polarization)
    missing = [m for m in PAPER_METHODS if m not in column]
    if missing:
        raise ValueError(f"the column lacks {missing}: agreement needs all eight methods of the paper")
    ours = np.array([float(np.mean(column[m])) for m in PAPER_METHODS])
    if not np.isfinite(ours).all():
        raise ValueError("the column holds NaN or inf values")
    gc = list(PAPER_METHODS).index("grad_cam")
    rank = rankdata(ours)[gc]
    others = [k for k in range(len(PAPER_METHODS)) if k != gc]
    return Agreement(float(spearmanr(ours, theirs)[0]), float(rank), _level(ours, theirs),
                     float(spearmanr(ours[others], theirs[others])[0]))


def _level(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Geometric mean over PIXEL_METHODS of ours / theirs (arrays in PAPER_METHODS order)."""
    pixel = [list(PAPER_METHODS).index(m) for m in PIXEL_METHODS]
    return float(np.exp(np.mean(np.log(np.maximum(ours[pixel], 1e-12) / theirs[pixel]))))


def level_interval(column: Mapping[str, np.ndarray], polarization: str = "VV", n_boot: int = 1000,
                   seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of the pixel level of a column of per-image values (the images resampled with
    replacement, the same images for every method)."""
    theirs = paper_column(polarization)
    missing = [m for m in PAPER_METHODS if m not in column]
    if missing:
        raise ValueError(f"the column lacks {missing}: level_interval needs all eight methods of the paper")
    lengths = {np.asarray(column[m]).size for m in PAPER_METHODS}
    if len(lengths) != 1:
        raise ValueError(f"the methods' per-image values differ in length ({sorted(lengths)}): they must score the "
                         "same images")
    values = np.stack([np.asarray(column[m], np.float64).reshape(-1) for m in PAPER_METHODS])
    if values.shape[1] < 2 or not np.isfinite(values).all():
        raise ValueError("level_interval needs at least two finite per-image values for each of the eight methods")
    picks = np.random.default_rng(seed).integers(0, values.shape[1], (n_boot, values.shape[1]))
    levels = [_level(values[:, p].mean(axis=1), theirs) for p in picks]
    return float(np.percentile(levels, 2.5)), float(np.percentile(levels, 97.5))


def verdict(name: str, changed: Agreement, baseline: Agreement) -> str:
    """One sentence, from the numbers, on what the change ``name`` does to the disagreement with the paper: a part
    is *reproduced* when the change agrees with the paper there and the ``baseline`` does not."""
    parts = [f"puts Grad-CAM at rank {changed.grad_cam_rank:.0f} of 8 (baseline {baseline.grad_cam_rank:.0f}, the "
             f"paper 8)", f"the pixel methods at {changed.pixel_level:.2f} x the paper's level (baseline "
             f"{baseline.pixel_level:.2f} x)", f"rho {changed.rho:+.2f} (baseline {baseline.rho:+.2f})"]
    done, already = [], []
    for what, now, before in (("Grad-CAM's rank", changed.explains_grad_cam(), baseline.explains_grad_cam()),
                              ("the pixel level", changed.explains_pixel_level(), baseline.explains_pixel_level())):
        if now and before:
            already.append(what)
        elif now:
            done.append(what)
    summary = ("reproduces " + " and ".join(done)) if done else "reproduces neither part"
    if already:
        summary += f" ({' and '.join(already)} already agreed at the baseline)"
    return f"{name}: {', '.join(parts)}: {summary}"


@dataclass(frozen=True)
class Tally:
    """What the single changes of an experiment reproduce, each against its own baseline column."""

    changes: tuple[str, ...]  # the columns that change one thing against a baseline
    rank_reproduced: tuple[str, ...]  # the changes that put Grad-CAM where the paper has it and their baseline not
    level_reproduced: tuple[str, ...]  # the same for the pixel level
    rank_range: tuple[float, float]  # Grad-CAM's lowest and highest rank over every column (baselines, seeds too)


def tally(agreements: Mapping[str, Agreement], baseline_of: Mapping[str, str]) -> Tally:
    """Count what each single change reproduces: ``baseline_of[name]`` names the baseline column of change
    ``name`` (both keys of ``agreements``); columns that are not keys of ``baseline_of`` (baselines, other training
    seeds) are no changes but count in the rank range."""
    if not agreements:
        raise ValueError("agreements is empty: tally needs at least one column")
    unknown = sorted({n for pair in baseline_of.items() for n in pair} - set(agreements))
    if unknown:
        raise ValueError(f"baseline_of names columns that agreements lacks: {unknown}")
    changes = tuple(baseline_of)
    rank_ok = tuple(n for n in changes if agreements[n].explains_grad_cam()
                    and not agreements[baseline_of[n]].explains_grad_cam())
    level_ok = tuple(n for n in changes if agreements[n].explains_pixel_level()
                     and not agreements[baseline_of[n]].explains_pixel_level())
    ranks = [a.grad_cam_rank for a in agreements.values()]
    return Tally(changes, rank_ok, level_ok, (min(ranks), max(ranks)))


def confidence(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """The softmax probability the model gives each image's target class: (N,) float array."""
    from .explain import model_device, num_classes, target_tensor

    device, dtype = model_device(model)
    x = images.to(device=device, dtype=dtype)
    t = target_tensor(targets, len(x), num_classes(model, x[:1]), device)
    with torch.inference_mode():
        probs = torch.softmax(model(x), dim=1)
    return probs[torch.arange(len(x), device=device), t].double().cpu().numpy()
