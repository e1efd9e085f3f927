"""Numbers that judge explanations: how much of a map's relevance falls on the ground-truth evidence
(relevance mass accuracy, Arras, Osman & Samek 2022, CLEVR-XAI), which the embedded data makes computable, and
how far an Integrated Gradients map is from its completeness axiom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .explain import reference_images

RELEVANCE_PARTS: tuple[str, ...] = ("positive", "absolute")


def _as_numpy(value: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def relevance_mass_accuracy(maps: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor,
                            relevance: str = "positive") -> np.ndarray:
    """Share of each map's relevance that lies inside its evidence mask: (B,) values in [0, 1].

    ``maps`` are (B, H, W) attributions (or one (H, W) map), ``masks`` boolean (B, H, W) of the same shape.
    ``relevance`` "positive" counts only positive attribution (evidence FOR the class, as Arras et al.);
    "absolute" counts |attribution|. A map without any such relevance scores 0. A map spread uniformly
    scores the mask's area share, which is the chance level to compare with.
    """
    if relevance not in RELEVANCE_PARTS:
        raise ValueError(f"relevance must be one of {list(RELEVANCE_PARTS)}, got {relevance!r}")
    a = _as_numpy(maps, "maps").astype(np.float64)
    m = _as_numpy(masks, "masks")
    if a.ndim == 2:
        a, m = a[None], (m[None] if m.ndim == 2 else m)
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"maps must be (B, H, W) or (H, W) with at least one pixel, got shape {a.shape}")
    if m.shape != a.shape:
        raise ValueError(f"masks must have the maps' shape {a.shape}, got {m.shape}")
    if m.dtype != np.bool_:
        raise ValueError(f"masks must be boolean, got dtype {m.dtype}")
    if not np.isfinite(a).all():
        raise ValueError("maps contain NaN or inf values")
    r = np.clip(a, 0.0, None) if relevance == "positive" else np.abs(a)
    total = r.sum(axis=(1, 2))
    inside = (r * m).sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


MIN_SCORE_GAP: float = 1.0  # logits; below it a relative completeness error is not meaningful


@dataclass(frozen=True)
class Completeness:
    """Completeness of attribution maps against ``f(x) - f(baseline)``, per image (all (B,) float64 arrays)."""

    attribution_sum: np.ndarray  # the sum of each map
    score_gap: np.ndarray  # f_c(x) - f_c(x') for the target class c (logits)
    absolute_error: np.ndarray  # |attribution_sum - score_gap| (logits)
    relative_error: np.ndarray  # absolute_error / |score_gap|; NaN where |score_gap| < min_gap


def completeness(model: nn.Module, images: torch.Tensor, targets: Any, maps: torch.Tensor | np.ndarray,
                 baseline: Any = "black", min_gap: float = MIN_SCORE_GAP) -> Completeness:
    """How well (B, H, W) ``maps`` of (B, C, H, W) ``images`` add up to the change of the target scores from
    ``baseline`` ("black", "zero", a float or a tensor, as in ``explain``) to the images (Sundararajan et al.'s
    completeness axiom). The relative error is left out (NaN) where the score changes by less than ``min_gap``
    logits, because a relative error of a near-zero difference says nothing.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    a = _as_numpy(maps, "maps").astype(np.float64)
    if a.shape != (images.shape[0], *images.shape[-2:]):
        raise ValueError(f"maps must be (B, H, W) = {(images.shape[0], *images.shape[-2:])}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("maps contain NaN or inf values")
    if not min_gap > 0:
        raise ValueError(f"min_gap must be positive, got {min_gap}")
    param = next(model.parameters(), None)
    x = images.detach().to(param.device if param is not None else images.device)
    rows = torch.arange(len(x), device=x.device)
    target = torch.as_tensor(targets, device=x.device).long().reshape(-1)
    if target.numel() == 1:
        target = target.expand(len(x))
    if target.shape != (len(x),):
        raise ValueError(f"targets must be one class or one per image ({len(x)}), got {target.numel()}")
    with torch.no_grad():
        gap = (model(x)[rows, target] - model(reference_images(baseline, x))[rows, target]).double().cpu().numpy()
    total = a.sum(axis=(1, 2))
    error = np.abs(total - gap)
    relative = np.where(np.abs(gap) >= min_gap, error / np.maximum(np.abs(gap), 1e-300), np.nan)
    return Completeness(total, gap, error, relative)


def map_correlation(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, rank: bool = False) -> np.ndarray:
    """Per-image correlation of two stacks of (B, H, W) maps (or two (H, W) maps): (B,) values in [-1, 1].

    Pearson on the values, or Spearman (``rank=True``: Pearson on the ranks, ties averaged), as in the sanity
    checks of Adebayo et al. 2018. A constant map has no defined correlation: NaN.
    """
    from scipy.stats import rankdata

    x, y = _as_numpy(a, "a").astype(np.float64), _as_numpy(b, "b").astype(np.float64)
    if x.ndim == 2:
        x, y = x[None], (y[None] if y.ndim == 2 else y)
    if x.ndim != 3 or x.size == 0 or x.shape != y.shape:
        raise ValueError(f"a and b must be (B, H, W) (or (H, W)) stacks of the same shape, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("maps contain NaN or inf values")
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    if rank:
        x, y = rankdata(x, axis=1), rankdata(y, axis=1)
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    norm = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (x * y).sum(axis=1) / norm, np.nan)
