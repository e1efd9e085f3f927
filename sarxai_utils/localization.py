"""Weakly-supervised object localization (WSOL) from class activation maps, as Choe et al. (CVPR 2020) evaluate it.

A CAM (computed for the ground-truth class, resized to the image) is min-max normalised to [0, 1]; the pixels
``>= threshold * max`` form a mask whose connected components (8-connectivity: diagonal neighbours touch) give
the estimated box: the bounding box of the largest component (most pixels; ties go to the component met first in
row-major order) or, with ``multi_contour=True``, one box per component, of which the best match counts (Choe et
al.'s MaxBoxAccV2: "the best match between the set of all estimated boxes and the ground-truth box").

Boxes are int64 ``(x0, y0, x1, y1)`` with INCLUSIVE pixel bounds, x the column and y the row, as the embedded
targets' boxes (:mod:`.synthetic`): a single pixel is (x, y, x, y) and has area 1. A map with nothing to threshold
(a constant map, including all zeros, which min-max normalises to zeros) gives the empty box
:data:`EMPTY_BOX` = (-1, -1, -1, -1), whose IoU with any box (even another empty box) is 0. For a non-constant
map every threshold in [0, 1] keeps at least the maximum pixel, so its box is never empty (threshold 0 keeps the
whole image).

MaxBoxAcc (IoU 0.5) is the best, over the thresholds, of the share of images whose box has IoU >= 0.5 with the
ground truth; MaxBoxAccV2 averages that best share over IoU levels {0.3, 0.5, 0.7} with multi-contour boxes.
GT-known Loc is that share at one threshold; Top-1 Loc also needs the correct class prediction.

The metrics are Choe et al.'s; the box rule follows their paper's definition, not every detail of their reference
code (clovaai/wsolevaluation), which quantises the map to uint8 and keeps pixels strictly above
``int(threshold * 255)``, picks the contour of the largest polygon area (``cv2.contourArea``, hole contours
included; a one-pixel-wide component has area 0) and ends the box one pixel past the component. Here the float map is
kept at ``>= threshold`` (no quantisation, and threshold 0 keeps the whole image), the largest component is the one
with the most pixels (what "largest connected component" says, with no OpenCV), and boxes are inclusive like the
ground truth's. ``benchmarks/wsol_conventions.py`` measures the difference on the course's CAMs.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from .metrics import PairedDifference, paired_difference

EMPTY_BOX: np.ndarray = np.array([-1, -1, -1, -1], dtype=np.int64)
EMPTY_BOX.setflags(write=False)
FLAT_ULPS: int = 64  # a map whose spread is below 64 float steps of its magnitude counts as constant (as in .cam)
V2_IOUS: tuple[float, ...] = (0.3, 0.5, 0.7)  # Choe et al.'s IoU levels of MaxBoxAccV2
CHOE_THRESHOLDS: np.ndarray = np.round(np.arange(0.0, 1.0, 0.01), 2)  # their CAM thresholds 0, 0.01, ..., 0.99
CHOE_THRESHOLDS.setflags(write=False)
_EIGHT = np.ones((3, 3), dtype=bool)
_EIGHT_PER_SLICE = np.zeros((3, 3, 3), dtype=bool)  # 8-connectivity within a threshold, none across thresholds
_EIGHT_PER_SLICE[1] = True


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------
def _array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array, got {type(value).__name__}") from error


def _maps(value: Any, name: str, ndim: int) -> np.ndarray:
    a = _array(value, name)
    shape = "(H, W)" if ndim == 2 else "(N, H, W)"
    if a.ndim != ndim or a.size == 0:
        raise ValueError(f"{name} must have shape {shape} with at least one pixel, got shape {a.shape}")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return a


def _threshold(value: Any, name: str = "threshold") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return value


def _thresholds(value: Any) -> np.ndarray:
    t = _array(value, "thresholds")
    if t.ndim == 0:
        t = t[None]
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"thresholds must be a non-empty 1-D sequence, got shape {t.shape}")
    if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.number):
        raise ValueError(f"thresholds must be numbers in [0, 1], got dtype {t.dtype}")
    t = t.astype(np.float64)
    bad = t[~((t >= 0.0) & (t <= 1.0))]
    if bad.size:
        raise ValueError(f"thresholds must lie in [0, 1], got {bad[:5].tolist()}")
    return t


def _iou_level(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"iou must be a number in (0, 1], got {value!r}")
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"iou must lie in (0, 1], got {value!r}")
    return value


def _boxes(value: Any, name: str, allow_empty: bool = True) -> np.ndarray:
    """Checked int64 boxes (..., 4); rows equal to EMPTY_BOX are allowed (if ``allow_empty``)."""
    b = _array(value, name)
    if b.ndim not in (1, 2) or b.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (4,) or (N, 4) as (x0, y0, x1, y1), got shape {b.shape}")
    if b.dtype == np.bool_ or not np.issubdtype(b.dtype, np.number):
        raise ValueError(f"{name} must hold integer pixel coordinates, got dtype {b.dtype}")
    if not np.isfinite(b).all() or not np.array_equal(b, np.round(b)):
        raise ValueError(f"{name} must hold integer pixel coordinates (inclusive bounds), got {b.tolist()[:3]}")
    b = b.astype(np.int64)
    empty = (b == -1).all(axis=-1)
    if empty.any() and not allow_empty:
        raise ValueError(f"{name} contains the empty box (-1, -1, -1, -1), which a ground truth cannot be")
    flat_b, flat_empty = b.reshape(-1, 4), empty.reshape(-1)
    bad = ~flat_empty & ((flat_b[:, 0] > flat_b[:, 2]) | (flat_b[:, 1] > flat_b[:, 3]) | (flat_b < 0).any(axis=1))
    if bad.any():
        raise ValueError(f"{name} must be (x0, y0, x1, y1) with 0 <= x0 <= x1 and 0 <= y0 <= y1 (or the empty box "
                         f"(-1, -1, -1, -1)), got {flat_b[bad][:3].tolist()}")
    return b


def _check_inside(boxes: np.ndarray, height: int, width: int, name: str) -> None:
    outside = (boxes[:, 2] >= width) | (boxes[:, 3] >= height)
    if outside.any():
        raise ValueError(f"{name} {np.flatnonzero(outside)[:5].tolist()} reach outside the {height} x {width} maps")


def _cams_and_boxes(cams: Any, boxes: Any) -> tuple[np.ndarray, np.ndarray]:
    c = _maps(cams, "cams", 3)
    b = _boxes(boxes, "boxes", allow_empty=False)
    if b.ndim != 2 or len(b) != len(c):
        raise ValueError(f"boxes must have shape (N, 4) with one box per map: cams has {len(c)} maps, boxes has "
                         f"shape {b.shape}")
    _check_inside(b, c.shape[1], c.shape[2], "boxes")
    return c, b


# --------------------------------------------------------------------------------------------------------------
# Maps to boxes
# --------------------------------------------------------------------------------------------------------------
def _normalized_stack(cams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) maps min-max scaled per map to [0, 1], and a (N,) flag for the maps that are constant (up to float
    rounding: FLAT_ULPS), whose scaled values are meaningless."""
    low = cams.min(axis=(1, 2), keepdims=True)
    high = cams.max(axis=(1, 2), keepdims=True)
    span = high - low
    flat = span <= FLAT_ULPS * np.finfo(np.float64).eps * np.maximum(np.abs(low), np.abs(high))
    return (cams - low) / np.where(flat, 1.0, span), flat[:, 0, 0]


def _normalized(cam: np.ndarray) -> np.ndarray | None:
    """The (H, W) map min-max scaled to [0, 1], or None for a constant map (up to float rounding)."""
    norm, flat = _normalized_stack(cam[None])
    return None if flat[0] else norm[0]


@dataclass(frozen=True)
class _Components:
    """The connected components of one map at several thresholds."""

    level: np.ndarray  # (K,) index of the threshold each component belongs to
    size: np.ndarray  # (K,) pixels
    boxes: np.ndarray  # (K, 4) inclusive boxes


def _components(cam: np.ndarray, thresholds: np.ndarray) -> _Components:
    """Components of ``normalised cam >= t`` for every t of ``thresholds`` (one 3-D labelling, 8-connected in-plane)."""
    norm = _normalized(cam)
    if norm is None:
        empty = np.zeros(0, dtype=np.int64)
        return _Components(empty, empty, np.zeros((0, 4), dtype=np.int64))
    masks = norm[None] >= thresholds[:, None, None]
    labels, count = ndimage.label(masks, structure=_EIGHT_PER_SLICE)
    slices = ndimage.find_objects(labels)
    size = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    level = np.array([s[0].start for s in slices], dtype=np.int64)
    boxes = np.array([[s[2].start, s[1].start, s[2].stop - 1, s[1].stop - 1] for s in slices],
                     dtype=np.int64).reshape(-1, 4)
    return _Components(level, size.astype(np.int64), boxes)


def _largest(parts: _Components, n_levels: int) -> np.ndarray:
    """(T, 4): the box of the largest component at each threshold (EMPTY_BOX where there is none)."""
    out = np.tile(EMPTY_BOX, (n_levels, 1))
    if len(parts.size):
        # components come in label order (row-major within each threshold); stable sort keeps it among ties
        order = np.lexsort((-parts.size, parts.level))
        first = np.unique(parts.level[order], return_index=True)[1]
        chosen = order[first]
        out[parts.level[chosen]] = parts.boxes[chosen]
    return out


def cam_to_box(cam: Any, threshold: float, multi_contour: bool = False) -> np.ndarray:
    """The estimated box of one (H, W) map at ``threshold`` in [0, 1]: int64 (4,) inclusive (x0, y0, x1, y1).

    The map is min-max normalised and the pixels >= threshold x max kept; the box bounds the largest 8-connected
    component, or with ``multi_contour`` a (K, 4) array has one box per component, largest first. A constant map
    gives EMPTY_BOX (a (1, 4) array of it with ``multi_contour``).
    """
    c = _maps(cam, "cam", 2)
    t = np.array([_threshold(threshold)])
    if not isinstance(multi_contour, bool):
        raise ValueError(f"multi_contour must be True or False, got {multi_contour!r}")
    parts = _components(c, t)
    if not multi_contour:
        return _largest(parts, 1)[0]
    if not len(parts.size):
        return EMPTY_BOX[None].copy()
    order = np.argsort(-parts.size, kind="stable")
    return parts.boxes[order]


def box_area(boxes: Any) -> int | np.ndarray:
    """Pixels covered by boxes with inclusive bounds: (4,) gives an int, (N, 4) gives (N,) ints; an empty box
    (-1, -1, -1, -1) covers 0 pixels."""
    b = _boxes(boxes, "boxes")
    b2 = np.atleast_2d(b)
    area = (b2[:, 2] - b2[:, 0] + 1) * (b2[:, 3] - b2[:, 1] + 1)
    area = np.where((b2 == -1).all(axis=1), 0, area).astype(np.int64)
    return int(area[0]) if b.ndim == 1 else area


def box_iou(a: Any, b: Any) -> float | np.ndarray:
    """Intersection over union of boxes with inclusive pixel bounds: (4,) and (4,) give a float, (N, 4) with (4,)
    or (N, 4) give (N,) floats in [0, 1]. An empty box (-1, -1, -1, -1) has IoU 0 with every box."""
    x = _boxes(a, "a")
    y = _boxes(b, "b")
    if x.ndim == 2 and y.ndim == 2 and len(x) != len(y):
        raise ValueError(f"a and b must have the same number of boxes (or one of them a single box), got "
                         f"{len(x)} and {len(y)}")
    scalar = x.ndim == 1 and y.ndim == 1
    x, y = np.atleast_2d(x), np.atleast_2d(y)
    width = np.minimum(x[:, 2], y[:, 2]) - np.maximum(x[:, 0], y[:, 0]) + 1
    height = np.minimum(x[:, 3], y[:, 3]) - np.maximum(x[:, 1], y[:, 1]) + 1
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    empty = (x == -1).all(axis=1) | (y == -1).all(axis=1)
    inter = np.where(empty, 0, inter)
    union = box_area(x) + box_area(y) - inter
    iou = np.divide(inter, union, out=np.zeros(len(inter), np.float64), where=union > 0)
    return float(iou[0]) if scalar else iou


PARALLEL_MIN_MAPS: int = 64  # below this many maps one process is faster than starting worker processes
_SHARED: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (cams, boxes, thresholds) for forked workers


def _table_rows(cams: np.ndarray, boxes: np.ndarray, thresholds: np.ndarray, rows: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The single- and multi-contour IoU tables of the maps ``rows``: two (len(rows), T) arrays."""
    single = np.zeros((len(rows), len(thresholds)), dtype=np.float64)
    multi = np.zeros_like(single)
    for k, i in enumerate(rows):  # connected components need a loop over images; thresholds are labelled at once
        parts = _components(cams[i], thresholds)
        if not len(parts.size):
            continue
        single[k] = box_iou(_largest(parts, len(thresholds)), boxes[i])
        np.maximum.at(multi[k], parts.level, box_iou(parts.boxes, boxes[i]))
    return single, multi


def _shared_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_table_rows` in a forked worker, on the arrays the parent left in ``_SHARED`` (nothing is pickled)."""
    assert _SHARED is not None, "worker started without shared arrays"
    return _table_rows(*_SHARED, rows)


def default_workers(n_maps: int) -> int:
    """Worker processes for labelling ``n_maps`` maps: every core this process may use on Linux (where workers are
    forked cheaply, as torch's DataLoader does) for at least PARALLEL_MIN_MAPS maps, else 1."""
    if n_maps < PARALLEL_MIN_MAPS or not sys.platform.startswith("linux"):
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def box_iou_tables(cams: Any, boxes: Any, thresholds: Any, workers: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Both IoU tables of :func:`box_ious` from one connected-component labelling per map: (N, T) IoU of the largest
    component's box and (N, T) best IoU over every component's box (multi-contour), in [0, 1]. The maps are split
    over ``workers`` processes (default :func:`default_workers`); the tables do not depend on it."""
    global _SHARED
    c, b = _cams_and_boxes(cams, boxes)
    t = _thresholds(thresholds)
    workers = default_workers(len(c)) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")
    if workers == 1:
        return _table_rows(c, b, t, np.arange(len(c)))
    chunks = [rows for rows in np.array_split(np.arange(len(c)), 4 * workers) if len(rows)]
    _SHARED = (c, b, t)
    try:
        with ProcessPoolExecutor(int(workers), mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(pool.map(_shared_rows, chunks))
    finally:
        _SHARED = None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def box_ious(cams: Any, boxes: Any, thresholds: Any, multi_contour: bool = False) -> np.ndarray:
    """IoU of each map's estimated box with its ground-truth box at every threshold: (N, T) floats in [0, 1].

    ``cams`` (N, H, W), ``boxes`` (N, 4) inclusive ground truth, ``thresholds`` (T,) in [0, 1]; with
    ``multi_contour`` the best IoU over the components' boxes. The basis of every score below.
    """
    if not isinstance(multi_contour, bool):
        raise ValueError(f"multi_contour must be True or False, got {multi_contour!r}")
    return box_iou_tables(cams, boxes, thresholds)[int(multi_contour)]


# --------------------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoxAccuracy:
    """MaxBoxAcc at one IoU level: the best accuracy, its threshold, and the accuracy at every threshold."""

    accuracy: float  # best share of images with IoU >= iou, in [0, 1]
    threshold: float  # the (smallest) threshold that reaches it
    iou: float  # the IoU level
    thresholds: np.ndarray  # (T,) the thresholds tried
    curve: np.ndarray  # (T,) accuracy at each threshold
    multi_contour: bool


@dataclass(frozen=True)
class BoxAccuracyV2:
    """MaxBoxAccV2: the mean over IoU levels of the best accuracy, with each level's BoxAccuracy."""

    accuracy: float  # mean of the per-level best accuracies, in [0, 1]
    levels: tuple[BoxAccuracy, ...]  # one per IoU level (0.3, 0.5, 0.7), multi-contour boxes


def _best(curve: np.ndarray, thresholds: np.ndarray, iou: float, multi_contour: bool) -> BoxAccuracy:
    best = int(np.argmax(curve))  # first maximum: thresholds in the given order
    return BoxAccuracy(float(curve[best]), float(thresholds[best]), iou, thresholds.copy(), curve, multi_contour)


def threshold_curve(cams: Any, boxes: Any, thresholds: Any, iou: float = 0.5,
                    multi_contour: bool = False) -> np.ndarray:
    """Localization accuracy at every threshold: (T,) shares in [0, 1] of the (N, H, W) ``cams`` whose box has
    IoU >= ``iou`` with its (N, 4) ground-truth box."""
    level = _iou_level(iou)
    return (box_ious(cams, boxes, thresholds, multi_contour) >= level).mean(axis=0)


def max_box_acc(cams: Any, boxes: Any, thresholds: Any = CHOE_THRESHOLDS, iou: float = 0.5,
                multi_contour: bool = False) -> BoxAccuracy:
    """MaxBoxAcc (Choe et al. 2020) of (N, H, W) ``cams`` against (N, 4) inclusive boxes: the best accuracy over
    ``thresholds`` (default 0, 0.01, ..., 0.99) at IoU >= ``iou``, its threshold and the accuracy curve."""
    level = _iou_level(iou)
    t = _thresholds(thresholds)
    curve = (box_ious(cams, boxes, t, multi_contour) >= level).mean(axis=0)
    return _best(curve, t, level, multi_contour)


def max_box_acc_v2(cams: Any, boxes: Any, thresholds: Any = CHOE_THRESHOLDS,
                   ious: tuple[float, ...] = V2_IOUS) -> BoxAccuracyV2:
    """MaxBoxAccV2 (Choe et al. 2020) of (N, H, W) ``cams`` against (N, 4) boxes: the mean over IoU levels
    {0.3, 0.5, 0.7} of the best accuracy over ``thresholds``, with multi-contour boxes (best-matching component)."""
    levels = tuple(_iou_level(v) for v in ious)
    if not levels:
        raise ValueError("ious must name at least one IoU level")
    t = _thresholds(thresholds)
    table = box_ious(cams, boxes, t, multi_contour=True)
    per_level = tuple(_best((table >= v).mean(axis=0), t, v, True) for v in levels)
    return BoxAccuracyV2(float(np.mean([p.accuracy for p in per_level])), per_level)


def gt_known_loc(cams: Any, boxes: Any, threshold: float, iou: float = 0.5, multi_contour: bool = False) -> float:
    """GT-known localization accuracy at one ``threshold``: the share in [0, 1] of the (N, H, W) ``cams`` (for the
    ground-truth class) whose box has IoU >= ``iou`` with its (N, 4) ground-truth box."""
    level = _iou_level(iou)
    return float((box_ious(cams, boxes, [_threshold(threshold)], multi_contour)[:, 0] >= level).mean())


def top1_loc(cams: Any, boxes: Any, predictions: Any, labels: Any, threshold: float, iou: float = 0.5,
             multi_contour: bool = False) -> float:
    """Top-1 localization accuracy: the share in [0, 1] of images whose (N,) ``predictions`` equal their (N,)
    ``labels`` AND whose box (from the ground-truth class's map) has IoU >= ``iou`` at ``threshold``."""
    level = _iou_level(iou)
    ious = box_ious(cams, boxes, [_threshold(threshold)], multi_contour)[:, 0]
    return _top1(ious, level, predictions, labels)


def _top1(ious: np.ndarray, level: float, predictions: Any, labels: Any) -> float:
    """The share of (N,) ``ious`` >= ``level`` whose (N,) integer ``predictions`` equal their ``labels``."""
    p, y = _array(predictions, "predictions"), _array(labels, "labels")
    for name, v in (("predictions", p), ("labels", y)):
        if v.shape != (len(ious),):
            raise ValueError(f"{name} must have shape ({len(ious)},), one class per map, got {v.shape}")
        if v.dtype == np.bool_ or not np.issubdtype(v.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class indices, got dtype {v.dtype}")
    return float(((p == y) & (ious >= level)).mean())


def mask_iou(cams: Any, masks: Any, threshold: float) -> np.ndarray:
    """IoU of each thresholded map (normalised map >= ``threshold``; a constant map keeps nothing) with its
    boolean target mask: (N, H, W) maps and masks -> (N,) floats in [0, 1]; every mask needs a pixel."""
    c = _maps(cams, "cams", 3)
    m = _array(masks, "masks")
    if m.shape != c.shape:
        raise ValueError(f"masks must have the cams' shape {c.shape}, got {m.shape}")
    if m.dtype != np.bool_:
        raise ValueError(f"masks must be boolean, got dtype {m.dtype}")
    empty = np.flatnonzero(~m.reshape(len(m), -1).any(axis=1))
    if empty.size:
        raise ValueError(f"masks {empty[:10].tolist()} are empty: the IoU with an empty target is undefined")
    t = _threshold(threshold)
    norm, flat = _normalized_stack(c)
    kept = (norm >= t) & ~flat[:, None, None]
    inter = (kept & m).sum(axis=(1, 2))
    union = (kept | m).sum(axis=(1, 2))
    return inter / union


@dataclass(frozen=True)
class WSOLScores:
    """Every WSOL score of one set of maps (lesson 10's table row), from one labelling per map."""

    best: BoxAccuracy  # MaxBoxAcc at the IoU level, with its threshold tau* and accuracy curve
    v2: BoxAccuracyV2  # MaxBoxAccV2 (multi-contour, IoU 0.3 / 0.5 / 0.7)
    ious: np.ndarray  # (N,) IoU of each map's box at tau*
    top1: float  # Top-1 Loc at tau* (NaN without predictions and labels)
    mask_iou: float  # mean mask IoU at tau* (NaN without masks)


def score_maps(cams: Any, boxes: Any, thresholds: Any = CHOE_THRESHOLDS, iou: float = 0.5,
               ious: tuple[float, ...] = V2_IOUS, predictions: Any = None, labels: Any = None,
               masks: Any = None) -> WSOLScores:
    """MaxBoxAcc at ``iou`` (its threshold tau* and curve), MaxBoxAccV2 over ``ious``, each map's box IoU at tau*,
    Top-1 Loc at tau* (with (N,) ``predictions`` and ``labels``) and the mean mask IoU at tau* (with boolean
    (N, H, W) ``masks``) of (N, H, W) ``cams`` against (N, 4) boxes: the same numbers as the single functions,
    with the connected components of every map and threshold labelled once."""
    level = _iou_level(iou)
    levels = tuple(_iou_level(v) for v in ious)
    if not levels:
        raise ValueError("ious must name at least one IoU level")
    if (predictions is None) != (labels is None):
        raise ValueError("give both predictions and labels (for Top-1 Loc) or neither")
    t = _thresholds(thresholds)
    single, multi = box_iou_tables(cams, boxes, t)
    best = _best((single >= level).mean(axis=0), t, level, False)
    per_level = tuple(_best((multi >= v).mean(axis=0), t, v, True) for v in levels)
    at_best = single[:, int(np.flatnonzero(t == best.threshold)[0])]
    top1 = np.nan if predictions is None else _top1(at_best, level, predictions, labels)
    overlap = np.nan if masks is None else float(mask_iou(cams, masks, best.threshold).mean())
    return WSOLScores(best, BoxAccuracyV2(float(np.mean([p.accuracy for p in per_level])), per_level), at_best,
                      top1, overlap)


def image_alone(images: Any, q: int | None = None, blur_sigma: float | None = None) -> np.ndarray:
    """Reference maps made from the image alone, without any model: (B, C, H, W) model inputs (dB scaled) ->
    (B, H, W) float32 in [0, 1]. With ``q``, the channel mean block-averaged to q x q (anti-aliased) and brought
    back bilinearly, MS-CAM's matching image at Q = q; with ``blur_sigma``, the channel mean blurred by a Gaussian of
    that many pixels. A CAM that localises no better than these adds nothing to the image's own brightness."""
    from . import cam

    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    if (q is None) == (blur_sigma is None):
        raise ValueError(f"give exactly one of q ({q!r}) and blur_sigma ({blur_sigma!r})")
    size = tuple(images.shape[-2:])
    if q is not None:
        if isinstance(q, bool) or not isinstance(q, int | np.integer) or not 1 <= q <= min(size):
            raise ValueError(f"q must be an integer from 1 to the image side {min(size)}, got {q!r}")
        maps = cam.upsample(cam.matching_image(images, (int(q), int(q)))[:, 0], size)
    else:
        if isinstance(blur_sigma, bool) or not isinstance(blur_sigma, int | float) or not blur_sigma > 0:
            raise ValueError(f"blur_sigma must be a positive number of pixels, got {blur_sigma!r}")
        mean = images.detach().float().mean(dim=1).cpu().numpy()
        maps = torch.from_numpy(ndimage.gaussian_filter(mean, sigma=(0, blur_sigma, blur_sigma), mode="nearest"))
    return cam.normalize(maps).cpu().numpy().astype(np.float32)


def paired_bootstrap(hits_a: Any, hits_b: Any, n_boot: int = 1000, seed: int = 0,
                     level: float = 0.95) -> PairedDifference:
    """Difference of two per-image success rates (booleans, the same images for both) with a paired bootstrap
    interval: images are resampled with replacement and the difference recomputed on each resample
    (:func:`metrics.paired_difference` on booleans)."""
    a, b = np.asarray(hits_a), np.asarray(hits_b)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"hits_a and hits_b must be non-empty 1-D arrays of one length, got {a.shape} and {b.shape}")
    if a.dtype != bool or b.dtype != bool:
        raise ValueError(f"hits_a and hits_b must be boolean (localised or not), got {a.dtype} and {b.dtype}")
    return paired_difference(a, b, n_boot, seed, level)


# --------------------------------------------------------------------------------------------------------------
# Approximate target and shadow masks (for real chips without mask files)
# --------------------------------------------------------------------------------------------------------------

SEGMENT_SIGMA: float = 1.5  # Gaussian smoothing (pixels) before thresholding: speckle would fragment the regions
SEGMENT_TARGET_DB: float = 5.0  # target: smoothed dB this far above the chip's median (the clutter level)
SEGMENT_SHADOW_DB: float = 6.0  # shadow: smoothed dB this far below the clutter level, next to the target
SEGMENT_SHADOW_REACH: int = 4  # the shadow must touch the target grown by this many pixels


def segment_target(intensity: Any) -> tuple[np.ndarray, np.ndarray]:
    """Approximate target and shadow masks of chips (H, W) or (N, H, W) of linear intensity, for chips whose masks
    are unknown (real MSTAR without mask files). An approximation, not ground truth: on the smoothed dB image, the
    target is the bright region (``SEGMENT_TARGET_DB`` above the median) with the most energy among those meeting
    the chip's central half, closed and hole-filled; the shadow is the dark region (``SEGMENT_SHADOW_DB`` below the
    median) touching the grown target; a chip with no such bright region gets its brightest percent instead, so only
    a constant chip has an empty target. Returns two bool arrays of the input's shape."""
    x = _array(intensity, "intensity")
    single = x.ndim == 2
    if single:
        x = x[None]
    if x.ndim != 3 or x.shape[0] == 0 or min(x.shape[1:]) < 4:
        raise ValueError(f"intensity must have shape (H, W) or (N, H, W) with H, W >= 4, got {tuple(x.shape)}")
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("intensity must be finite and non-negative (linear intensity)")
    n, h, w = x.shape
    target, shadow = np.zeros(x.shape, bool), np.zeros(x.shape, bool)
    centre = np.zeros((h, w), bool)
    centre[h // 4 : h - h // 4, w // 4 : w - w // 4] = True
    for i in range(n):
        smooth = ndimage.gaussian_filter(x[i].astype(np.float64), SEGMENT_SIGMA)
        db = 10 * np.log10(smooth + 1e-12)
        clutter = np.median(db)
        labels, count = ndimage.label(db > clutter + SEGMENT_TARGET_DB, structure=_EIGHT)
        if count == 0:  # a dim target: its brightest percent rather than nothing (a flat chip stays empty)
            labels, count = ndimage.label(db > np.percentile(db, 99), structure=_EIGHT)
        if count == 0:
            continue
        energy = ndimage.sum(smooth, labels, index=np.arange(1, count + 1))
        central = np.unique(labels[centre & (labels > 0)])
        pool = central if central.size else np.arange(1, count + 1)
        best = pool[np.argmax(energy[pool - 1])]
        region = ndimage.binary_fill_holes(ndimage.binary_closing(labels == best, _EIGHT, iterations=2))
        target[i] = region
        dark, _ = ndimage.label(db < clutter - SEGMENT_SHADOW_DB, structure=_EIGHT)
        near = ndimage.binary_dilation(region, _EIGHT, iterations=SEGMENT_SHADOW_REACH)
        touching = np.unique(dark[near & (dark > 0)])
        shadow[i] = np.isin(dark, touching[touching > 0]) & ~region
    return (target[0], shadow[0]) if single else (target, shadow)


def mask_boxes(masks: Any) -> np.ndarray:
    """Inclusive boxes (N, 4) of masks (N, H, W): the bounding box of each mask's pixels, EMPTY_BOX if none."""
    m = np.asarray(masks, bool)
    if m.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W), got {m.shape}")
    out = np.tile(EMPTY_BOX, (m.shape[0], 1))
    rows, cols = m.any(2), m.any(1)
    has = rows.any(1)
    out[has, 0] = cols[has].argmax(1)
    out[has, 1] = rows[has].argmax(1)
    out[has, 2] = m.shape[2] - 1 - cols[has][:, ::-1].argmax(1)
    out[has, 3] = m.shape[1] - 1 - rows[has][:, ::-1].argmax(1)
    return out
