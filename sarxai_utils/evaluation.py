"""Score many attribution methods on the same images with every metric of :mod:`.metrics`, and print the tables.

``score_methods(model, images, targets, masks)`` explains the images once per method, then computes per image
Max-Sensitivity (reusing those maps), XAI entropy, Shannon entropy, the four ground-truth metrics against the
evidence masks and the four deletion / insertion AUCs. Reference maps (a random map, the evidence mask itself)
can be scored alongside, to show the chance level and the best possible value of each map-based metric.

``score_sensitivities(model, scenes, targets, methods, polarization)`` scores robustness three ways (lesson 12):
the paper's Max-Sensitivity (additive uniform noise), speckle sensitivity (a fresh speckle realisation of the same
clean scene) and Gamma sensitivity (multiplicative L-look noise on the observed image), reusing each method's maps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import config, metrics, results
from .datasets import model_input
from .explain import METHODS, PAPER_METHODS, explain_cached, model_device, num_classes, target_tensor


@dataclass(frozen=True)
class MetricInfo:
    """How to read one metric: its column title, whether lower or higher is better, and what it measures."""

    name: str
    title: str
    better: str  # "lower" or "higher"
    family: str  # robustness, complexity, ground truth or faithfulness
    meaning: str


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("max_sensitivity", "Max-Sens.", "lower", "robustness",
                   "largest relative change of the map under +-0.02 uniform input noise (Su et al. Eq. 4)"),
        MetricInfo("speckle_sensitivity", "Speckle-Sens.", "lower", "robustness",
                   "largest relative change of the map when the scene is observed with fresh speckle (another look)"),
        MetricInfo("gamma_sensitivity", "Gamma-Sens.", "lower", "robustness",
                   "largest relative change of the map under multiplicative L-look Gamma noise on the image"),
        MetricInfo("xai_entropy_kb", "XAI ent. KB", "lower", "complexity",
                   "size of the map's PNG picture: how much a viewer must take in"),
        MetricInfo("shannon_entropy", "Shannon bits", "lower", "complexity",
                   "entropy of |map| as a distribution over pixels"),
        MetricInfo("relevance_mass", "Rel. mass", "higher", "ground truth",
                   "share of positive relevance on the evidence mask"),
        MetricInfo("relevance_rank", "Rel. rank", "higher", "ground truth",
                   "share of the K most relevant pixels on the evidence (K = mask size)"),
        MetricInfo("pointing_game", "Pointing", "higher", "ground truth",
                   "whether the most relevant pixel is on the evidence"),
        MetricInfo("energy_pointing_game", "Energy PG", "higher", "ground truth",
                   "share of positive relevance inside the evidence's bounding box"),
        MetricInfo("deletion_morf_auc", "Del. MoRF", "lower", "faithfulness",
                   "AUC of the class probability while the most relevant pixels are replaced by clutter"),
        MetricInfo("deletion_lerf_auc", "Del. LeRF", "higher", "faithfulness",
                   "AUC while the least relevant pixels are replaced first"),
        MetricInfo("insertion_morf_auc", "Ins. MoRF", "higher", "faithfulness",
                   "AUC while the most relevant pixels are put back first onto a blurred copy"),
    )
}


@dataclass
class MethodScores:
    """One method's (N, H, W) maps of the scored images and its per-image value of every metric, (N,) each
    (Max-Sensitivity is NaN for reference maps, which have no method to perturb)."""

    name: str
    title: str
    maps: np.ndarray
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    curves: dict[str, metrics.PerturbationCurve] = field(default_factory=dict)  # e.g. "deletion_morf"
    seconds: float = math.nan  # wall-clock time spent on this method (score_sensitivities records it)

    def mean(self, metric: str) -> float:
        """The mean of ``metric`` over the images (NaN if it was not computed)."""
        values = self.scores.get(metric)
        return float(np.mean(values)) if values is not None and len(values) else math.nan


def _maps(model: nn.Module, images: torch.Tensor, target: torch.Tensor, name: str, opts: Mapping[str, Any],
          cache: bool, recompute: bool) -> torch.Tensor:
    """The (N, H, W) maps of method ``name`` on the CPU, from the results cache when ``cache`` (lessons 08 and 12
    explain the same scenes with the same model: the second one loads them)."""
    return explain_cached(model, images, target, name, recompute=recompute, enabled=cache, **opts)


def _numpy(function: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    """``function(*args, **kwargs)``, a tensor, as a NumPy array (what the results cache stores)."""
    return function(*args, **kwargs).numpy()


def _max_sensitivity(model: nn.Module, images: torch.Tensor, target: torch.Tensor, name: str, opts: Mapping[str, Any],
                     radius: float, n_samples: int, seed: int, maps: torch.Tensor, cache: bool,
                     recompute: bool) -> np.ndarray:
    """Max-Sensitivity of method ``name`` per image, reusing its ``maps``; one results-cache entry, shared by
    :func:`score_methods` and :func:`score_sensitivities` (the same key in both)."""
    key = {"model": model, "images": images, "target": target, "options": dict(opts), "radius": radius,
           "n_samples": n_samples, "seed": seed}
    return results.cached(f"max-sensitivity, {name}", partial(
        _numpy, metrics.max_sensitivity, model, images, target, name, radius=radius, n_samples=n_samples, seed=seed,
        maps=maps, progress=False, **opts), key, enabled=cache, recompute=recompute)


GROUND_TRUTH: tuple[str, ...] = ("relevance_mass", "relevance_rank", "pointing_game", "energy_pointing_game")


def _map_scores(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, masks: np.ndarray | None,
                maps: np.ndarray,
                signed: bool | None, steps: int, fill: Any, insertion_fill: Any, looks: float, seed: int
                ) -> tuple[dict[str, np.ndarray], dict[str, metrics.PerturbationCurve]]:
    """Every metric that needs only the maps (and forward passes of the model), and the three curves; the
    ground-truth metrics only when there are ``masks``."""
    scores = {
        "xai_entropy_kb": metrics.xai_entropy_kb(maps, signed=signed),
        "shannon_entropy": metrics.map_entropy(maps),
    }
    if masks is not None:
        scores.update({
            "relevance_mass": metrics.relevance_mass_accuracy(maps, masks),
            "relevance_rank": metrics.relevance_rank_accuracy(maps, masks),
            "pointing_game": metrics.pointing_game(maps, masks),
            "energy_pointing_game": metrics.energy_pointing_game(maps, masks),
        })
    # With one fill, insertion MoRF would visit deletion LeRF's images in reverse (the same AUC): insertion
    # starts from its own fill (a blurred copy, as Petsiuk et al.) so that it adds information.
    curves = {"deletion_morf": metrics.deletion_curve(model, images, targets, maps, "morf", steps, fill, looks, seed,
                                                      progress=False),
              "deletion_lerf": metrics.deletion_curve(model, images, targets, maps, "lerf", steps, fill, looks, seed,
                                                      progress=False),
              "insertion_morf": metrics.insertion_curve(model, images, targets, maps, "morf", steps, insertion_fill,
                                                        looks, seed, progress=False)}
    scores.update({f"{name}_auc": curve.auc for name, curve in curves.items()})
    return scores, curves


def score_methods(model: nn.Module, images: torch.Tensor, targets: Any, masks: np.ndarray | None,
                  methods: Sequence[str] = PAPER_METHODS, reference_maps: Mapping[str, np.ndarray] | None = None,
                  sens_samples: int = 10, radius: float = 0.02, steps: int = 20, fill: Any = "clutter",
                  insertion_fill: Any = "blur", looks: float = 4.4, seed: int = 0,
                  options: Mapping[str, dict[str, Any]] | None = None,
                  progress: bool = True, cache: bool = False, recompute: bool = False,
                  label: str = "scores") -> dict[str, MethodScores]:
    """Explain (N, C, H, W) ``images`` for ``targets`` with every method and score each map with every metric of
    ``METRICS`` against the boolean (N, H, W) evidence ``masks`` (None for data without masks, such as real
    OpenSARUrban: the :data:`GROUND_TRUTH` metrics are then left out); ``reference_maps[name]`` (N, H, W) are scored
    the same way except for Max-Sensitivity. ``options[method]`` go to ``explain`` (and to Max-Sensitivity).
    Deletion uses ``steps`` steps and ``fill`` (SAR clutter of ``looks`` looks by default); insertion starts from
    ``insertion_fill`` (a blurred copy by default, since from the same fill it would repeat deletion LeRF).
    With ``cache`` every method's maps, its Max-Sensitivity and its map scores are separate entries of the results
    cache (:mod:`.results`), so a changed setting recomputes only what depends on it (one line, headed ``label``,
    says what was loaded); ``recompute`` ignores the entries. Returns name -> :class:`MethodScores`, methods first,
    in order.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods {unknown} are not in explain.METHODS ({list(METHODS)})")
    shape = (len(images), *images.shape[-2:])
    if masks is not None:
        masks = np.asarray(masks)
        if masks.shape != shape:
            raise ValueError(f"masks must be (N, H, W) = {shape} or None, got {masks.shape}")
    options = dict(options or {})
    target = target_tensor(targets, len(images), num_classes(model, images[:1]), torch.device("cpu"))
    for name, maps in (reference_maps or {}).items():
        if np.shape(maps) != shape:
            raise ValueError(f"reference_maps[{name!r}] must be (N, H, W) = {shape}, got {np.shape(maps)}")
    settings = {"model": model, "images": images, "target": target, "masks": masks, "steps": steps, "fill": fill,
                "insertion_fill": insertion_fill, "looks": looks, "seed": seed}

    def scored(name: str, maps: np.ndarray, signed: bool | None) -> tuple[dict, dict]:
        return results.cached(f"map scores, {name}", lambda: _map_scores(
            model, images, target, masks, maps, signed, steps, fill, insertion_fill, looks, seed),
            {**settings, "maps": maps, "signed": signed}, enabled=cache, recompute=recompute)

    out: dict[str, MethodScores] = {}
    with results.collect(label, verbose=cache):
        for name in tqdm(list(methods), desc="scoring methods", disable=not config.show_progress(progress), leave=False,
                         delay=config.PROGRESS_DELAY_S):
            opts = options.get(name, {})
            maps_t = _maps(model, images, target, name, opts, cache, recompute)
            sens = _max_sensitivity(model, images, target, name, opts, radius, sens_samples, seed, maps_t, cache,
                                    recompute)
            more, curves = scored(name, maps_t.numpy(), METHODS[name].signed)
            out[name] = MethodScores(name, METHODS[name].title, maps_t.numpy(), {"max_sensitivity": sens, **more},
                                     curves)
        for name, maps in (reference_maps or {}).items():
            maps = np.asarray(maps, dtype=np.float64)
            more, curves = scored(name, maps, None)
            out[name] = MethodScores(name, name, maps, {"max_sensitivity": np.full(len(maps), np.nan), **more},
                                     curves)
    return out


SENSITIVITIES: tuple[str, ...] = ("max_sensitivity", "speckle_sensitivity", "gamma_sensitivity")  # keys of METRICS


def score_sensitivities(model: nn.Module, scenes: Any, targets: Any, methods: Sequence[str] = PAPER_METHODS,
                        polarization: str | Sequence[str] = "VV", n_samples: int = 10, radius: float = 0.02,
                        looks: float | None = None, seed: int = 0,
                        options: Mapping[str, dict[str, Any]] | None = None,
                        progress: bool = True, cache: bool = False, recompute: bool = False,
                        label: str = "sensitivities") -> dict[str, MethodScores]:
    """Robustness of every method three ways on the ``polarization`` channels of a dataset ``scenes``: per image,
    ``max_sensitivity`` (additive uniform noise of ``radius``), ``speckle_sensitivity`` (fresh speckle of the clean
    scene; only for generated scenes with ``.clean``, ``keep_clean=True``: real scenes have none, and the column is
    left out) and ``gamma_sensitivity`` (the image times L-look Gamma noise), each over ``n_samples`` perturbations
    (``looks`` defaults to the scenes' own). Every method is explained once and its maps reused by every column;
    ``options[method]`` go to ``explain``. Returns name -> :class:`MethodScores` (maps (N, H, W), scores (N,) each,
    ``seconds`` spent computing), in the order of ``methods``. ``cache`` and ``recompute`` as in
    :func:`score_methods`: maps and each column are separate entries of the results cache (the maps and
    Max-Sensitivity that lesson 08 computed for the same scenes and settings are loaded).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods {unknown} are not in explain.METHODS ({list(METHODS)})")
    noises = ("speckle", "gamma") if getattr(scenes, "clean", None) is not None else ("gamma",)
    x = model_input(scenes, polarization)
    device, _ = model_device(model)
    target = target_tensor(targets, len(x), num_classes(model, x[:1].to(device)), torch.device("cpu"))
    options = dict(options or {})
    key = {"model": model, "images": x, "target": target, "radius": radius, "n_samples": n_samples, "seed": seed}
    scene_key = {"looks": looks, "polarization": polarization, "clean": getattr(scenes, "clean", None),
                 "scene_looks": getattr(scenes, "looks", None)}
    out: dict[str, MethodScores] = {}
    with results.collect(label, verbose=cache):
        for name in tqdm(list(methods), desc="sensitivities", disable=not config.show_progress(progress), leave=False,
                         delay=config.PROGRESS_DELAY_S):
            opts = options.get(name, {})
            with results.collect(name, verbose=False) as spent:
                maps = _maps(model, x, target, name, opts, cache, recompute)
                scores = {"max_sensitivity": _max_sensitivity(model, x, target, name, opts, radius, n_samples,
                                                              seed, maps, cache, recompute)}
                for noise in noises:
                    scores[f"{noise}_sensitivity"] = results.cached(
                        f"{noise}-sensitivity, {name}", partial(
                            _numpy, metrics.speckle_sensitivity, model, scenes, target, name, n_samples, noise=noise,
                            looks=looks, polarization=polarization, seed=seed, maps=maps, progress=False, **opts),
                        {**key, **scene_key, "options": dict(opts)}, enabled=cache, recompute=recompute)
            out[name] = MethodScores(name, METHODS[name].title, maps.numpy(), scores,
                                     seconds=sum(e.seconds for e in spent))
    return out


def format_table(results: Mapping[str, MethodScores], columns: Sequence[str],
                 extra: Mapping[str, Mapping[str, float]] | None = None, digits: int = 3) -> str:
    """A plain-text table: one row per entry of ``results`` with the mean of each metric in ``columns`` (names of
    ``METRICS``), then the ``extra`` columns (title -> row name -> value, e.g. the paper's numbers); the best
    method of each metric column (lower or higher, as ``METRICS`` says) is marked with a star. Reference rows (names
    that are not methods of ``explain.METHODS``: the random map, the evidence mask) are shown but never starred."""
    unknown = [c for c in columns if c not in METRICS]
    if unknown:
        raise ValueError(f"columns {unknown} are not metrics of evaluation.METRICS ({list(METRICS)})")
    extra = dict(extra or {})
    width = max([len(r.title) for r in results.values()] + [8]) + 2
    head = f"{'method':<{width}}" + "".join(f" {METRICS[c].title:>13}" for c in columns) + \
        "".join(f" {t:>13}" for t in extra)
    arrows = f"{'':<{width}}" + "".join(f" {'(' + METRICS[c].better + ')':>13}" for c in columns) + \
        "".join(f" {'':>13}" for _ in extra)
    best = {}
    for c in columns:
        means = {k: r.mean(c) for k, r in results.items() if r.name in METHODS and not math.isnan(r.mean(c))}
        if means:
            pick = min if METRICS[c].better == "lower" else max
            best[c] = pick(means.values())
    lines = [head, arrows]
    for key, r in results.items():
        cells = []
        for c in columns:
            value = r.mean(c)
            mark = "*" if c in best and value == best[c] and r.name in METHODS else " "
            cells.append(f"{'-':>13} " if math.isnan(value) else f"{value:>13.{digits}f}{mark}")
        for column in extra.values():
            value = column.get(key, math.nan)
            cells.append(f"{'-':>14}" if math.isnan(value) else f"{value:>14.{digits}f}")
        lines.append(f"{r.title:<{width}}" + "".join(cells))
    return "\n".join(lines)
