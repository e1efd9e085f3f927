"""Figures of SAR images: dB images in grey with a colour bar in dB, and class galleries with evidence.

Conventions (LESSON_STYLE.md): a title on every panel, dB images in grey with a dB colour bar, one shared
scale where images are compared.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import sar


def db_limits(images: np.ndarray, low: float = 1.0, high: float = 99.5) -> tuple[float, float]:
    """A shared dB display range: the ``low`` and ``high`` percentiles of the images' dB values."""
    db = sar.to_db(np.asarray(images, np.float32))
    return float(np.percentile(db, low)), float(np.percentile(db, high))


def show_db(ax: Axes, intensity: np.ndarray, title: str, vmin: float | None = None, vmax: float | None = None,
            colorbar: bool = True):
    """Show a 2-D linear-intensity image in dB (grey) on ``ax`` with a title and a dB colour bar."""
    image = np.asarray(intensity)
    if image.ndim != 2:
        raise ValueError(f"show_db expects a 2-D image (H, W), got shape {image.shape}")
    handle = ax.imshow(sar.to_db(image), cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(handle, ax=ax, fraction=0.046, pad=0.02, label="dB")
    return handle


def draw_box(ax: Axes, box: np.ndarray, color: str = "tab:red", label: str | None = None) -> None:
    """Draw an inclusive (x0, y0, x1, y1) pixel box on ``ax``."""
    x0, y0, x1, y1 = (int(v) for v in box)
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False, ec=color, lw=1.2,
                           label=label))


def class_gallery(ds, n_per_class: int = 1, channel: int = 0, show_evidence: bool = True,
                  title: str | None = None, panel_size: float = 1.9) -> Figure:
    """One row per example and one column per class: dB images on one shared scale, with the evidence mask
    (red contour), and for targets the box (yellow) and the radar shadow (cyan contour)."""
    n_classes = len(ds.classes)
    picks = [np.flatnonzero(ds.labels == k)[:n_per_class] for k in range(n_classes)]
    if any(len(p) == 0 for p in picks):
        missing = [ds.classes[k] for k, p in enumerate(picks) if len(p) == 0]
        raise ValueError(f"class_gallery: no example of class(es) {missing} in the dataset")
    rows = max(len(p) for p in picks)
    idx = np.concatenate(picks)
    vmin, vmax = db_limits(ds.images[idx, channel])
    fig, axes = plt.subplots(rows, n_classes, figsize=(panel_size * n_classes + 1.0, panel_size * rows + 0.6),
                             squeeze=False, layout="constrained")
    handle = None
    for k, pick in enumerate(picks):
        for r in range(rows):
            ax = axes[r, k]
            if r >= len(pick):
                ax.axis("off")
                continue
            i = pick[r]
            handle = show_db(ax, ds.images[i, channel], ds.classes[k] if r == 0 else "", vmin, vmax, False)
            if show_evidence:
                ax.contour(ds.masks[i], levels=[0.5], colors="tab:red", linewidths=0.7)
                if getattr(ds, "shadow_masks", None) is not None:
                    ax.contour(ds.shadow_masks[i], levels=[0.5], colors="cyan", linewidths=0.7)
                if getattr(ds, "boxes", None) is not None:
                    draw_box(ax, ds.boxes[i], "yellow")
    fig.colorbar(handle, ax=axes, shrink=0.8, label="dB")
    pol = ds.polarizations[channel] if hasattr(ds, "polarizations") else f"channel {channel}"
    fig.suptitle(title or f"Every class ({pol}); red: evidence mask", fontsize=11)
    return fig


def confusion_matrix(ax: Axes, confusion: np.ndarray, classes: list[str], title: str, annotate_from: float = 0.01):
    """Draw a row-normalised confusion matrix (rows: true class, columns: prediction) on ``ax``, with the
    shares of at least ``annotate_from`` written in the cells; returns the image handle for a colour bar."""
    conf = np.asarray(confusion, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1] or conf.shape[0] != len(classes):
        raise ValueError(f"confusion must be ({len(classes)}, {len(classes)}) for {len(classes)} classes, "
                         f"got shape {conf.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.nan_to_num(conf / conf.sum(1, keepdims=True))
    handle = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (r, c), v in np.ndenumerate(shares):
        if v >= annotate_from:
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v > 0.6 else "k")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set(title=title, xlabel="predicted", ylabel="true")
    return handle
