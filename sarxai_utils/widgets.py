"""The interactive explorer of lesson 11: pick a scene, a polarization, a method and a class, and watch the map.

``Explorer(profile, data=...)`` lays out ipywidgets controls (dataset, polarization, class filter, "misclassified
only", sample, method, target class, overlay opacity, WSOL threshold, Max-Sensitivity on demand) over one picture
(the scene in dB, the map over it with the box at the threshold, the class probabilities) and a table of the
sample's metrics. ``data`` picks the scenes: "embedded" (the generated urban scenes and target chips), "opensarurban"
(the real OpenSARUrban test set in place of the urban scenes) or "mstar" (the real MSTAR test chips in place of the
target chips); every source is classified by the models trained on its own data. Models, predictions, maps and
scores are cached, so moving back to a seen state only redraws, and the picture is one matplotlib Figure whose
artists are updated in place. Every callback is a method of the class: tests drive the explorer by setting widget
values, as a learner does.
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colorbar import Colorbar
from matplotlib.container import BarContainer
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from torch import nn
from tqdm.auto import tqdm

from . import config, localization, metrics, sar, viz
from .datasets import channel_indices, preprocess
from .explain import METHODS, explain

PREDICTED = -1  # the target dropdown's value for "the class the model predicts"
ALL_CLASSES = -1  # the class filter's value for "every class"
POLARIZATION_LABELS = {"VV": "VV", "VH": "VH", "HH": "HH", "both": "VV+VH"}

# (dataset, polarization) -> classifier in eval mode; for a source of real data the loader is called with a third
# argument, the data the model must be trained on ("opensarurban" or "mstar")
ModelLoader = Callable[..., nn.Module]
DATA_CHOICES = ("embedded", "opensarurban", "mstar")  # the explorer's data switch
# the picture's axes (scene, map, probabilities) and colour bars (dB, attribution), in figure coordinates
_AXES_BOXES = ([0.01, 0.13, 0.237, 0.77], [0.34, 0.13, 0.237, 0.77], [0.79, 0.13, 0.2, 0.77])
_COLORBAR_BOXES = ([0.252, 0.13, 0.01, 0.77], [0.582, 0.13, 0.01, 0.77])


@dataclass
class Source:
    """One set of scenes the explorer shows: linear intensity with labels and, when known, evidence masks and boxes.

    ``dataset`` names the models that classify it ("urban" or "targets") and ``source`` the data those models were
    trained on ("embedded", "opensarurban" or "mstar"); ``intensity`` is float32 (N, C, H, W) with one channel per
    name in ``polarizations``; ``masks`` bool (N, H, W); ``boxes`` int (N, 4) inclusive. ``approximate`` says that
    the masks and boxes are estimates rather than ground truth; ``note`` is shown under the sample's metrics.
    """

    name: str
    dataset: str
    polarizations: tuple[str, ...]
    intensity: np.ndarray
    labels: np.ndarray
    classes: list[str]
    masks: np.ndarray | None = None
    boxes: np.ndarray | None = None
    source: str = "embedded"
    approximate: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        from .sources import SOURCES

        if self.dataset in SOURCES and self.source not in SOURCES[self.dataset]:
            raise ValueError(f"source {self.name!r}: models for {self.dataset!r} are trained on one of "
                             f"{SOURCES[self.dataset]}, got source={self.source!r}")
        self.intensity = np.asarray(self.intensity, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        n = len(self.labels)
        if self.intensity.ndim != 4 or self.intensity.shape[0] != n or n == 0:
            raise ValueError(f"source {self.name!r}: intensity must be (N, C, H, W) with N = {n} labels > 0, got "
                             f"shape {self.intensity.shape}")
        if self.intensity.shape[1] != len(self.polarizations):
            raise ValueError(f"source {self.name!r}: {self.intensity.shape[1]} channels but polarizations "
                             f"{self.polarizations}")
        if not np.isfinite(self.intensity).all() or (self.intensity < 0).any():
            raise ValueError(f"source {self.name!r}: intensity must be finite and non-negative (linear intensity)")
        if self.labels.min() < 0 or self.labels.max() >= len(self.classes):
            raise ValueError(f"source {self.name!r}: labels must lie in [0, {len(self.classes)})")
        size = self.intensity.shape[-2:]
        if self.masks is not None and (np.shape(self.masks) != (n, *size) or np.asarray(self.masks).dtype != bool):
            raise ValueError(f"source {self.name!r}: masks must be boolean {(n, *size)}, got "
                             f"{np.asarray(self.masks).dtype} {np.shape(self.masks)}")
        if self.boxes is not None and np.shape(self.boxes) != (n, 4):
            raise ValueError(f"source {self.name!r}: boxes must be (N, 4) = {(n, 4)}, got {np.shape(self.boxes)}")

    @property
    def model_polarizations(self) -> list[str]:
        """The polarizations a model can be asked for: each channel, and "both" when there are two."""
        return list(self.polarizations) + (["both"] if len(self.polarizations) > 1 else [])


@dataclass
class _Picture:
    """The explorer's one Figure and the artists a change updates in place; ``shape`` (the scenes' size),
    ``classes``, ``signed``, ``contour_key`` and ``legend_labels`` record what is shown, to redo only what changes."""

    figure: Figure
    axes: list[Axes]
    scene: AxesImage
    background: AxesImage
    overlay: AxesImage
    scene_bar: Colorbar
    map_bar: Colorbar
    true_box: Rectangle
    wsol_box: Rectangle
    probabilities: BarContainer
    message: Text
    shape: tuple[int, ...] = ()
    classes: tuple[str, ...] = ()
    signed: bool | None = None
    contour: ContourSet | None = None
    contour_key: tuple[str, int] | None = None
    legend_labels: tuple[str, ...] = ()


def _place_box(rectangle: Rectangle, box: np.ndarray | None, label: str) -> None:
    """Move ``rectangle`` onto the inclusive pixel box (x0, y0, x1, y1) as :func:`viz.draw_box` draws it, or hide it
    when there is no box (None, or negative coordinates)."""
    shown = box is not None and bool((box >= 0).all())
    rectangle.set_visible(shown)
    if shown:
        x0, y0, x1, y1 = (int(v) for v in box)
        rectangle.set_bounds(x0 - 0.5, y0 - 0.5, x1 - x0 + 1, y1 - y0 + 1)
        rectangle.set_label(label)


def _set_colorbar_label(bar: Colorbar, label: str) -> None:
    """Give a vertical colour bar ``label`` unless it already has it."""
    if bar.ax.get_ylabel() != label:
        bar.set_label(label)


def _source(name: str, kind: str, ds: Any, source: str, approximate: bool = False, note: str = "") -> Source:
    """A :class:`Source` of a lesson's test set (``SyntheticSAR`` or ``RealSAR``) whose models are ``kind``'s,
    trained on ``source``'s data."""
    return Source(name, kind, tuple(ds.polarizations), ds.images, ds.labels, list(ds.classes), masks=ds.masks,
                  boxes=ds.boxes, source=source, approximate=approximate, note=note)


def course_sources(profile: config.Profile, data: str = "embedded", progress: bool = False) -> list[Source]:
    """The explorer's sources for a profile: held-out urban scenes, then held-out target chips.

    ``data="embedded"`` gives the embedded test sets; ``"opensarurban"`` puts the real OpenSARUrban test set (no
    evidence masks) in place of the urban scenes, ``"mstar"`` the real MSTAR test chips (masks and boxes from mask
    files, or approximate) in place of the target chips, each from :func:`sources.lesson_data` and classified by the
    models trained on that data.
    """
    from .data import embedded_split, lesson_data

    if data not in DATA_CHOICES:
        raise ValueError(f"data must be one of {DATA_CHOICES}, got {data!r}")
    if data == "opensarurban":
        real = lesson_data(profile, "opensarurban", "urban", progress=progress)[1]
        urban = _source("urban scenes (OpenSARUrban, real)", "urban", real, "opensarurban",
                        note="OpenSARUrban has no evidence masks: no relevance mass or mask IoU for these scenes.")
    else:
        urban = _source("urban scenes (embedded)", "urban", embedded_split(profile, "urban", progress=progress)[1],
                        "embedded")
    if data == "mstar":
        real = lesson_data(profile, "mstar", "targets", progress=progress)[1]
        how = real.params.get("masks", "approximate")
        label = ("boxes from mask files" if how == "files" else "boxes approximate" if how == "approximate"
                 else "boxes partly approximate")
        note = ("Target masks and boxes come from the mask files." if how == "files" else
                "Target masks and boxes are approximate (localization.segment_target where no mask file exists): "
                "the scores against them are estimates, not ground truth.")
        targets = _source(f"target chips (MSTAR, real; {label})", "targets", real, "mstar", approximate=how != "files",
                          note=note)
    else:
        targets = _source("target chips (embedded)", "targets",
                          embedded_split(profile, "targets", progress=progress)[1], "embedded")
    return [urban, targets]


class Explorer:
    """Widgets to explore the explanations of the course's classifiers; display it with ``display(explorer)``.

    ``sources`` default to :func:`course_sources` of ``data`` ("embedded", "opensarurban" or "mstar");
    ``model_loader(dataset, polarization)`` (with a third argument, the source's data, for real sources) to the
    profile's ``models.load_or_train``; ``methods`` to every method of the registry. ``state()`` reports what is shown.
    """

    def __init__(self, profile: str | config.Profile = "auto", sources: Sequence[Source] | None = None,
                 model_loader: ModelLoader | None = None, methods: Sequence[str] | None = None,
                 device: torch.device | str | None = None, dpi: int = 72, progress: bool = False,
                 data: str = "embedded") -> None:
        self.cfg = profile if isinstance(profile, config.Profile) else config.load(profile)
        self.device = torch.device(device) if device is not None else config.device()
        if data not in DATA_CHOICES:
            raise ValueError(f"data must be one of {DATA_CHOICES}, got {data!r}")
        if sources is not None and data != "embedded":
            raise ValueError("give either sources or data, not both: data only chooses the default sources")
        self.data = data
        self.sources = list(sources) if sources is not None else course_sources(self.cfg, data, progress=progress)
        if not self.sources or not all(isinstance(s, Source) for s in self.sources):
            raise ValueError("sources must be a non-empty list of widgets.Source")
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"sources must have distinct names, got {names}")
        self.methods = list(methods) if methods is not None else list(METHODS)
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"methods must be names of explain.METHODS, got unknown {unknown or 'none at all'}")
        if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 20:
            raise ValueError(f"dpi must be an integer >= 20, got {dpi!r}")
        self.dpi = dpi
        self._loader = model_loader or self._load_course_model
        self._models: dict[tuple[str, str, str], nn.Module] = {}
        self._probs: dict[tuple[str, str], np.ndarray] = {}
        self._maps: dict[tuple, np.ndarray] = {}
        self._sensitivity: dict[tuple, float] = {}
        self.n_attributions = 0  # maps computed so far (a cache hit does not count)
        self.last_update_s = 0.0  # wall time of the last update, computing included
        self.busy_history: list[bool] = []  # every change of the busy flag (tests read it)
        self._hold = False
        self._indices = np.zeros(0, np.int64)
        self._picture: _Picture | None = None  # built at the first drawing, then updated in place
        self._build()
        self._on_dataset()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        style = {"description_width": "initial"}
        self.dataset = W.Dropdown(options=[s.name for s in self.sources], description="dataset", style=style)
        self.polarization = W.ToggleButtons(options=[("VV", "VV")], description="polarization", style=style)
        self.class_filter = W.Dropdown(options=[("all classes", ALL_CLASSES)], description="class", style=style)
        self.misclassified = W.Checkbox(value=False, description="misclassified only", indent=False)
        self.sample = W.IntSlider(min=0, max=0, value=0, description="sample", continuous_update=False, style=style)
        self.method = W.Dropdown(options=[(METHODS[m].title, m) for m in self.methods], description="method",
                                 style=style)
        self.target = W.Dropdown(options=[("predicted class", PREDICTED)], description="explain class", style=style)
        self.opacity = W.FloatSlider(min=0.0, max=1.0, step=0.05, value=0.85, description="map opacity",
                                     continuous_update=False, style=style)
        self.threshold = W.FloatSlider(min=0.0, max=1.0, step=0.01, value=0.5, description="WSOL threshold",
                                       continuous_update=False, style=style)
        self.sensitivity_button = W.Button(description="Max-Sensitivity", icon="calculator",
                                           tooltip="perturb the scene and measure how much the map changes")
        self.status = W.HTML()
        self.image = W.Image(format="png")
        self.info = W.HTML()
        self.image.add_class("sarxai-explorer-image")  # CSS classes: handles for the real-browser test
        self.method.add_class("sarxai-explorer-method")
        self.status.add_class("sarxai-explorer-status")
        for control in (self.polarization, self.class_filter, self.misclassified):
            control.observe(self._on_selection, names="value")
        self.dataset.observe(self._on_dataset, names="value")
        for control in (self.sample, self.method, self.target, self.opacity, self.threshold):
            control.observe(self._on_change, names="value")  # a new map if not cached, then a redraw
        self.sensitivity_button.on_click(self._on_sensitivity)
        self.widget = W.VBox([
            W.HBox([self.dataset, self.polarization]),
            W.HBox([self.class_filter, self.misclassified, self.sample]),
            W.HBox([self.method, self.target]),
            W.HBox([self.opacity, self.threshold, self.sensitivity_button]),
            self.status, self.image, self.info,
        ])
        self.widget.add_class("sarxai-explorer")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ state
    @property
    def source(self) -> Source:
        """The selected source."""
        return next(s for s in self.sources if s.name == self.dataset.value)

    @property
    def index(self) -> int | None:
        """The index (into the source) of the sample shown, or None when the filter leaves no sample."""
        if not len(self._indices):
            return None
        return int(self._indices[min(self.sample.value, len(self._indices) - 1)])

    @property
    def indices(self) -> np.ndarray:
        """The source indices the sample slider runs over (after the class and misclassified filters)."""
        return self._indices.copy()

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy_history.append(busy)
        if busy:
            self.status.value = (f"<span style='color:#b35900'>&#9203; <b>computing</b> {html.escape(message)} "
                                 "&hellip;</span>")
        else:
            self.status.value = f"<span style='color:#2e7d32'>&#10003; ready</span> {html.escape(message)}"

    def _load_course_model(self, dataset: str, polarization: str, source: str = "embedded") -> nn.Module:
        from .models import load_or_train

        return load_or_train(self.cfg, dataset, polarization, device=self.device, progress=True, source=source)[0]

    def model(self, dataset: str | None = None, polarization: str | None = None, source: str | None = None
              ) -> nn.Module:
        """The classifier for (dataset, polarization) trained on ``source``'s data (default: the selected source's),
        loaded (or trained) once and kept."""
        if source is None:  # the selected source's data, or that of the first source of the dataset asked for
            same = [s.source for s in [self.source, *self.sources] if dataset in (None, s.dataset)]
            source = same[0] if same else "embedded"
        key = (dataset or self.source.dataset, polarization or self.polarization.value, source)
        if key not in self._models:
            trained_on = "" if source == "embedded" else f" ({source})"
            self._set_busy(True, f"loading the {key[0]}{trained_on} {POLARIZATION_LABELS.get(key[1], key[1])} model")
            args = key if source != "embedded" else key[:2]  # a loader for the embedded data takes two arguments
            self._models[key] = self._loader(*args).eval()
        return self._models[key]

    def inputs(self, indices: Sequence[int] | np.ndarray, polarization: str | None = None) -> torch.Tensor:
        """The model input (B, C, H, W) of the selected source's scenes ``indices`` for ``polarization``."""
        channels = channel_indices(polarization or self.polarization.value, self.source.polarizations)
        images = self.source.intensity[np.asarray(indices)][:, channels]
        return preprocess(images).to(self.device)

    def probabilities(self) -> np.ndarray:
        """(N, K) class probabilities of every scene of the selected source and polarization (computed once)."""
        key = (self.source.name, self.polarization.value)
        if key not in self._probs:
            net = self.model()
            self._set_busy(True, "classifying the scenes")
            out = []
            with torch.inference_mode():
                for start in range(0, len(self.source.labels), 256):
                    x = self.inputs(np.arange(start, min(start + 256, len(self.source.labels))))
                    out.append(torch.softmax(net(x).float(), dim=1).cpu().numpy())
            self._probs[key] = np.concatenate(out)
        return self._probs[key]

    def target_class(self) -> int:
        """The class whose score is explained: the dropdown's, or the predicted class of the sample."""
        if self.target.value != PREDICTED or self.index is None:
            return int(self.target.value)
        return int(self.probabilities()[self.index].argmax())

    def _key(self, index: int, method: str, target: int) -> tuple:
        return (self.source.name, self.polarization.value, index, method, target)

    def attribution(self, index: int | None = None, method: str | None = None, target: int | None = None
                    ) -> np.ndarray:
        """The (H, W) map of ``method`` for scene ``index`` and class ``target`` (default: what is selected)."""
        index = self.index if index is None else int(index)
        if index is None:
            raise ValueError("no sample is selected: the class / misclassified filter leaves no scene")
        method = method or self.method.value
        target = self.target_class() if target is None else int(target)
        key = self._key(index, method, target)
        if key not in self._maps:
            self._set_busy(True, f"{METHODS[method].title} for scene {index}")
            net = self.model()
            self._maps[key] = explain(net, self.inputs([index]), [target], method, progress=False)[0].cpu().numpy()
            self.n_attributions += 1
        return self._maps[key]

    def precompute(self, methods: Sequence[str] | None = None, indices: Sequence[int] | None = None,
                   batch_size: int = 16) -> int:
        """Fill the cache for ``methods`` x ``indices`` (default: every method, the filtered scenes) of the selected
        source and polarization, explaining the predicted class in batches; returns the number of maps computed."""
        methods = list(methods) if methods is not None else self.methods
        indices = np.asarray(self._indices if indices is None else indices, dtype=np.int64)
        predicted = self.probabilities().argmax(axis=1)
        net = self.model()
        done = 0
        for method in tqdm(methods, desc="precomputing maps", leave=False, delay=config.PROGRESS_DELAY_S,
                           disable=not config.show_progress(True)):
            todo = [int(i) for i in indices if self._key(int(i), method, int(predicted[i])) not in self._maps]
            if not todo:
                continue
            maps = explain(net, self.inputs(todo), predicted[todo].tolist(), method, batch_size=batch_size,
                           progress=False).cpu().numpy()
            for i, m in zip(todo, maps, strict=True):
                self._maps[self._key(i, method, int(predicted[i]))] = m
            done += len(todo)
        self.n_attributions += done
        return done

    def box(self, attribution: np.ndarray | None = None) -> np.ndarray:
        """The WSOL box (inclusive x0, y0, x1, y1) of the positive part of the map at the threshold, as Choe et
        al. draw it; (-1, -1, -1, -1) when the map has no positive part."""
        attribution = self.attribution() if attribution is None else attribution
        return localization.cam_to_box(np.clip(attribution, 0.0, None), float(self.threshold.value))

    def sample_metrics(self) -> dict[str, float]:
        """The shown sample's scores: probabilities of the true and explained class, relevance mass (positive
        share inside the evidence mask) and its chance level, box IoU, mask IoU, Max-Sensitivity once computed."""
        index = self.index
        if index is None:
            return {}
        src, attribution = self.source, self.attribution()
        probs = self.probabilities()[index]
        target = self.target_class()
        out = {"p(true class)": float(probs[src.labels[index]]), "p(explained class)": float(probs[target])}
        positive = np.clip(attribution, 0.0, None)
        if src.masks is not None:
            mask = np.asarray(src.masks[index])
            out["relevance mass"] = float(metrics.relevance_mass_accuracy(attribution, mask)[0])
            out["relevance mass, chance"] = float(mask.mean())
            if mask.any():
                out["mask IoU"] = float(localization.mask_iou(positive[None], mask[None], self.threshold.value)[0])
        if src.boxes is not None:
            out["box IoU"] = float(localization.box_iou(self.box(attribution), np.asarray(src.boxes[index])))
        key = self._key(index, self.method.value, target)
        if key in self._sensitivity:
            out["Max-Sensitivity"] = self._sensitivity[key]
        return out

    def max_sensitivity(self) -> float:
        """Max-Sensitivity (Su et al. Eq. 4, ``metrics.max_sensitivity``) of the shown map, with the profile's
        number of perturbations; computed on demand and cached."""
        index = self.index
        if index is None:
            raise ValueError("no sample is selected: the class / misclassified filter leaves no scene")
        method, target = self.method.value, self.target_class()
        key = self._key(index, method, target)
        if key not in self._sensitivity:
            attribution = self.attribution()
            self._set_busy(True, f"Max-Sensitivity of {METHODS[method].title} ({self.cfg.sens_samples} perturbations)")
            score = metrics.max_sensitivity(self.model(), self.inputs([index]), [target], method,
                                            n_samples=self.cfg.sens_samples, maps=attribution[None], progress=False)
            self._sensitivity[key] = float(score[0])
        return self._sensitivity[key]

    def state(self) -> dict[str, Any]:
        """What the explorer shows, as plain values (for tests, and for printing in a notebook)."""
        return dict(dataset=self.dataset.value, polarization=self.polarization.value, index=self.index,
                    n_samples=len(self._indices), method=self.method.value,
                    target=None if self.index is None else self.target_class(),
                    threshold=float(self.threshold.value), opacity=float(self.opacity.value),
                    metrics=self.sample_metrics(), last_update_s=self.last_update_s)

    # ------------------------------------------------------------------ callbacks
    def _on_dataset(self, change: dict | None = None) -> None:
        if self._hold:
            return
        src = self.source
        self._hold = True
        try:
            keep = self.polarization.value
            options = [(POLARIZATION_LABELS.get(p, p), p) for p in src.model_polarizations]
            self.polarization.options = options
            self.polarization.value = keep if keep in src.model_polarizations else src.model_polarizations[0]
            self.class_filter.options = [("all classes", ALL_CLASSES)] + [(c, k) for k, c in enumerate(src.classes)]
            self.class_filter.value = ALL_CLASSES
            self.target.options = [("predicted class", PREDICTED)] + [(c, k) for k, c in enumerate(src.classes)]
            self.target.value = PREDICTED
        finally:
            self._hold = False
        self._on_selection()

    def _on_selection(self, change: dict | None = None) -> None:
        if self._hold:
            return
        self._refilter()
        self._on_change()

    def _refilter(self) -> None:
        src = self.source
        keep = src.labels >= 0
        if self.class_filter.value != ALL_CLASSES:
            keep &= src.labels == self.class_filter.value
        if self.misclassified.value:
            keep &= self.probabilities().argmax(axis=1) != src.labels
        self._indices = np.flatnonzero(keep)
        self._hold = True
        try:
            self.sample.max = max(len(self._indices) - 1, 0)
            self.sample.value = min(self.sample.value, self.sample.max)
            self.sample.disabled = len(self._indices) < 2
        finally:
            self._hold = False

    def _on_change(self, change: dict | None = None) -> None:
        if self._hold:
            return
        self._update()

    def _on_sensitivity(self, _button: Any = None) -> None:
        start = time.perf_counter()
        if self.index is not None:
            self.max_sensitivity()
        self._render()
        self.last_update_s = time.perf_counter() - start
        self._set_busy(False, f"({self.last_update_s:.2f} s)")

    def _update(self) -> None:
        start = time.perf_counter()
        try:
            self._render()
        except Exception as err:  # show the error in the explorer rather than losing it in the kernel log
            self.status.value = f"<span style='color:#b00'>&#9888; {html.escape(type(err).__name__)}: " \
                                f"{html.escape(str(err))}</span>"
            raise
        self.last_update_s = time.perf_counter() - start
        self._set_busy(False, f"({self.last_update_s:.2f} s)")

    # ------------------------------------------------------------------ drawing
    def figure(self) -> Figure:
        """The current picture as a matplotlib Figure: the scene in dB, the map over it (with the WSOL box and the
        ground truth), and the class probabilities; the explorer's one Figure, updated in place at every change."""
        pic, n_classes = self._picture, len(self.source.classes)
        if pic is None or len(pic.probabilities) != n_classes:  # the first drawing, or another number of bars
            pic = self._picture = self._build_figure(n_classes)
        self._fit_layout(pic)
        self._update_figure(pic)
        return pic.figure

    def _build_figure(self, n_classes: int) -> _Picture:
        """The axes, colour bars and artists, with placeholder data and ``n_classes`` probability bars (in the
        explorer's Figure: only the first call creates one)."""
        if self._picture is None:
            fig = Figure(figsize=(13, 4), dpi=self.dpi)  # fixed axes: a layout engine would double the drawing time
            FigureCanvasAgg(fig)
        else:
            fig = self._picture.figure
            fig.clear()
        axes = [fig.add_axes(box) for box in _AXES_BOXES]
        bars = [fig.add_axes(box) for box in _COLORBAR_BOXES]
        blank = np.ones((1, 1), np.float32)
        scene = viz.show_db(axes[0], blank, "", 0.0, 1.0, colorbar=False)
        overlay = viz.show_attribution(axes[1], np.zeros((1, 1)), blank, "", signed=False, db_range=(0.0, 1.0),
                                       colorbar=False)
        for ax in axes[:2]:  # the view is the image extent (_fit_layout): contours and boxes must not move it
            ax.set_autoscale_on(False)
        boxes = []
        for color in ("tab:green", "cyan"):  # the ground-truth box, then the WSOL box (the legend's order)
            viz.draw_box(axes[1], np.zeros(4), color=color)
            boxes.append(axes[1].patches[-1])
        probabilities = axes[2].barh(np.arange(n_classes), np.zeros(n_classes), color="tab:gray")
        axes[2].invert_yaxis()
        axes[2].set_xlim(0, 1)
        axes[2].set(xlabel="probability")
        axes[2].set_title("", fontsize=9)
        message = fig.text(0.5, 0.5, "no scene matches the filter", ha="center", va="center", fontsize=12,
                           transform=axes[1].transAxes, visible=False)
        return _Picture(fig, axes, scene, axes[1].images[0], overlay, fig.colorbar(scene, cax=bars[0]),
                        fig.colorbar(overlay, cax=bars[1]), boxes[0], boxes[1], probabilities, message)

    def _fit_layout(self, pic: _Picture) -> None:
        """Fit the images and their views to the size of the selected source's scenes, and the probability axis'
        labels to its classes, when they changed (a dataset switch)."""
        src = self.source
        shape = tuple(src.intensity.shape[-2:])
        if shape != pic.shape:
            height, width = shape
            extent = (-0.5, width - 0.5, height - 0.5, -0.5)  # imshow's, with pixel centres on integers
            for image in (pic.scene, pic.background, pic.overlay):
                image.set_extent(extent)
            for ax in pic.axes[:2]:
                ax.set_xlim(extent[:2])
                ax.set_ylim(extent[2:])
            pic.shape = shape
        if tuple(src.classes) != pic.classes:
            pic.axes[2].set_yticks(np.arange(len(src.classes)), src.classes, fontsize=8)
            pic.classes = tuple(src.classes)

    def _update_figure(self, pic: _Picture) -> None:
        """Put the selected state into the artists, or the "no scene matches" message when there is none."""
        src, index = self.source, self.index
        for ax in pic.figure.axes:
            ax.set_visible(index is not None)
        pic.message.set_visible(index is None)
        if index is None:
            return
        channels = channel_indices(self.polarization.value, src.polarizations)
        shown = src.intensity[index][channels[0]]  # the first channel under the map (VV for the dual-pol model)
        shown_name = src.polarizations[channels[0]]
        low, high = viz.db_limits(shown)
        db = sar.to_db(shown)
        for image in (pic.scene, pic.background):
            image.set_data(db)
            image.set_clim(low, high)
        pic.axes[0].title.set_text(f"{src.classes[int(src.labels[index])]} (scene {index}), {shown_name} in dB")
        _set_colorbar_label(pic.scene_bar, f"{shown_name} backscatter (dB)")
        attribution = self.attribution()
        method = METHODS[self.method.value]
        self._update_map(pic, attribution, method.signed)
        pic.axes[1].title.set_text(f"{method.title} for '{src.classes[self.target_class()]}'")
        self._update_evidence(pic, index, attribution)
        self._update_probabilities(pic, index)

    def _update_map(self, pic: _Picture, attribution: np.ndarray, signed: bool) -> None:
        """Show ``attribution`` as :func:`viz.show_attribution` does: colormap and limits of :func:`viz.map_norm`,
        each pixel's opacity the map opacity x sqrt(|attribution| / limit)."""
        attr = np.asarray(attribution, dtype=np.float64)
        cmap, norm = viz.map_norm(attr, signed)
        if signed != pic.signed:
            pic.overlay.set_cmap(cmap)
            _set_colorbar_label(pic.map_bar, "attribution (+ for, - against)" if signed else "attribution")
            pic.signed = signed
        pic.overlay.set_data(attr)
        pic.overlay.set_clim(norm.vmin, norm.vmax)
        strength = np.clip(np.abs(attr) / max(abs(norm.vmax), abs(norm.vmin)), 0.0, 1.0)
        pic.overlay.set_alpha(float(self.opacity.value) * np.sqrt(strength))

    def _update_evidence(self, pic: _Picture, index: int, attribution: np.ndarray) -> None:
        """Draw the ground truth (evidence-mask contour, true or approximate box) and the WSOL box of ``attribution``
        over the map, with a legend of the boxes shown."""
        src = self.source
        contour_key = (src.name, index) if src.masks is not None else None
        if contour_key != pic.contour_key:  # a contour set cannot be updated: drawn anew for another scene
            if pic.contour is not None:
                pic.contour.remove()
            pic.contour = None if src.masks is None else pic.axes[1].contour(
                src.masks[index], levels=[0.5], colors="tab:green", linewidths=0.8)
            pic.contour_key = contour_key
        _place_box(pic.true_box, None if src.boxes is None else np.asarray(src.boxes[index]),
                   "approx. box" if src.approximate else "true box")
        _place_box(pic.wsol_box, self.box(attribution), f"box at {self.threshold.value:.2f}")
        shown = [box for box in (pic.true_box, pic.wsol_box) if box.get_visible()]
        labels = tuple(box.get_label() for box in shown)
        if labels != pic.legend_labels:
            legend = pic.axes[1].get_legend()
            if legend is not None:
                legend.remove()
            if shown:
                pic.axes[1].legend(handles=shown, loc="lower right", fontsize=7, framealpha=0.7)
            pic.legend_labels = labels

    def _update_probabilities(self, pic: _Picture, index: int) -> None:
        """Set the bars to the sample's class probabilities (green: true class, red: prediction, grey: the rest)."""
        src = self.source
        probs = self.probabilities()[index]
        label, predicted = int(src.labels[index]), int(probs.argmax())
        for k, (bar, p) in enumerate(zip(pic.probabilities.patches, probs, strict=True)):
            bar.set_width(p)
            bar.set_facecolor("tab:green" if k == label else ("tab:red" if k == predicted else "tab:gray"))
        pol = self.polarization.value
        pic.axes[2].title.set_text(f"{POLARIZATION_LABELS.get(pol, pol)} model predicts {src.classes[predicted]}\n"
                                   "(green: true class, red: prediction)")

    def _render(self) -> None:
        """Draw the current state into the image widget (PNG) and the sample's metrics into the table."""
        fig = self.figure()
        buffer = io.BytesIO()
        fig.canvas.print_png(buffer)
        self.image.value = buffer.getvalue()
        self.info.value = self._metrics_html()

    def _metrics_html(self) -> str:
        index = self.index
        if index is None:
            return "<i>No scene matches the filter: clear 'misclassified only' or pick another class.</i>"
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v:.3f}</td></tr>"
                       for k, v in self.sample_metrics().items())
        note = "" if any(k == "Max-Sensitivity" for k in self.sample_metrics()) else \
            "<tr><td colspan=2><i>Max-Sensitivity: press the button</i></td></tr>"
        source_note = f"<br><small>{html.escape(self.source.note)}</small>" if self.source.note else ""
        return (f"<table class='sarxai-explorer-metrics'><tr><th>this sample</th><th></th></tr>{rows}{note}</table>"
                f"<small>{len(self._indices)} scenes match the filter; scene intensity shown in dB "
                f"(window {sar.DB_MIN:.0f} to {sar.DB_MAX:.0f} dB for the model).</small>{source_note}")


def try_it(function: Callable[..., Any], **controls: W.ValueWidget) -> W.interactive:
    """A lesson's "try it" cell: call ``function`` once with the controls' current values (so a non-interactive run,
    papermill's, executes and keeps its output), then return an ipywidgets ``interactive`` that calls it again with
    the new values when the learner presses "Run" (manual, because each call may compute for seconds)."""
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    if not controls:
        raise ValueError("try_it needs at least one control (a keyword argument that is a widget)")
    bad = [name for name, control in controls.items() if not isinstance(control, W.ValueWidget)]
    if bad:
        raise TypeError(f"controls {bad} are not ipywidgets value widgets (IntSlider, Dropdown, ...)")
    function(**{name: control.value for name, control in controls.items()})
    return W.interactive(function, {"manual": True, "manual_name": "Run"}, **controls)
