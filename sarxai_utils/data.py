"""The course's public data API: the embedded SAR datasets (cached on disk) and the real-data readers.

``synthetic_urban`` and ``synthetic_targets`` are deterministic functions of (size, count, seed); they are
generated once and then loaded from ``<data dir>/cache``. ``OpenSARUrban``, ``MSTARFolder`` and
``read_mstar`` read the real datasets from disk (nothing is ever downloaded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import config
from .cache import cached_arrays
from .readers import MSTARFolder, OpenSARUrban, read_image, read_mstar, write_mstar
from .synthetic import (
    TARGET_CLASSES,
    URBAN_CLASSES,
    SyntheticSAR,
    generator_version,
    mask_box,
    render_target,
    render_urban,
)

__all__ = [
    "MSTARFolder",
    "OpenSARUrban",
    "SyntheticSAR",
    "TARGET_CLASSES",
    "URBAN_CLASSES",
    "read_image",
    "read_mstar",
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


def _generate(kind: str, n_per_class: int, size: int, seed: int, looks: float, keep_clean: bool,
              speckle_seed: int | None, progress: bool) -> dict[str, np.ndarray]:
    n_classes = len(URBAN_CLASSES if kind == "urban" else TARGET_CLASSES)
    n = n_classes * n_per_class
    channels = 2 if kind == "urban" else 1
    out = {
        "images": np.empty((n, channels, size, size), np.float32),
        "labels": (np.arange(n) % n_classes).astype(np.int64),  # interleaved: any prefix has every class
        "masks": np.empty((n, size, size), bool),
    }
    if keep_clean:
        out["clean"] = np.empty_like(out["images"])
    if kind == "targets":
        out["shadow_masks"] = np.empty((n, size, size), bool)
        out["boxes"] = np.empty((n, 4), np.int64)
    for i in tqdm(range(n), desc=f"generating {kind} ({size}x{size})", disable=not progress, leave=False):
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
             speckle_seed: int | None, cache: bool | str | Path | None, progress: bool) -> SyntheticSAR:
    params = dict(version=generator_version(), n_per_class=int(n_per_class), size=int(size), seed=int(seed),
                  looks=float(looks), keep_clean=bool(keep_clean), speckle_seed=speckle_seed)
    arrays = cached_arrays(
        _cache_dir(cache), f"synthetic-{kind}", params,
        lambda: _generate(kind, n_per_class, size, seed, looks, keep_clean, speckle_seed, progress),
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
                    cache: bool | str | Path | None = True, progress: bool = True) -> SyntheticSAR:
    """OpenSARUrban-like scenes of the ten urban classes: ``.images`` float32 (N, 2, H, W) linear intensity
    [VV, VH], ``.labels`` int64 (N,), ``.masks`` bool (N, H, W) evidence, ``.classes`` (10 names).

    ``speckle_seed`` re-renders the same scenes with another speckle realisation; ``keep_clean`` also
    returns ``.clean``, the scenes before speckle. Results are cached under the data directory.
    """
    _check_args(n_per_class, size, seed, looks, minimum_size=32)
    return _dataset("urban", n_per_class, size, seed, looks, keep_clean, speckle_seed, cache, progress)


def synthetic_targets(n_per_class: int, size: int = 128, seed: int = 0, *, looks: float = 1.0,
                      keep_clean: bool = False, speckle_seed: int | None = None,
                      cache: bool | str | Path | None = True, progress: bool = True) -> SyntheticSAR:
    """MSTAR-like chips of ten generic vehicle-like classes: ``.images`` float32 (N, 1, H, W) linear
    intensity, ``.labels`` int64 (N,), ``.boxes`` int64 (N, 4) inclusive x0, y0, x1, y1, ``.masks`` bool
    (N, H, W) target, ``.shadow_masks`` bool (N, H, W) radar shadow, ``.classes`` (10 names).
    """
    _check_args(n_per_class, size, seed, looks, minimum_size=48)
    return _dataset("targets", n_per_class, size, seed, looks, keep_clean, speckle_seed, cache, progress)


TEST_SEED_OFFSET = 10_000  # held-out scenes come from other seeds than the training scenes


def embedded_split(profile: config.Profile, dataset: str = "urban", keep_clean: bool = False,
                   progress: bool = True) -> tuple[SyntheticSAR, SyntheticSAR]:
    """The course's train and held-out test sets for a profile: ``dataset`` is "urban" or "targets".

    Training scenes use ``profile.seed``, test scenes ``profile.seed + TEST_SEED_OFFSET``: no scene is in both.
    ``keep_clean`` keeps the clean training scenes (for fresh-speckle augmentation).
    """
    make, size = _embedded(profile, dataset)
    train = make(profile.n_train_per_class, size, seed=profile.seed, keep_clean=keep_clean, progress=progress)
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
