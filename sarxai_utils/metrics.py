"""Numbers that judge explanations, in four families (Su et al. 2022 use the first two; the embedded data makes
the last two computable because it knows where each class's evidence is):

- robustness: :func:`max_sensitivity` (Yeh et al. 2019, as Captum's ``sensitivity_max``) and
  :func:`speckle_sensitivity`, the same formula under a fresh speckle realisation or multiplicative Gamma noise;
- complexity: :func:`xai_entropy_kb` (the file size of the explanation picture, Su et al.'s "XAI entropy") and
  :func:`map_entropy` (the Shannon entropy of the normalised map);
- ground truth: :func:`relevance_mass_accuracy`, :func:`relevance_rank_accuracy` (Arras, Osman & Samek 2022),
  :func:`pointing_game` (Zhang et al. 2018) and :func:`energy_pointing_game` (Wang et al. 2020);
- faithfulness: :func:`deletion_curve` / :func:`insertion_curve` with their AUC (Petsiuk et al. 2018; removed
  pixels filled with SAR clutter by default) and :func:`randomization_check` (Adebayo et al. 2018).

Plus :func:`channel_share` (VV vs VH attribution mass of a dual-pol model), :func:`completeness` of Integrated
Gradients, :func:`map_correlation`, :func:`rank_stability` (how stable a ranking of methods is under a
bootstrap over images) and :func:`paired_difference` (two methods' mean scores on the same images, with a paired
bootstrap interval).
"""

from __future__ import annotations

import copy
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import config, sar
from .datasets import channel_indices, model_input, preprocess
from .explain import METHODS, explain, input_batch, model_device, num_classes, reference_images, target_tensor

RELEVANCE_PARTS: tuple[str, ...] = ("positive", "absolute")


def _as_numpy(value: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _finite_stack(value: np.ndarray | torch.Tensor, name: str, ndim: int, expected: str) -> np.ndarray:
    """``value`` as a float64 array of ``ndim`` dimensions (one item without the leading batch axis is given it),
    non-empty and finite; the errors name ``name`` and say what was ``expected``."""
    a = _as_numpy(value, name).astype(np.float64)
    if a.ndim == ndim - 1:
        a = a[None]
    if a.ndim != ndim or a.size == 0:
        raise ValueError(f"{name} must be {expected}, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contain NaN or inf values")
    return a


def _maps_and_masks(maps: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor,
                    nonempty: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Checked float64 (B, H, W) maps and boolean (B, H, W) masks (a single (H, W) pair becomes B = 1)."""
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
    if nonempty:
        empty = np.flatnonzero(~m.reshape(len(m), -1).any(axis=1))
        if empty.size:
            raise ValueError(f"masks {empty.tolist()[:10]} are empty: a ground-truth metric needs evidence pixels")
    return a, m


def _relevance(a: np.ndarray, relevance: str) -> np.ndarray:
    if relevance not in RELEVANCE_PARTS:
        raise ValueError(f"relevance must be one of {list(RELEVANCE_PARTS)}, got {relevance!r}")
    return np.clip(a, 0.0, None) if relevance == "positive" else np.abs(a)


def relevance_mass_accuracy(maps: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor,
                            relevance: str = "positive") -> np.ndarray:
    """Share of each map's relevance that lies inside its evidence mask: (B,) values in [0, 1].

    ``maps`` are (B, H, W) attributions (or one (H, W) map), ``masks`` boolean (B, H, W) of the same shape.
    ``relevance`` "positive" counts only positive attribution (evidence FOR the class, as Arras et al.);
    "absolute" counts |attribution|. A map without any such relevance scores 0. A map spread uniformly
    scores the mask's area share, which is the chance level to compare with.
    """
    a, m = _maps_and_masks(maps, masks)
    r = _relevance(a, relevance)
    total = r.sum(axis=(1, 2))
    inside = (r * m).sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


def relevance_rank_accuracy(maps: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor,
                            relevance: str = "positive") -> np.ndarray:
    """Share of the K most relevant pixels that lie in the evidence mask, K = the mask's size (Arras et al. 2022):
    (B,) values in [0, 1]; chance is the mask's area share, a map equal to the mask scores 1.

    Pixels are ranked by positive relevance (``relevance="positive"``) or by |attribution|. Ties at the K-th
    value share the remaining places in proportion, i.e. the expected score under random tie-breaking, so a
    constant map scores exactly the area share.
    """
    a, m = _maps_and_masks(maps, masks, nonempty=True)
    r = _relevance(a, relevance).reshape(len(a), -1)
    m = m.reshape(len(m), -1)
    k = m.sum(axis=1)
    kth = -np.sort(-r, axis=1)[np.arange(len(r)), k - 1]  # the K-th largest value of each map
    above, tied = r > kth[:, None], r == kth[:, None]
    places = k - above.sum(axis=1)  # places left for the tied pixels
    hits = (above & m).sum(axis=1) + places * (tied & m).sum(axis=1) / tied.sum(axis=1)
    return hits / k


def pointing_game(maps: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor, tolerance: int = 0) -> np.ndarray:
    """Whether each map's most relevant pixel falls on the evidence (Zhang et al. 2018): (B,) values in [0, 1].

    The mask may be grown by ``tolerance`` pixels (Zhang et al. use 15 at 224 px). Where several pixels share the
    maximum, the score is the share of them that hit (the expected hit of a random pick); 1 and 0 otherwise.
    """
    from scipy.ndimage import binary_dilation

    a, m = _maps_and_masks(maps, masks, nonempty=True)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | np.integer) or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative integer number of pixels, got {tolerance!r}")
    if tolerance:
        structure = np.ones((2 * tolerance + 1,) * 2, bool)
        m = np.stack([binary_dilation(mask, structure) for mask in m])
    peak = a == a.max(axis=(1, 2), keepdims=True)
    return (peak & m).sum(axis=(1, 2)) / peak.sum(axis=(1, 2))


def energy_pointing_game(maps: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor) -> np.ndarray:
    """Share of the positive relevance inside the bounding box of each evidence mask (Wang et al. 2020,
    Score-CAM): (B,) values in [0, 1]. The box version of :func:`relevance_mass_accuracy`, for datasets that
    only have boxes; the evidence of thin or scattered classes fills a small part of its box."""
    a, m = _maps_and_masks(maps, masks, nonempty=True)
    return relevance_mass_accuracy(a, evidence_boxes(m), "positive")


def evidence_boxes(masks: np.ndarray | torch.Tensor) -> np.ndarray:
    """The bounding box of each non-empty evidence mask as a boolean (B, H, W) mask: what
    :func:`energy_pointing_game` scores against. Its mean over the pixels is that score's chance level (the share of
    a uniform map inside the box)."""
    m = _as_numpy(masks, "masks")
    m = m[None] if m.ndim == 2 else m
    if m.ndim != 3 or m.dtype != np.bool_:
        raise ValueError(f"masks must be boolean (B, H, W) or (H, W), got shape {m.shape} and dtype {m.dtype}")
    empty = np.flatnonzero(~m.reshape(len(m), -1).any(axis=1))
    if empty.size:
        raise ValueError(f"masks {empty.tolist()[:10]} are empty: an empty mask has no bounding box")
    boxes = np.zeros_like(m)
    for b, mask in enumerate(m):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        boxes[b, rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1] = True
    return boxes


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
    x = images.detach().to(param.device if param is not None else images.device)  # a parameterless model: as given
    rows = torch.arange(len(x), device=x.device)
    target = target_tensor(targets, len(x), num_classes(model, x[:1]), x.device)
    with torch.inference_mode():  # forward passes only
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


# --------------------------------------------------------------------------------------------------------------
# Robustness: Max-Sensitivity (Yeh et al. 2019), as Captum's sensitivity_max defines it
# --------------------------------------------------------------------------------------------------------------
Explanation = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (images, targets) -> (B, ...) maps


def uniform_perturbation(radius: float, seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """The paper's perturbation: ``x + U(-radius, radius)`` i.i.d. per pixel (Captum's ``default_perturb_func``),
    drawn from its own generator seeded with ``seed`` so that the same call gives the same numbers."""
    generator = torch.Generator().manual_seed(seed)

    def perturb(x: torch.Tensor) -> torch.Tensor:
        noise = torch.rand(x.shape, generator=generator, dtype=torch.float32) * (2 * radius) - radius
        return x + noise.to(device=x.device, dtype=x.dtype)

    return perturb


def _positive_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def perturbed_copies(x: torch.Tensor, perturb: Callable[[torch.Tensor], torch.Tensor], n_samples: int
                     ) -> torch.Tensor:
    """``perturb`` applied to ``n_samples`` adjacent copies of each (B, C, H, W) image (``x.repeat_interleave``),
    checked to return one perturbed image per copy: (B * n_samples, C, H, W)."""
    out = perturb(x.repeat_interleave(n_samples, dim=0))
    if not isinstance(out, torch.Tensor) or out.shape != (len(x) * n_samples, *x.shape[1:]):
        raise ValueError(f"perturb_func must return a tensor of shape {(len(x) * n_samples, *x.shape[1:])}, "
                         f"got {getattr(out, 'shape', type(out))}")
    return out


def _expand_options(options: dict[str, Any], batch: int, n_samples: int, with_originals: bool) -> dict[str, Any]:
    """Options for the stacked batch [images (if ``with_originals``); ``n_samples`` perturbed copies of each]:
    per-image baseline tensors are repeated to follow their images."""
    out = dict(options)
    value = options.get("baseline")
    if isinstance(value, torch.Tensor) and value.dim() == 4 and value.shape[0] == batch and batch > 1:
        copies = value.repeat_interleave(n_samples, dim=0)
        out["baseline"] = torch.cat([value, copies]) if with_originals else copies
    return out


def max_sensitivity(model: nn.Module, images: torch.Tensor, targets: Any, method: str | Explanation,
                    radius: float = 0.02, n_samples: int = 10, *,
                    perturb_func: Callable[[torch.Tensor], torch.Tensor] | None = None, seed: int = 0,
                    maps: torch.Tensor | np.ndarray | None = None, batch_size: int = 16,
                    progress: bool | None = None, **options: Any) -> torch.Tensor:
    """Max-Sensitivity of the explanations of (B, C, H, W) ``images``: (B,) float32 on the CPU (Su et al. Eq. 4).

    As Captum's ``sensitivity_max``: each image gets ``n_samples`` copies ``x' = perturb(x)`` (default: uniform
    noise in the L-infinity ball of ``radius`` in the models' input space, where 0.02 is +-0.45 dB); the score is
    ``max_x' ||Phi(x') - Phi(x)||_F / ||Phi(x)||_F`` (the plain difference norm where ``||Phi(x)|| = 0``).
    ``method`` is a name of ``explain.METHODS`` (``options`` go to ``explain``) or a function
    ``(images, targets) -> maps``. All perturbed copies are explained in one batched ``explain`` call together
    with the originals (chunks of ``batch_size``); pass the originals' explanations as ``maps`` when you already
    have them, and only the copies are explained. ``perturb_func`` (x -> x') replaces the default noise.
    """
    radius = _positive_number("radius", radius)
    n_samples = _count("n_samples", n_samples)
    device, dtype = model_device(model)
    x = input_batch(images, device, dtype)
    batch = len(x)
    target = target_tensor(targets, batch, num_classes(model, x[:1]), device)
    perturb = perturb_func if perturb_func is not None else uniform_perturbation(radius, seed)
    perturbed = perturbed_copies(x, perturb, n_samples)
    given = None
    if maps is not None:
        given = torch.as_tensor(_as_numpy(maps, "maps"), dtype=torch.float64)
        if given.shape != (batch, *x.shape[-2:]):
            raise ValueError(f"maps must be the (B, H, W) = {(batch, *x.shape[-2:])} explanations of the images, "
                             f"got {tuple(given.shape)}")
    stacked = perturbed.to(device=device, dtype=dtype)
    stacked_target = target.repeat_interleave(n_samples)
    if given is None:  # the originals go into the same batched call
        stacked, stacked_target = torch.cat([x, stacked]), torch.cat([target, stacked_target])
    if isinstance(method, str):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; known methods: {list(METHODS)}")
        out = explain(model, stacked, stacked_target, method, batch_size=batch_size, progress=progress,
                      **_expand_options(options, batch, n_samples, with_originals=given is None))
    elif callable(method):
        if options:
            raise TypeError(f"options {sorted(options)} only go with a method name, not with a function")
        with torch.enable_grad():
            out = method(stacked, stacked_target)
        if not isinstance(out, torch.Tensor) or out.shape[0] != len(stacked):
            raise ValueError(f"the explanation function must return one map per image ({len(stacked)}), got "
                             f"{getattr(out, 'shape', type(out))}")
    else:
        raise TypeError(f"method must be a name of explain.METHODS or a function, got {type(method).__name__}")
    flat = out.detach().reshape(len(stacked), -1).double().cpu()
    if given is not None:
        flat = torch.cat([given.reshape(batch, -1), flat])
    original, moved = flat[:batch], flat[batch:].reshape(batch, n_samples, -1)
    norm = original.norm(dim=1)
    norm = torch.where(norm == 0, torch.ones_like(norm), norm)
    change = (moved - original[:, None]).norm(dim=2) / norm[:, None]
    return change.max(dim=1).values.float().cpu()


# --------------------------------------------------------------------------------------------------------------
# Robustness to SAR-realistic perturbations: a fresh speckle realisation, or multiplicative Gamma noise
# --------------------------------------------------------------------------------------------------------------
SAR_NOISES: tuple[str, ...] = ("speckle", "gamma")
DEFAULT_LOOKS: float = 4.4  # Sentinel-1 IW GRD, the embedded urban data's default


def _unit_gamma(rng: np.random.Generator, shape: tuple[int, ...], looks: float) -> torch.Tensor:
    """A float32 field of i.i.d. unit-mean Gamma(L, 1/L) values (L-look speckle, :func:`.sar.speckle`)."""
    return torch.from_numpy(sar.speckle(np.ones(shape, np.float32), looks, rng))


def _model_input_tensor(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.numel() == 0 or not x.is_floating_point():
        raise ValueError(f"{name} must be a non-empty floating-point (B, C, H, W) tensor, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def gamma_perturbation(looks: float = DEFAULT_LOOKS, seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Multiplicative L-look Gamma noise for real data (no clean scene): ``x -> preprocess(I(x) * G)`` with I(x) the
    linear intensity of the (B, C, H, W) model input x and G ~ Gamma(L, 1/L) (mean 1, ENL L) i.i.d. per pixel,
    clipped to the dB window as preprocessing does; seeded (``seed``): the same call gives the same numbers."""
    looks = _positive_number("looks", looks)
    rng = np.random.default_rng([seed, 1])

    def perturb(x: torch.Tensor) -> torch.Tensor:
        x = _model_input_tensor(x, "x")
        with torch.no_grad():  # not inference_mode: the copies go on to explain(), which needs autograd tensors
            intensity = sar.from_db(sar.denormalize_db(x.detach().to("cpu", torch.float64)))
            noisy = intensity * _unit_gamma(rng, tuple(x.shape), looks).double()
            return sar.normalize_db(sar.to_db(noisy)).to(device=x.device, dtype=x.dtype)

    return perturb


def _clean_scenes(clean: Any, allow_single: bool = False) -> torch.Tensor:
    """Checked float32 (B, C, H, W) clean scenes in linear intensity (finite, non-negative), on the CPU; one
    (C, H, W) scene becomes B = 1 when ``allow_single``."""
    try:
        value = clean.detach().cpu() if isinstance(clean, torch.Tensor) else torch.as_tensor(np.asarray(clean))
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"clean must be an array of clean scenes, got {type(clean).__name__}") from None
    if allow_single and value.dim() == 3:
        value = value.unsqueeze(0)
    if value.dim() != 4 or value.numel() == 0 or value.dtype == torch.bool or value.is_complex():
        raise ValueError(f"clean must be (B, C, H, W) clean scenes in linear intensity, got shape "
                         f"{tuple(value.shape)} ({value.dtype})")
    value = value.to(torch.float32)
    if not torch.isfinite(value).all():
        raise ValueError("clean contains NaN or inf values")
    if (value < 0).any():
        raise ValueError("clean must be linear intensity (>= 0); it has negative values (is it in dB or model "
                         "input space?)")
    return value


def speckle_perturbation(clean: np.ndarray | torch.Tensor, looks: float = DEFAULT_LOOKS, n_samples: int = 10,
                         seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Fresh speckle of the same ground for the embedded data: a function that returns ``n_samples`` new
    realisations ``preprocess(clean * G)`` of each of the (B, C, H, W) ``clean`` scenes (linear intensity),
    G ~ Gamma(L, 1/L) i.i.d., as (B * n_samples, C, H, W) model input, copies of a scene adjacent (as
    ``x.repeat_interleave(n_samples, 0)``). Its argument is only checked for that shape; seeded by ``seed``."""
    scenes = _clean_scenes(clean)
    looks = _positive_number("looks", looks)
    n_samples = _count("n_samples", n_samples)
    repeated = scenes.repeat_interleave(n_samples, dim=0)
    rng = np.random.default_rng([seed, 2])

    def perturb(x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or tuple(x.shape) != tuple(repeated.shape):
            raise ValueError(f"x must be the model input of the {len(scenes)} scenes repeated n_samples = "
                             f"{n_samples} times, shape {tuple(repeated.shape)}, got "
                             f"{tuple(getattr(x, 'shape', ())) or type(x).__name__}")
        with torch.no_grad():
            field = repeated * _unit_gamma(rng, tuple(repeated.shape), looks)
            return preprocess(field).to(device=x.device, dtype=x.dtype)

    return perturb


def sar_perturbation(images_or_scenes: Any, noise: str = "speckle", n_samples: int = 10, *,
                     looks: float | None = None, clean: np.ndarray | torch.Tensor | None = None,
                     polarization: str | Sequence[str] | None = None,
                     seed: int = 0) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """The (B, C, H, W) model-input images and the perturbation (x -> x') of a SAR-realistic ``noise``:
    "speckle" (:func:`speckle_perturbation`, needs the clean scenes) or "gamma" (:func:`gamma_perturbation`).

    ``images_or_scenes`` is either model input (a (B, C, H, W) tensor; give ``clean`` (B, C, H, W) linear intensity
    for "speckle") or a generated dataset with ``.images`` and ``.clean`` (``keep_clean=True``) whose channels
    ``polarization`` picks (default: all of them) and whose ``looks`` is the default. ``looks`` defaults to 4.4.
    """
    if noise not in SAR_NOISES:
        raise ValueError(f"noise must be one of {list(SAR_NOISES)}, got {noise!r}")
    n_samples = _count("n_samples", n_samples)
    if isinstance(images_or_scenes, torch.Tensor):
        if polarization is not None:
            raise ValueError("polarization picks the channels of a dataset; images given as a tensor are already "
                             "model input with their channels chosen")
        single = images_or_scenes.dim() == 3
        x = _model_input_tensor(images_or_scenes.unsqueeze(0) if single else images_or_scenes, "images")
        scenes = None
        if clean is not None:
            scenes = _clean_scenes(clean, allow_single=single)
            if tuple(scenes.shape) != tuple(x.shape):
                raise ValueError(f"clean must hold one clean scene per image with the images' shape "
                                 f"{tuple(x.shape)}, got {tuple(scenes.shape)}")
        scene_looks = DEFAULT_LOOKS
    elif hasattr(images_or_scenes, "images") and hasattr(images_or_scenes, "polarizations"):
        if clean is not None:
            raise ValueError("clean is taken from the dataset (its .clean); do not pass it as well")
        chosen = polarization if polarization is not None else "both"
        channels = channel_indices(chosen, images_or_scenes.polarizations)
        x = model_input(images_or_scenes, chosen)
        scene_clean = getattr(images_or_scenes, "clean", None)
        scenes = _clean_scenes(np.asarray(scene_clean)[:, channels]) if scene_clean is not None else None
        if noise == "speckle" and scenes is None:
            raise ValueError("noise='speckle' needs the clean scenes: generate the dataset with keep_clean=True, "
                             "or use noise='gamma' (multiplicative noise on the speckled images)")
        scene_looks = float(getattr(images_or_scenes, "params", {}).get("looks", DEFAULT_LOOKS))
    else:
        raise ValueError(f"images_or_scenes must be a (B, C, H, W) model-input tensor or a generated dataset "
                         f"(with .images, .clean and .polarizations), got {type(images_or_scenes).__name__}")
    looks = _positive_number("looks", scene_looks if looks is None else looks)
    if noise == "gamma":
        if clean is not None:
            raise ValueError("clean is only used with noise='speckle'; 'gamma' multiplies the images themselves")
        return x, gamma_perturbation(looks, seed)
    if scenes is None:
        raise ValueError("noise='speckle' needs the clean scenes (clean=, linear intensity, the images' shape); "
                         "for real data without them use noise='gamma'")
    return x, speckle_perturbation(scenes, looks, n_samples, seed)


def speckle_sensitivity(model: nn.Module, images_or_scenes: Any, targets: Any, method: str | Explanation,
                        n_samples: int = 10, *, noise: str = "speckle", looks: float | None = None,
                        clean: np.ndarray | torch.Tensor | None = None,
                        polarization: str | Sequence[str] | None = None, seed: int = 0,
                        maps: torch.Tensor | np.ndarray | None = None, batch_size: int = 16,
                        progress: bool | None = None, **options: Any) -> torch.Tensor:
    """Max-Sensitivity (:func:`max_sensitivity`, same formula) under SAR-realistic perturbations: (B,) float32.

    ``noise="speckle"`` (embedded data): x is the speckled image the model sees and each x' is ANOTHER speckle
    realisation of the same clean scene (another look at the same ground), so the score is how much the
    explanation changes between two equally valid observations; ``noise="gamma"`` (real data): x' is x with its
    linear intensity multiplied by unit-mean L-look Gamma noise (extra speckle). Inputs as :func:`sar_perturbation`.
    """
    x, perturb = sar_perturbation(images_or_scenes, noise, n_samples, looks=looks, clean=clean,
                                  polarization=polarization, seed=seed)
    return max_sensitivity(model, x, targets, method, n_samples=n_samples, perturb_func=perturb, maps=maps,
                           batch_size=batch_size, progress=progress, **options)


def channel_share(maps: np.ndarray | torch.Tensor, relevance: str = "absolute") -> np.ndarray:
    """Share of each (B, C, H, W) per-channel map's attribution mass in each channel (e.g. VV vs VH, from
    ``explain(..., reduce="none")``): (B, C) float64 rows summing to 1; mass is |map| ("absolute") or its positive
    part ("positive"). A map without any mass has no share: its row is NaN (``np.nanmean`` skips it)."""
    a = _finite_stack(maps, "maps", 4, "(B, C, H, W) per-channel maps (or one (C, H, W))")
    mass = _relevance(a, relevance).sum(axis=(2, 3))
    total = mass.sum(axis=1, keepdims=True)
    return np.where(total > 0, mass / np.where(total > 0, total, 1.0), np.nan)


# --------------------------------------------------------------------------------------------------------------
# Complexity: XAI entropy (file size of the picture) and the Shannon entropy of the map
# --------------------------------------------------------------------------------------------------------------
PNG_COMPRESS_LEVEL: int = 9  # zlib level Pillow uses when writing the PNG of xai_entropy_kb
BYTES_PER_KB: int = 1000


def xai_entropy_kb(attribution: np.ndarray | torch.Tensor, signed: bool | None = None, scale: int = 1
                   ) -> float | np.ndarray:
    """Su et al.'s "XAI entropy": the size in KB (1000 bytes) of the explanation's picture saved as a PNG.

    The picture is exactly this: ``viz.render_map`` colours (RdBu_r centred at zero from -L to L for signed maps,
    inferno from 0 to L otherwise; L = 99.5th percentile of |map|; ``signed`` defaults to whether the map has
    negative values), 8-bit RGB, one pixel per map pixel (``scale`` > 1 repeats each pixel scale x scale times),
    written by Pillow as PNG with zlib level 9, no metadata. A lossless compressor stores a smooth or sparse
    picture in few bytes and a noisy one in many, so the size measures how much a viewer must take in.
    A (B, H, W) stack gives a (B,) array; one (H, W) map a float.
    """
    from PIL import Image

    from .viz import render_map

    a = _as_numpy(attribution, "attribution")
    single = a.ndim == 2
    if single:
        a = a[None]
    if a.ndim != 3 or a.size == 0:
        raise ValueError(f"attribution must be (H, W) or (B, H, W) with at least one pixel, got shape {a.shape}")
    scale = _count("scale", scale)
    sizes = np.empty(len(a))
    for b, one in enumerate(a):
        rgb = render_map(one, signed)
        if scale > 1:
            rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
        buffer = io.BytesIO()
        Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        sizes[b] = buffer.tell() / BYTES_PER_KB
    return float(sizes[0]) if single else sizes


def map_entropy(attribution: np.ndarray | torch.Tensor, relevance: str = "absolute") -> np.ndarray:
    """Shannon entropy in bits of each map read as a distribution, p = r / sum(r) with r = |map| (or its
    positive part): (B,) values in [0, log2(H W)]; a single hot pixel gives 0, a uniform map log2(H W) (also
    the value given to a map without relevance)."""
    a = _finite_stack(attribution, "attribution", 3, "(H, W) or (B, H, W) with at least one pixel")
    r = _relevance(a, relevance).reshape(len(a), -1)
    total = r.sum(axis=1, keepdims=True)
    p = np.where(total > 0, r / np.where(total > 0, total, 1.0), 1.0 / r.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=1)


# --------------------------------------------------------------------------------------------------------------
# Faithfulness: deletion / insertion curves (Petsiuk et al. 2018) with SAR clutter as the fill
# --------------------------------------------------------------------------------------------------------------
FILLS: tuple[str, ...] = ("clutter", "blur", "black", "mean")


def clutter_like(images: torch.Tensor, looks: float = 4.4, seed: int = 0) -> torch.Tensor:
    """Featureless SAR clutter for each (B, C, H, W) model-input image: per image and channel, a homogeneous field
    at the image's median linear intensity with fresh ``looks``-look Gamma speckle, returned in the models'
    input space (dB window mapped to [-1, 1]). What a removed pixel "becomes" without creating a radar shadow."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.numel() == 0:
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    looks = _positive_number("looks", looks)
    intensity = sar.from_db(sar.denormalize_db(images.detach().double().cpu()))
    level = intensity.flatten(2).median(dim=2).values.numpy()  # (B, C) median intensity
    rng = np.random.default_rng(seed)
    field = sar.speckle(np.broadcast_to(level[..., None, None], tuple(images.shape)).astype(np.float32), looks, rng)
    return sar.normalize_db(sar.to_db(torch.from_numpy(field))).to(device=images.device, dtype=images.dtype)


def fill_images(images: torch.Tensor, fill: str | float | torch.Tensor = "clutter", looks: float = 4.4,
                seed: int = 0) -> torch.Tensor:
    """What removed pixels are replaced with, as (B, C, H, W) images: "clutter" (:func:`clutter_like`), "blur"
    (a Gaussian blur with sigma = 5 % of the side, as Petsiuk et al.'s insertion start), "black" (zero intensity:
    a radar shadow), "mean" (each image's mean per channel), a float or a tensor (as ``explain``'s baselines)."""
    if isinstance(fill, str):
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {list(FILLS)}, a float or a tensor, got {fill!r}")
        if fill == "clutter":
            return clutter_like(images, looks, seed)
        if fill == "blur":
            from torchvision.transforms.functional import gaussian_blur

            sigma = max(0.05 * images.shape[-1], 0.5)
            return gaussian_blur(images, 2 * int(round(3 * sigma)) + 1, sigma)
        if fill == "mean":
            return images.mean(dim=(2, 3), keepdim=True).expand_as(images).clone()
        return reference_images("black", images)
    return reference_images(fill, images)


@dataclass(frozen=True)
class PerturbationCurve:
    """A deletion or insertion curve per image: the target's softmax probability after each step."""

    fractions: np.ndarray  # (S + 1,) share of pixels removed (deletion) or inserted (insertion), 0 ... 1
    scores: np.ndarray  # (B, S + 1) probability of the target class
    auc: np.ndarray  # (B,) area under each curve (trapezoids over the fractions)
    mode: str  # "deletion" or "insertion"
    order: str  # "morf" (most relevant first) or "lerf" (least relevant first)


def _perturbation_curve(model: nn.Module, images: torch.Tensor, targets: Any, maps: np.ndarray | torch.Tensor,
                        mode: str, order: str, steps: int, fill: Any, looks: float, seed: int, batch_size: int,
                        progress: bool | None) -> PerturbationCurve:
    if order not in ("morf", "lerf"):
        raise ValueError(f"order must be 'morf' (most relevant first) or 'lerf' (least relevant first), got {order!r}")
    steps, batch_size = _count("steps", steps), _count("batch_size", batch_size)
    device, dtype = model_device(model)
    x = input_batch(images, device, dtype)
    batch, height, width = len(x), x.shape[-2], x.shape[-1]
    a = _as_numpy(maps, "maps").astype(np.float64)
    if a.shape != (batch, height, width):
        raise ValueError(f"maps must be (B, H, W) = {(batch, height, width)}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("maps contain NaN or inf values")
    target = target_tensor(targets, batch, num_classes(model, x[:1]), device)
    filled = fill_images(x, fill, looks, seed).to(device=device, dtype=dtype)
    # rank of every pixel in the removal order; ties broken at random (seeded), e.g. inside a binary mask
    rng = np.random.default_rng(seed)
    keys = (-a if order == "morf" else a).reshape(batch, -1)
    ranks = np.empty(keys.shape, np.int64)
    for b in range(batch):
        ranks[b, np.lexsort((rng.random(keys.shape[1]), keys[b]))] = np.arange(keys.shape[1])
    ranks_t = torch.from_numpy(ranks.reshape(batch, 1, height, width)).to(device)
    counts = np.round(np.linspace(0, height * width, steps + 1)).astype(np.int64)
    scores = np.empty((batch, steps + 1))
    jobs = [(k, b0) for k in range(steps + 1) for b0 in range(0, batch, batch_size)]
    chunk_steps = max(1, batch_size // max(1, min(batch, batch_size)))  # steps per forward pass
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            groups = [jobs[i: i + chunk_steps] for i in range(0, len(jobs), chunk_steps)]
            for group in tqdm(groups, desc=f"{mode} curves", disable=not config.show_progress(
                                  len(groups) > 4 if progress is None else progress), leave=False,
                              delay=config.PROGRESS_DELAY_S):
                parts = []
                for k, b0 in group:
                    sl = slice(b0, min(b0 + batch_size, batch))
                    changed = ranks_t[sl] < int(counts[k])
                    if mode == "deletion":
                        parts.append(torch.where(changed, filled[sl], x[sl]))
                    else:
                        parts.append(torch.where(changed, x[sl], filled[sl]))
                probs = torch.softmax(model(torch.cat(parts)).float(), dim=1)
                offset = 0
                for k, b0 in group:
                    sl = slice(b0, min(b0 + batch_size, batch))
                    n = sl.stop - sl.start
                    scores[sl, k] = probs[offset: offset + n].gather(1, target[sl, None])[:, 0].cpu().numpy()
                    offset += n
    finally:
        model.train(was_training)
    fractions = counts / (height * width)
    return PerturbationCurve(fractions, scores, np.trapezoid(scores, fractions, axis=1), mode, order)


def deletion_curve(model: nn.Module, images: torch.Tensor, targets: Any, maps: np.ndarray | torch.Tensor,
                   order: str = "morf", steps: int = 20, fill: str | float | torch.Tensor = "clutter",
                   looks: float = 4.4, seed: int = 0, batch_size: int = 64,
                   progress: bool | None = None) -> PerturbationCurve:
    """Remove pixels in the order of the (B, H, W) ``maps`` (most relevant first, "morf", or least, "lerf"), in
    ``steps`` equal steps, replacing them in every channel by ``fill`` (see :func:`fill_images`), and record the
    target's softmax probability. A faithful map makes the MoRF curve fall fast (low AUC) and the LeRF curve
    stay high (high AUC). Ties are broken at random (``seed``)."""
    return _perturbation_curve(model, images, targets, maps, "deletion", order, steps, fill, looks, seed,
                               batch_size, progress)


def insertion_curve(model: nn.Module, images: torch.Tensor, targets: Any, maps: np.ndarray | torch.Tensor,
                    order: str = "morf", steps: int = 20, fill: str | float | torch.Tensor = "clutter",
                    looks: float = 4.4, seed: int = 0, batch_size: int = 64,
                    progress: bool | None = None) -> PerturbationCurve:
    """Start from the ``fill`` image and put the image's pixels back in the order of the maps; a faithful map
    makes the MoRF curve rise fast (high AUC). Arguments as :func:`deletion_curve`."""
    return _perturbation_curve(model, images, targets, maps, "insertion", order, steps, fill, looks, seed,
                               batch_size, progress)


# --------------------------------------------------------------------------------------------------------------
# Sanity check: cascading model-parameter randomisation (Adebayo et al. 2018)
# --------------------------------------------------------------------------------------------------------------
RESNET_CASCADE: tuple[str, ...] = ("fc", "layer4", "layer3", "layer2", "layer1", "conv1")


@dataclass(frozen=True)
class Randomization:
    """Maps of a model whose layers were re-initialised one after another from the top, and their Spearman rank
    correlation with the trained model's maps."""

    layers: tuple[str, ...]  # the cascade: after step i, layers[: i + 1] are random
    original: np.ndarray  # (B, H, W) maps of the trained model
    maps: np.ndarray  # (L, B, H, W) maps after each step
    spearman: np.ndarray  # (L, B) Spearman correlation with the original maps (of |map| when absolute)


def randomize_layers(model: nn.Module, layers: Sequence[str], seed: int = 0) -> nn.Module:
    """A copy of ``model`` in which every convolution and linear layer inside the named submodules is re-drawn
    from its default initialisation (seeded; the global random state is left alone). BatchNorm layers keep
    their statistics and affine parameters, so the activations keep their scale."""
    randomized = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in layers:
            try:
                module = randomized.get_submodule(name)
            except AttributeError:
                raise ValueError(f"layers: the model has no submodule {name!r}") from None
            for sub in module.modules():
                if isinstance(sub, nn.Conv2d | nn.Linear):
                    sub.reset_parameters()
    return randomized


def randomization_check(model: nn.Module, images: torch.Tensor, targets: Any, method: str,
                        layers: Sequence[str] = RESNET_CASCADE, absolute: bool = True, seed: int = 0,
                        progress: bool | None = None, **options: Any) -> Randomization:
    """Cascading randomisation (Adebayo et al. 2018): re-initialise ``layers`` one after another from the top
    (fc first), explain the same images with each partly random model, and compare with the trained model's maps
    by Spearman rank correlation (of |map| when ``absolute``, as Adebayo et al.'s main figures). A map that
    explains the model should decorrelate quickly; one that stays near 1 shows the image, not the model."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {list(METHODS)}")
    if not layers:
        raise ValueError("layers must name at least one submodule")
    original = explain(model, images, targets, method, **options).cpu().numpy()
    stages = []
    for i in tqdm(range(len(layers)), desc=f"randomising ({METHODS[method].title})", leave=False,
                  delay=config.PROGRESS_DELAY_S,
                  disable=not config.show_progress(len(layers) > 1 if progress is None else progress)):
        randomized = randomize_layers(model, layers[: i + 1], seed)
        stages.append(explain(randomized, images, targets, method, **options).cpu().numpy())
    maps = np.stack(stages)
    compare = np.abs if absolute else (lambda v: v)
    with np.errstate(invalid="ignore"):
        spearman = np.stack([map_correlation(compare(original), compare(m), rank=True) for m in maps])
    return Randomization(tuple(layers), original, maps, spearman)


# --------------------------------------------------------------------------------------------------------------
# Is one method's mean score above another's? How stable is a ranking of methods? (bootstrap over images)
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairedDifference:
    """Mean score of A minus mean score of B on the same images, with a percentile bootstrap interval."""

    difference: float
    low: float
    high: float
    n_boot: int

    @property
    def verdict(self) -> str:
        """"A" / "B" when the interval excludes 0 on that side, "tie" otherwise."""
        return "A" if self.low > 0 else "B" if self.high < 0 else "tie"


def paired_difference(scores_a: Any, scores_b: Any, n_boot: int = 1000, seed: int = 0,
                      level: float = 0.95) -> PairedDifference:
    """Difference of two methods' mean per-image scores (the same images, in the same order) with a paired
    bootstrap interval: the images are resampled with replacement and the difference recomputed on each resample.
    Booleans (localised or not) give a difference of success rates."""
    a, b = np.asarray(scores_a), np.asarray(scores_b)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"scores_a and scores_b must be non-empty 1-D arrays of one length, got {a.shape} and "
                         f"{b.shape}")
    a, b = a.astype(np.float64), b.astype(np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores_a and scores_b must be finite (a NaN score has no place in a mean)")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    draws = np.random.default_rng(seed).integers(0, a.size, size=(int(n_boot), a.size))
    boot = a[draws].mean(axis=1) - b[draws].mean(axis=1)
    low, high = np.percentile(boot, [50 * (1 - level), 50 * (1 + level)])
    return PairedDifference(float(a.mean() - b.mean()), float(low), float(high), int(n_boot))


@dataclass(frozen=True)
class RankStability:
    """Bootstrap of a ranking of M methods scored on the same N images (rank 1 = lowest mean score)."""

    names: tuple[str, ...]
    mean: np.ndarray  # (M,) mean score over the images
    low: np.ndarray  # (M,) 2.5th percentile of the bootstrap means
    high: np.ndarray  # (M,) 97.5th percentile
    rank: np.ndarray  # (M,) rank of the mean (1 = lowest)
    rank_probability: np.ndarray  # (M, M) share of resamples in which method i takes rank j + 1
    spearman: np.ndarray  # (n_boot,) Spearman correlation of each resampled ranking with the full-sample ranking
    means: np.ndarray  # (n_boot, M) the resampled mean scores (to compare each resample with another ranking)


def rank_stability(scores: dict[str, np.ndarray], n_boot: int = 1000, seed: int = 0) -> RankStability:
    """Resample the N images with replacement ``n_boot`` times and re-rank the methods by their mean score;
    ``scores[name]`` is each method's (N,) per-image score (the same images in the same order for every method)."""
    from scipy.stats import rankdata

    if len(scores) < 2:
        raise ValueError(f"scores must hold at least two methods, got {len(scores)}")
    names = tuple(scores)
    values = np.stack([np.asarray(scores[n], np.float64).reshape(-1) for n in names]) \
        if len({np.size(v) for v in scores.values()}) == 1 else None
    if values is None or values.shape[1] == 0:
        raise ValueError("scores must give every method the same positive number of per-image values")
    if not np.isfinite(values).all():
        raise ValueError("scores contain NaN or inf values")
    n_boot = _count("n_boot", n_boot)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, values.shape[1], size=(n_boot, values.shape[1]))
    means = values[:, picks].mean(axis=2).T  # (n_boot, M)
    full = values.mean(axis=1)
    full_rank = rankdata(full)
    boot_ranks = rankdata(means, axis=1)
    places = rankdata(means, axis=1, method="ordinal")  # ties (rare with means) broken by order
    probability = np.stack([(places == r).mean(axis=0) for r in range(1, len(names) + 1)], axis=1)
    spearman = map_correlation(np.broadcast_to(full_rank, boot_ranks.shape)[:, None], boot_ranks[:, None])
    return RankStability(names, full, np.percentile(means, 2.5, axis=0), np.percentile(means, 97.5, axis=0),
                         full_rank, probability, spearman, means)
