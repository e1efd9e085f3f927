"""Statistics that compare two worlds of SAR data (the embedded generator and the real datasets) on equal terms.

Target chips (MSTAR-like): the ENL of the clutter (the pixels outside the target and shadow masks grown by a
margin), the target-to-clutter ratio, the depth of the radar shadow and the target's size. Urban patches
(OpenSARUrban-like): the VV / VH signature of every class over whole patches (real patches have no evidence masks,
so the embedded ones are measured the same way). Inputs are linear intensity; dB means ``10 log10``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from . import sar
from .errors import InvalidImageError

GROW_PIXELS: int = 4  # the target and shadow masks are grown by this many pixels before the clutter is taken
ENL_WINDOW: int = 9  # side of the windows of the local ENL (a Gamma(L) field gives a median about 4 % above L)
SIGNATURE_WINDOW: int = 5  # patches are averaged in 5 x 5 windows before their dB levels and VV - VH are taken
_CHUNK = 256  # patches smoothed at a time (bounds the float64 copies co_cross_ratio_db makes)
_EIGHT = np.ones((3, 3), dtype=bool)


def _intensity(images: np.ndarray, name: str, ndim: int, shape: str) -> np.ndarray:
    """``images`` as a float array of ``ndim`` dimensions holding finite, non-negative linear intensity."""
    a = np.asarray(images)
    if a.ndim != ndim or a.size == 0:
        raise InvalidImageError(f"{name} must have shape {shape} with at least one image and pixel, got {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating) or a.dtype == np.bool_:
        raise InvalidImageError(f"{name} must hold real numbers (linear intensity), got dtype {a.dtype}")
    if not np.isfinite(a).all():
        raise InvalidImageError(f"{name} holds {int((~np.isfinite(a)).sum())} NaN or infinite pixels")
    if (a < 0).any():
        raise InvalidImageError(f"{name} holds negative pixels: expected linear intensity (>= 0), not dB")
    return a


def _masks(masks: np.ndarray, name: str, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(masks)
    if m.dtype != np.bool_ or m.shape != shape:
        raise InvalidImageError(f"{name} must be boolean with shape {shape} (as the images), got {m.dtype} {m.shape}")
    return m


def _grow(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"grow must be an integer >= 0 (pixels), got {value!r}")
    return int(value)


def clutter_mask(target_masks: np.ndarray, shadow_masks: np.ndarray, grow: int = GROW_PIXELS) -> np.ndarray:
    """The clutter of chips: bool (N, H, W), True outside the target and shadow masks (N, H, W) grown by ``grow``
    pixels (8-connected), so that the target's sidelobes and the shadow's edge are not counted as clutter."""
    target = np.asarray(target_masks)
    if target.ndim != 3 or target.size == 0:
        raise InvalidImageError(f"target_masks must have shape (N, H, W) with at least one chip, got {target.shape}")
    target = _masks(target, "target_masks", target.shape)
    shadow = _masks(shadow_masks, "shadow_masks", target.shape)
    grow = _grow(grow)
    both = target | shadow
    if grow == 0:
        return ~both
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = _EIGHT  # grow within each chip, never across chips
    return ~ndimage.binary_dilation(both, structure, iterations=grow)


@dataclass(frozen=True)
class TargetStatistics:
    """Per chip (arrays of shape (N,), NaN where a region is empty): the ENL of the whole clutter and the median
    local ENL of windows inside it (looks), the target-to-clutter ratio (dB), the shadow depth (dB), the target's
    size (pixels) and its share of the chip."""

    clutter_enl: np.ndarray
    clutter_local_enl: np.ndarray
    tcr_db: np.ndarray
    shadow_depth_db: np.ndarray
    target_pixels: np.ndarray
    target_share: np.ndarray

    def medians(self) -> dict[str, float]:
        """The median of each statistic over the chips (NaN chips left out; NaN if every chip is NaN)."""
        out = {}
        for name in ("clutter_enl", "clutter_local_enl", "tcr_db", "shadow_depth_db", "target_pixels", "target_share"):
            values = np.asarray(getattr(self, name), np.float64)
            values = values[np.isfinite(values)]
            out[name] = float(np.median(values)) if values.size else math.nan
        return out


def target_statistics(images: np.ndarray, target_masks: np.ndarray, shadow_masks: np.ndarray,
                      grow: int = GROW_PIXELS, window: int = ENL_WINDOW) -> TargetStatistics:
    """Chips (N, H, W) of linear intensity with their target and shadow masks (N, H, W) -> :class:`TargetStatistics`.

    Clutter is :func:`clutter_mask` without pixels of 0 intensity (no data, such as the zero padding of small
    chips). ENL = mean^2 / variance of the whole clutter (:func:`sar.equivalent_number_of_looks`; texture and bright
    clutter lower it); local ENL = the median of :func:`sar.local_enl` over the ``window`` x
    ``window`` boxes that lie wholly in the clutter (about the number of looks where the clutter is homogeneous);
    target-to-clutter ratio = 10 log10(mean target intensity / mean clutter intensity); shadow depth = median clutter
    dB minus median shadow dB (positive when the shadow is darker)."""
    x = _intensity(images, "images", 3, "(N, H, W)")
    target = _masks(target_masks, "target_masks", x.shape)
    shadow = _masks(shadow_masks, "shadow_masks", x.shape)
    clutter = clutter_mask(target, shadow, grow) & (x > 0)
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 3 or window % 2 == 0:
        raise ValueError(f"window must be an odd integer >= 3 (pixels), got {window!r}")
    # window centres whose whole box lies in the clutter (the image border counts as outside)
    inner = ndimage.binary_erosion(clutter, np.ones((1, window, window), bool), border_value=0)
    n = x.shape[0]
    enl, local, tcr, depth = (np.full(n, math.nan) for _ in range(4))
    for i in range(n):
        background = x[i][clutter[i]].astype(np.float64)
        if background.size < 2:
            continue
        try:
            enl[i] = sar.equivalent_number_of_looks(background)
        except ValueError as err:
            raise InvalidImageError(f"images[{i}]: the clutter cannot be measured ({err})") from err
        if inner[i].any():
            local[i] = float(np.median(sar.local_enl(x[i], int(window))[inner[i]]))
        clutter_db = float(np.median(sar.to_db(background)))
        if target[i].any():
            tcr[i] = 10.0 * math.log10(float(x[i][target[i]].astype(np.float64).mean()) / background.mean())
        if shadow[i].any():
            depth[i] = clutter_db - float(np.median(sar.to_db(x[i][shadow[i]])))
    pixels = target.sum(axis=(1, 2)).astype(np.float64)
    return TargetStatistics(enl, local, tcr, depth, pixels, pixels / (x.shape[1] * x.shape[2]))


def patch_signature(images: np.ndarray, window: int = SIGNATURE_WINDOW) -> np.ndarray:
    """Dual-polarization patches (N, 2, H, W) [VV, VH] of linear intensity -> (N, 3) float64: per whole patch the
    median VV dB, the median VH dB (both of the ``window`` x ``window``-averaged intensity) and the median VV - VH dB
    (:func:`sar.co_cross_ratio_db`). Pixels where either channel is 0 (no data) are left out; NaN rows for patches
    without a valid pixel."""
    x = _intensity(images, "images", 4, "(N, 2, H, W)")
    if x.shape[1] != 2:
        raise InvalidImageError(f"images must have two channels [VV, VH], got shape {x.shape}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    out = np.full((x.shape[0], 3), math.nan)
    for start in range(0, x.shape[0], _CHUNK):
        chunk = x[start:start + _CHUNK].astype(np.float64)
        valid = (chunk > 0).all(axis=1)
        if not valid.any():
            continue
        smooth = ndimage.uniform_filter(chunk, size=(1, 1, window, window), mode="reflect")
        # co_cross_ratio_db wants positive intensity everywhere: no-data pixels are lifted, then left out by the mask
        lift = float(chunk[chunk > 0].min()) * 1e-3
        ratio = sar.co_cross_ratio_db(np.maximum(chunk, lift), valid, window=window)
        for j in range(chunk.shape[0]):
            if valid[j].any():
                out[start + j, 0] = np.median(sar.to_db(smooth[j, 0][valid[j]]))
                out[start + j, 1] = np.median(sar.to_db(smooth[j, 1][valid[j]]))
                out[start + j, 2] = ratio[j]
    return out


@dataclass(frozen=True)
class ClassSignature:
    """Per class (arrays of shape (K,), NaN for a class without patches): the number of patches and the medians
    over its patches of the patch medians of VV (dB), VH (dB) and VV - VH (dB)."""

    counts: np.ndarray
    vv_db: np.ndarray
    vh_db: np.ndarray
    ratio_db: np.ndarray


def class_signature(per_patch: np.ndarray, labels: np.ndarray, n_classes: int) -> ClassSignature:
    """Patch signatures (N, 3) from :func:`patch_signature` and labels (N,) in 0..n_classes-1 -> the
    :class:`ClassSignature` of each of the ``n_classes`` classes (NaN patches left out of the medians)."""
    values = np.asarray(per_patch, np.float64)
    labels = np.asarray(labels)
    if values.ndim != 2 or values.shape[1] != 3 or values.shape[0] == 0:
        raise ValueError(f"per_patch must have shape (N, 3) with N >= 1 (see patch_signature), got {values.shape}")
    if labels.shape != (values.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape ({values.shape[0]},), got {labels.dtype} {labels.shape}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")
    medians = np.full((n_classes, 3), math.nan)
    for k in range(n_classes):
        for c in range(3):
            v = values[labels == k, c]
            v = v[np.isfinite(v)]
            if v.size:
                medians[k, c] = np.median(v)
    counts = np.bincount(labels, minlength=n_classes)
    return ClassSignature(counts, medians[:, 0], medians[:, 1], medians[:, 2])
