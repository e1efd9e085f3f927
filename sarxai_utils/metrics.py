"""Numbers that judge explanations. So far: how much of a map's relevance falls on the ground-truth evidence
(relevance mass accuracy, Arras, Osman & Samek 2022, CLEVR-XAI), which the embedded data makes computable.
"""

from __future__ import annotations

import numpy as np
import torch

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
