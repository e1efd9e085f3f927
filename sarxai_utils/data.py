"""The course's public data API: the embedded SAR datasets (cached on disk) and the real-data readers.

``synthetic_urban`` and ``synthetic_targets`` are deterministic functions of (size, count, seed); they are
generated once and then loaded from ``<data dir>/cache``. ``OpenSARUrban``, ``MSTARFolder`` and
``read_mstar`` read the real datasets from disk (nothing is ever downloaded). ``lesson_data`` is the one door
through which lessons get their data, embedded or real (:mod:`.sources`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import config
from .cache import cached_arrays
from .readers import (
    OPENSARURBAN_CONFUSABLE,
    OPENSARURBAN_VV_COUNTS,
    MSTARFolder,
    OpenSARUrban,
    read_image,
    read_mstar,
    write_mstar,
)
from .sources import RealSAR, describe, lesson_data
from .synthetic import (
    TARGET_CLASSES,
    URBAN_CLASSES,
    SyntheticSAR,
    class_sequence,
    generator_version,
    mask_box,
    render_target,
    render_urban,
    render_urban_background,
)

__all__ = [
    "OPENSARURBAN_CONFUSABLE",
    "MSTARFolder",
    "OpenSARUrban",
    "RealSAR",
    "SyntheticSAR",
    "TARGET_CLASSES",
    "URBAN_CLASSES",
    "describe",
    "lesson_data",
    "read_image",
    "read_mstar",
    "replace_region",
    "synthetic_targets",
    "synthetic_urban",
    "write_mstar",
]

_DEFAULT = object()


def _check_args(n_per_class: int, size: int, seed: int, looks: float, minimum_size: int) -> None:
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    if not isinstance(size, (int, np.integer)) or size < minimum_size:
        raise ValueError(f"size must be an integer >= {minimum_size} pixels, got {size!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not (isinstance(looks, (int, float)) and np.isfinite(looks) and looks > 0):
        raise ValueError(f"looks must be a positive number, got {looks!r}")


def _cache_dir(cache: bool | str | Path | None) -> Path | None:
    if cache is False or cache is None:
        return None
    if cache is True:
        return config.data_dir() / "cache"
    return Path(cache)


PROPORTIONS: tuple[str, ...] = ("balanced", "opensarurban")


def _check_proportions(proportions: str) -> None:
    if proportions not in PROPORTIONS:
        raise ValueError(f"proportions must be one of {PROPORTIONS}, got {proportions!r}")


def class_counts(n_per_class: int, proportions: str = "balanced") -> np.ndarray:
    """Samples per urban class for ``10 * n_per_class`` scenes: equal, or in OpenSARUrban's published proportions
    (``readers.OPENSARURBAN_VV_COUNTS``, largest remainders, at least one scene per class)."""
    _check_proportions(proportions)
    k = len(URBAN_CLASSES)
    if proportions == "balanced":
        return np.full(k, n_per_class, np.int64)
    total = k * n_per_class
    if total < k:
        raise ValueError(f"n_per_class={n_per_class} gives fewer scenes than classes")
    share = np.array([OPENSARURBAN_VV_COUNTS[c] for c in URBAN_CLASSES], np.float64)
    exact = 1 + share / share.sum() * (total - k)  # one scene per class, the rest in proportion
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact)[: total - counts.sum()]] += 1  # largest remainders
    return counts


def _generate(kind: str, n_per_class: int, size: int, seed: int, looks: float, keep_clean: bool,
              speckle_seed: int | None, progress: bool, proportions: str = "balanced") -> dict[str, np.ndarray]:
    n_classes = len(URBAN_CLASSES if kind == "urban" else TARGET_CLASSES)
    if proportions == "balanced":
        labels = (np.arange(n_classes * n_per_class) % n_classes).astype(np.int64)  # any prefix has every class
    else:
        labels = class_sequence(class_counts(n_per_class, proportions))
    n = labels.size
    channels = 2 if kind == "urban" else 1
    out = {
        "images": np.empty((n, channels, size, size), np.float32),
        "labels": labels,
        "masks": np.empty((n, size, size), bool),
    }
    if keep_clean:
        out["clean"] = np.empty_like(out["images"])
    if kind == "targets":
        out["shadow_masks"] = np.empty((n, size, size), bool)
        out["boxes"] = np.empty((n, 4), np.int64)
    for i in tqdm(range(n), desc=f"generating {kind} ({size}x{size})", disable=not config.show_progress(progress),
                  leave=False, delay=config.PROGRESS_DELAY_S):
        label = int(out["labels"][i])
        if kind == "urban":
            image, clean, mask = render_urban(label, size, seed, i, looks, speckle_seed)
        else:
            image, clean, mask, shadow = render_target(label, size, seed, i, looks, speckle_seed)
            out["shadow_masks"][i] = shadow
            out["boxes"][i] = mask_box(mask)
        out["images"][i] = image
        out["masks"][i] = mask
        if keep_clean:
            out["clean"][i] = clean
    return out


def _dataset(kind: str, n_per_class: int, size: int, seed: int, looks: float, keep_clean: bool,
             speckle_seed: int | None, cache: bool | str | Path | None, progress: bool,
             proportions: str = "balanced") -> SyntheticSAR:
    params = dict(version=generator_version(), n_per_class=int(n_per_class), size=int(size), seed=int(seed),
                  looks=float(looks), keep_clean=bool(keep_clean), speckle_seed=speckle_seed)
    if proportions != "balanced":  # balanced sets keep the keys they always had
        params["proportions"] = proportions
    arrays = cached_arrays(
        _cache_dir(cache), f"synthetic-{kind}", params,
        lambda: _generate(kind, n_per_class, size, seed, looks, keep_clean, speckle_seed, progress, proportions),
    )
    return SyntheticSAR(
        images=arrays["images"],
        labels=arrays["labels"],
        masks=arrays["masks"],
        classes=list(URBAN_CLASSES if kind == "urban" else TARGET_CLASSES),
        polarizations=("VV", "VH") if kind == "urban" else ("HH",),
        params={"kind": kind, **params},
        boxes=arrays.get("boxes"),
        shadow_masks=arrays.get("shadow_masks"),
        clean=arrays.get("clean"),
    )


def synthetic_urban(n_per_class: int, size: int = 100, seed: int = 0, *, looks: float = 4.4,
                    keep_clean: bool = False, speckle_seed: int | None = None,
                    cache: bool | str | Path | None = True, progress: bool = True,
                    proportions: str = "balanced") -> SyntheticSAR:
    """OpenSARUrban-like scenes of the ten urban classes: ``.images`` float32 (N, 2, H, W) linear intensity
    [VV, VH], ``.labels`` int64 (N,), ``.masks`` bool (N, H, W) evidence, ``.classes`` (10 names).

    ``speckle_seed`` re-renders the same scenes with another speckle realisation; ``keep_clean`` also
    returns ``.clean``, the scenes before speckle. ``proportions="opensarurban"`` keeps the total of
    ``10 * n_per_class`` scenes but splits it as OpenSARUrban's released patches are split (:func:`class_counts`).
    Results are cached under the data directory.
    """
    _check_args(n_per_class, size, seed, looks, minimum_size=32)
    _check_proportions(proportions)
    return _dataset("urban", n_per_class, size, seed, looks, keep_clean, speckle_seed, cache, progress,
                    proportions)


def synthetic_targets(n_per_class: int, size: int = 128, seed: int = 0, *, looks: float = 1.0,
                      keep_clean: bool = False, speckle_seed: int | None = None,
                      cache: bool | str | Path | None = True, progress: bool = True) -> SyntheticSAR:
    """MSTAR-like chips of ten generic vehicle-like classes: ``.images`` float32 (N, 1, H, W) linear
    intensity, ``.labels`` int64 (N,), ``.boxes`` int64 (N, 4) inclusive x0, y0, x1, y1, ``.masks`` bool
    (N, H, W) target, ``.shadow_masks`` bool (N, H, W) radar shadow, ``.classes`` (10 names).
    """
    _check_args(n_per_class, size, seed, looks, minimum_size=48)
    return _dataset("targets", n_per_class, size, seed, looks, keep_clean, speckle_seed, cache, progress)


REGIONS: tuple[str, ...] = ("evidence", "background")
BACKGROUND_SEED_OFFSET = 20_000  # the pasted backgrounds come from other seeds than any course scene


def replace_region(dataset: SyntheticSAR, region: str, seed: int = 0, progress: bool = True) -> SyntheticSAR:
    """The urban scenes with one region replaced by class-independent background (another scene's background
    and distractors, with its own speckle): ``region="evidence"`` pastes it over each evidence mask,
    ``"background"`` everywhere else. If the masks hold what makes each class, a trained model falls to about
    chance on the first and keeps its accuracy on the second (``benchmarks/evidence_intervention.py``)."""
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    if dataset.params.get("kind") != "urban" or dataset.images.shape[1] != 2:
        raise ValueError("replace_region needs embedded urban scenes (synthetic_urban), whose masks are the evidence")
    size, looks = int(dataset.images.shape[-1]), float(dataset.params.get("looks", 4.4))
    images = np.array(dataset.images, copy=True)
    base = int(dataset.params.get("seed", 0)) + BACKGROUND_SEED_OFFSET + int(seed)
    for i in tqdm(range(len(dataset)), desc=f"replacing the {region}", disable=not config.show_progress(progress),
                  leave=False, delay=config.PROGRESS_DELAY_S):
        other = render_urban_background(size, base, i, looks)
        where = dataset.masks[i] if region == "evidence" else ~dataset.masks[i]
        images[i][:, where] = other[:, where]
    out = dataset.subset(slice(None))
    out.images, out.clean = images, None
    out.params = {**dataset.params, "replaced": region, "replace_seed": int(seed)}
    return out


TEST_SEED_OFFSET = 10_000  # held-out scenes come from other seeds than the training scenes


def embedded_split(profile: config.Profile, dataset: str = "urban", keep_clean: bool = False,
                   progress: bool = True, proportions: str = "balanced") -> tuple[SyntheticSAR, SyntheticSAR]:
    """The course's train and held-out test sets for a profile: ``dataset`` is "urban" or "targets".

    Training scenes use ``profile.seed``, test scenes ``profile.seed + TEST_SEED_OFFSET``: no scene is in both.
    ``keep_clean`` keeps the clean training scenes (for fresh-speckle augmentation). ``proportions`` splits the
    urban *training* scenes by class ("balanced" or "opensarurban"); the held-out set stays balanced.
    """
    make, size = _embedded(profile, dataset)
    extra = {}
    if proportions != "balanced":
        if dataset != "urban":
            raise ValueError(f"proportions={proportions!r} applies to the urban scenes only, not {dataset!r}")
        extra["proportions"] = proportions
    train = make(profile.n_train_per_class, size, seed=profile.seed, keep_clean=keep_clean, progress=progress,
                 **extra)
    return train, held_out(profile, dataset, progress=progress)


def _embedded(profile: config.Profile, dataset: str):
    if dataset == "urban":
        return synthetic_urban, profile.urban_size
    if dataset == "targets":
        return synthetic_targets, profile.targets_size
    raise ValueError(f"dataset must be 'urban' or 'targets', got {dataset!r}")


def held_out(profile: config.Profile, dataset: str = "urban", keep_clean: bool = False,
             progress: bool = True) -> SyntheticSAR:
    """The held-out test set of :func:`embedded_split` (the same scenes and speckle); ``keep_clean`` also keeps
    ``.clean``, the scenes before speckle, for fresh-speckle perturbations of the held-out scenes (lesson 12)."""
    make, size = _embedded(profile, dataset)
    return make(profile.n_test_per_class, size, seed=profile.seed + TEST_SEED_OFFSET, keep_clean=keep_clean,
                progress=progress)


def round_robin(dataset: SyntheticSAR, n: int) -> SyntheticSAR:
    """The first ``n`` samples taking one of every class in turn (the first of each class in class order, then the
    second of each, ...), so that a few samples cover as many classes as they can."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    labels = np.asarray(dataset.labels)
    place = np.zeros(len(labels), np.int64)  # how many earlier samples share each sample's class
    for k in np.unique(labels):
        place[labels == k] = np.arange((labels == k).sum())
    index = np.lexsort((labels, place))[:n]
    if index.size == 0:
        raise ValueError("round_robin: the dataset is empty")
    return dataset.subset(index)


def per_class(dataset: SyntheticSAR, n_per_class: int) -> SyntheticSAR:
    """The first ``n_per_class`` samples of every class, grouped by class in class order (for galleries and the
    images a lesson explains); a class with fewer samples gives what it has."""
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, int | np.integer) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    picks = [np.flatnonzero(dataset.labels == k)[:n_per_class] for k in range(len(dataset.classes))]
    index = np.concatenate(picks) if picks else np.zeros(0, np.int64)
    if index.size == 0:
        raise ValueError("per_class: the dataset has no samples of any of its classes")
    return dataset.subset(index)
