"""Figures of SAR images and their explanations: dB images in grey with a dB colour bar, class galleries with
evidence, attribution heatmaps over the dB image, Fig. 1-style method grids and per-class attribution galleries.

Conventions (LESSON_STYLE.md): a title on every panel, dB images in grey with a dB colour bar, signed maps in a
diverging colormap centred at zero, non-negative maps in a sequential one, one shared scale where maps or images
are compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from . import sar

MAX_WIDTH_IN = 15.5  # widest figure in inches: 1550 px at the notebook's 100 dpi, within a laptop screen (1600 px)


def fit_panels(panel_size: float, columns: int, extra: float = 1.2) -> float:
    """The side of a panel (inches) for ``columns`` panels plus ``extra`` inches of colour bars and labels: at most
    ``panel_size``, smaller where the row would be wider than :data:`MAX_WIDTH_IN`."""
    if columns < 1 or panel_size <= 0:
        raise ValueError(f"need columns >= 1 and panel_size > 0, got {columns} and {panel_size}")
    return min(panel_size, (MAX_WIDTH_IN - extra) / columns)


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


def draw_box(ax: Axes, box: np.ndarray, color: str = "tab:red", label: str | None = None,
             linestyle: str | tuple = "-") -> None:
    """Draw an inclusive (x0, y0, x1, y1) pixel box on ``ax``."""
    x0, y0, x1, y1 = (int(v) for v in box)
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False, ec=color, lw=1.2,
                           label=label, ls=linestyle))


def class_gallery(ds, n_per_class: int = 1, channel: int = 0, show_evidence: bool = True,
                  title: str | None = None, panel_size: float = 1.9) -> Figure:
    """One row per example and one column per class: dB images on one shared scale, with the evidence mask
    (red contour), and for targets the box (yellow, dashed) and the radar shadow (cyan contour)."""
    n_classes = len(ds.classes)
    picks = [np.flatnonzero(ds.labels == k)[:n_per_class] for k in range(n_classes)]
    if any(len(p) == 0 for p in picks):
        missing = [ds.classes[k] for k, p in enumerate(picks) if len(p) == 0]
        raise ValueError(f"class_gallery: no example of class(es) {missing} in the dataset")
    rows = max(len(p) for p in picks)
    idx = np.concatenate(picks)
    vmin, vmax = db_limits(ds.images[idx, channel])
    panel_size = fit_panels(panel_size, n_classes, 1.0)
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
                if getattr(ds, "boxes", None) is not None:  # dashed: the target's outline stays visible under it
                    draw_box(ax, ds.boxes[i], "yellow", linestyle=(0, (3, 2)))
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


# --------------------------------------------------------------------------------------------------------------
# Attribution maps
# --------------------------------------------------------------------------------------------------------------
SIGNED_CMAP = "RdBu_r"  # diverging, white at zero: red supports the class, blue speaks against it
POSITIVE_CMAP = "inferno"  # sequential, for non-negative maps (Saliency, Grad-CAM)
BACKGROUND_ALPHA = 0.6  # opacity of the dB image under a heatmap (on white)


def _maps(maps: np.ndarray, name: str = "maps") -> np.ndarray:
    array = np.asarray(maps.detach().cpu() if hasattr(maps, "detach") else maps, dtype=np.float64)
    if array.ndim < 2 or array.size == 0:
        raise ValueError(f"{name} must be a 2-D map (H, W) or a stack of them, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or inf values")
    return array


def is_signed(maps: np.ndarray, tolerance: float = 1e-6) -> bool:
    """Whether attribution maps carry a sign: some value is below -``tolerance`` x the largest magnitude."""
    array = _maps(maps)
    peak = float(np.abs(array).max())
    return bool(peak > 0 and array.min() < -tolerance * peak)


def map_limit(maps: np.ndarray, percentile: float = 99.5) -> float:
    """One colour limit for maps that are compared: the ``percentile`` of their absolute values (1 if all zero).

    A percentile rather than the maximum keeps one hot pixel (common in gradient maps) from washing out the rest.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    magnitude = np.abs(_maps(maps))
    limit = float(np.percentile(magnitude, percentile))
    if limit <= 0:
        limit = float(magnitude.max())
    return limit if limit > 0 else 1.0


def map_norm(maps: np.ndarray, signed: bool | None = None, limit: float | None = None) -> tuple[str, Normalize]:
    """The colormap name and normalisation for ``maps``: symmetric [-limit, limit] in a diverging map when
    signed, [0, limit] in a sequential one otherwise (``signed`` and ``limit`` default to the maps' own)."""
    signed = is_signed(maps) if signed is None else bool(signed)
    limit = map_limit(maps) if limit is None else float(limit)
    if not np.isfinite(limit) or limit <= 0:
        raise ValueError(f"limit must be a positive finite number, got {limit}")
    if signed:
        return SIGNED_CMAP, Normalize(-limit, limit)
    return POSITIVE_CMAP, Normalize(0.0, limit)


def clipped(maps: np.ndarray, norm: Normalize) -> str:
    """Matplotlib's colour-bar ``extend`` for ``maps`` drawn with ``norm``: "max", "min" or "both" where some values
    lie beyond the bar's ends (a percentile limit clips the hottest pixels: the bar then ends in a triangle), else
    "neither"."""
    values = np.asarray(maps, dtype=np.float64)
    values = values[np.isfinite(values)]
    high = values.size > 0 and values.max() > norm.vmax
    low = values.size > 0 and values.min() < norm.vmin
    return "both" if high and low else "max" if high else "min" if low else "neither"


def render_map(attribution: np.ndarray, signed: bool | None = None, limit: float | None = None) -> np.ndarray:
    """A 2-D map as the (H, W, 3) uint8 RGB picture of its colours alone (no SAR image under it), one pixel per map
    pixel, with the colormap and limits of :func:`map_norm` (values beyond the limit take the end colour)."""
    attr = _maps(attribution, "attribution")
    if attr.ndim != 2:
        raise ValueError(f"attribution must be a 2-D map (H, W), got shape {attr.shape}")
    cmap, norm = map_norm(attr, signed, limit)
    rgba = plt.get_cmap(cmap)(np.clip(norm(attr), 0.0, 1.0))
    return np.round(rgba[..., :3] * 255).astype(np.uint8)


def show_attribution(ax: Axes, attribution: np.ndarray, intensity: np.ndarray | None = None, title: str = "",
                     signed: bool | None = None, limit: float | None = None, alpha: float = 0.85,
                     db_range: tuple[float, float] | None = None, colorbar: bool = True,
                     label: str = "attribution"):
    """Draw a 2-D attribution map on ``ax``, over the linear-intensity ``intensity`` image shown in dB (grey).

    Over an image (drawn dimmed), each pixel's opacity grows with sqrt(|attribution| / limit) up to ``alpha``,
    so the SAR image shows through where the map is near zero. Returns the heatmap's image handle (for a shared
    colour bar).
    """
    attr = _maps(attribution, "attribution")
    if attr.ndim != 2:
        raise ValueError(f"attribution must be a 2-D map (H, W), got shape {attr.shape}")
    cmap, norm = map_norm(attr, signed, limit)
    if intensity is not None:
        image = np.asarray(intensity)
        if image.shape != attr.shape:
            raise ValueError(f"intensity has shape {image.shape} but attribution has shape {attr.shape}")
        vmin, vmax = db_range if db_range is not None else (None, None)
        ax.imshow(sar.to_db(image), cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest",
                  alpha=BACKGROUND_ALPHA)  # dimmed towards white so that the colours stand out
        strength = np.clip(np.abs(attr) / max(abs(norm.vmax), abs(norm.vmin)), 0.0, 1.0)
        handle = ax.imshow(attr, cmap=cmap, norm=norm, alpha=alpha * np.sqrt(strength), interpolation="nearest")
    else:
        handle = ax.imshow(attr, cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(handle, ax=ax, fraction=0.046, pad=0.02, label=label, extend=clipped(attr, norm))
    return handle


def attribution_grid(intensities: Sequence[np.ndarray], maps: Mapping[str, Sequence[np.ndarray]],
                     row_labels: Sequence[str], metrics: Mapping[str, Sequence[float]] | None = None,
                     metric_format: str = "{:.3f}", title: str | None = None, overlay: bool = True,
                     path: str | Path | None = None, panel_size: float = 2.0,
                     evidence: np.ndarray | None = None, shared_scale: bool = False,
                     signed: Mapping[str, bool] | None = None) -> Figure:
    """A Fig. 1-style grid: one row per image (e.g. VV and VH, or samples), the dB image first, then one column
    per method (``maps[title][row]`` a 2-D map), each column on one shared colour scale with its colour bar (up to
    the 99.5th percentile of |map|, :func:`map_limit`; the bar ends in a triangle where hotter pixels are clipped).

    ``metrics[title][row]`` (optional) is written in parentheses under the method's title, as in Su et al.'s
    Fig. 1 (Max-Sensitivity there). ``evidence`` (optional, a boolean (H, W) mask shared by the rows) is drawn as a
    lime contour on every panel, and the title gives its share of the pixels: the chance level of a share of
    relevance on the evidence. ``shared_scale`` puts every column on one colour scale (for maps of one method with
    different settings, which must be compared). ``signed[title]`` (optional) fixes whether a column is drawn as a
    signed map, e.g. from ``METHODS[m].signed``, so that one method looks the same in every figure; otherwise the
    data decide. With ``path`` the figure is also saved as a PNG (150 dpi).
    """
    rows = len(row_labels)
    if rows == 0 or len(intensities) != rows:
        raise ValueError(f"intensities has {len(intensities)} images for {rows} row labels (need the same, > 0)")
    if not maps:
        raise ValueError("maps is empty: give at least one method")
    for name, column in maps.items():
        if len(column) != rows:
            raise ValueError(f"maps[{name!r}] has {len(column)} maps for {rows} rows")
        for row, m in enumerate(column):
            if np.shape(m) != np.shape(intensities[row]):
                raise ValueError(f"maps[{name!r}][{row}] has shape {np.shape(m)} but the image has shape "
                                 f"{np.shape(intensities[row])}")
    for name, values in (metrics or {}).items():
        if name not in maps or len(values) != rows:
            raise ValueError(f"metrics[{name!r}] must name a method of maps and give one value per row")
    if evidence is not None:
        evidence = np.asarray(evidence, dtype=bool)
        if evidence.shape != np.shape(intensities[0]):
            raise ValueError(f"evidence has shape {evidence.shape} but the images have {np.shape(intensities[0])}")
    cols = len(maps) + 1
    panel_size = fit_panels(panel_size, cols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size * cols + 1.2, panel_size * rows + 0.9 + 0.3 * bool(title)),
                             squeeze=False,
                             layout="constrained")
    db_range = db_limits(np.stack([np.asarray(i) for i in intensities]))
    for r in range(rows):
        handle = show_db(axes[r, 0], intensities[r], f"{row_labels[r]}: image", *db_range, colorbar=False)
    bar = fig.colorbar(handle, ax=axes[:, 0], shrink=0.8, label="dB", location="bottom", pad=0.01)  # under the
    bar.ax.xaxis.set_major_locator(MaxNLocator(3))  # images like the methods' bars: a bar on the left hid row labels
    if shared_scale:
        every = np.stack([_maps(m, f"maps[{name!r}]") for name, column in maps.items() for m in column])
        shared = is_signed(every), map_limit(every)
    for c, (name, column) in enumerate(maps.items(), start=1):
        stack = np.stack([_maps(m, f"maps[{name!r}]") for m in column])
        is_signed_map, limit = shared if shared_scale else (is_signed(stack), map_limit(stack))
        is_signed_map = bool((signed or {}).get(name, is_signed_map))
        for r in range(rows):
            value = (metrics or {}).get(name)
            label = name if value is None else f"{name}\n({metric_format.format(value[r])})"
            handle = show_attribution(axes[r, c], stack[r], intensities[r] if overlay else None, label, is_signed_map,
                                      limit, db_range=db_range, colorbar=False)
        bar = fig.colorbar(handle, ax=axes[:, c], shrink=0.8, location="bottom", pad=0.01,
                           label="signed" if is_signed_map else "≥ 0",  # short: neighbouring bars must not collide
                           extend=clipped(stack, handle.norm))  # a triangle where the limit clips hotter pixels
        ticks = [-limit, 0.0, limit] if is_signed_map else [0.0, limit]  # few ticks: narrow horizontal bars
        bar.set_ticks(ticks, labels=[f"{t:.2g}" for t in ticks])
    if evidence is not None and evidence.any():
        for ax in axes.flat:
            ax.contour(evidence, levels=[0.5], colors="lime", linewidths=0.6)
        chance = f"lime: the evidence, {evidence.mean():.0%} of the pixels (the chance level of a share on it)"
        title = f"{title}\n{chance}" if title else chance
    if title:
        fig.suptitle(title, fontsize=11)
    if path is not None:
        save_png(fig, path)
    return fig


def attribution_gallery(intensities: np.ndarray, maps: np.ndarray, labels: np.ndarray, classes: Sequence[str],
                        title: str, masks: np.ndarray | None = None, predictions: np.ndarray | None = None,
                        panel_size: float = 1.9, limit: float | None = None) -> Figure:
    """Per-class gallery of one method: one column per class (its first image in the arrays), the dB image on top
    and the attribution over it below, one shared colour scale; lime contours show the evidence ``masks``.

    ``intensities`` and ``maps`` are (N, H, W) (linear intensity; attributions), ``labels`` (N,) class indices.
    ``limit`` sets the colour scale (default: :func:`map_limit` of the maps shown), e.g. one limit for two
    galleries that are compared.
    """
    images, attrs = np.asarray(intensities), _maps(maps)
    labels = np.asarray(labels)
    if images.ndim != 3 or attrs.shape != images.shape or labels.shape != (len(images),):
        raise ValueError(f"intensities and maps must both be (N, H, W) with N labels; got {images.shape}, "
                         f"{attrs.shape} and {labels.shape}")
    if masks is not None and np.shape(masks) != images.shape:
        raise ValueError(f"masks must be (N, H, W) like the images, got {np.shape(masks)}")
    present = [k for k in range(len(classes)) if np.any(labels == k)]
    if not present:
        raise ValueError("attribution_gallery: no image has a label among the classes")
    picks = [int(np.flatnonzero(labels == k)[0]) for k in present]
    signed, limit = is_signed(attrs[picks]), map_limit(attrs[picks]) if limit is None else float(limit)
    db_range = db_limits(images[picks])
    panel_size = fit_panels(panel_size, len(picks))
    fig, axes = plt.subplots(2, len(picks), figsize=(panel_size * len(picks) + 1.2, 2 * panel_size + 0.8),
                             squeeze=False, layout="constrained")
    for c, (k, i) in enumerate(zip(present, picks, strict=True)):
        name = classes[k] if predictions is None else f"{classes[k]}\n-> {classes[int(predictions[i])]}"
        db_handle = show_db(axes[0, c], images[i], name, *db_range, colorbar=False)
        handle = show_attribution(axes[1, c], attrs[i], images[i], "", signed, limit, db_range=db_range,
                                  colorbar=False)
        if masks is not None:
            axes[1, c].contour(np.asarray(masks[i]), levels=[0.5], colors="lime",
                               linewidths=0.7)
    fig.colorbar(db_handle, ax=axes[0, :], shrink=0.8, label="dB")
    fig.colorbar(handle, ax=axes[1, :], shrink=0.8, label="attribution (signed)" if signed else "attribution",
                 extend=clipped(attrs[picks], handle.norm))
    fig.suptitle(title, fontsize=11)
    return fig


def save_png(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Save ``fig`` as a PNG at ``path`` (parent folders created); returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    return path
