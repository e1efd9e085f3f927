"""Where a lesson's data come from: the embedded generator or a real dataset on disk, through one function.

``lesson_data(profile, source, kind)`` returns the (train, test) sets every lesson uses. ``source="embedded"`` gives
the generated scenes (:func:`data.embedded_split`); ``"opensarurban"`` and ``"mstar"`` read the real datasets from
the folders :func:`config.real_dataset` finds, split them (MSTAR: 17 degrees for training, 15 for testing, the
standard operating condition; OpenSARUrban, which has no official split: stratified by class), resample them to the
profile's size, bring their median to the embedded data's level with one gain per dataset (a dB offset that keeps
every ratio, VV - VH included) and cache the arrays keyed by a fingerprint of the files (names and sizes).

Real sets carry what the real data has: OpenSARUrban no evidence masks (``masks`` is None); MSTAR target and
shadow masks from mask files when given (``SARXAI_MSTAR_MASKS`` or ``<data dir>/MSTAR_masks``), otherwise from
:func:`localization.segment_target`, an approximation that ``params["masks"]`` names.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import config
from .cache import cached_arrays
from .errors import DataFolderError
from .readers import MSTARFolder, OpenSARUrban

SOURCES: dict[str, tuple[str, ...]] = {"urban": ("embedded", "opensarurban"), "targets": ("embedded", "mstar")}
REAL_NAMES: dict[str, str] = {"opensarurban": "OpenSARUrban", "mstar": "MSTAR"}
# The median dB of the embedded training data (VV for urban scenes): real data are brought to it by one gain.
REFERENCE_MEDIAN_DB: dict[str, float] = {"urban": -12.0, "targets": -19.0}
MASKS_ENV = "SARXAI_MSTAR_MASKS"
READER_VERSION = "2"  # bump when reading, splitting or calibrating real data changes: cached arrays are rebuilt
MSTAR_CHIP = 128  # MSTAR chips are centre-cropped to 128 x 128 (the standard size) before resampling


@dataclass
class RealSAR:
    """A real dataset in the course's arrays: the attributes of ``synthetic.SyntheticSAR``, with ``masks`` None
    where the data have no evidence masks, and the files each sample came from."""

    images: np.ndarray  # float32 (N, C, H, W), linear intensity after the dataset's gain
    labels: np.ndarray  # int64 (N,)
    masks: np.ndarray | None  # bool (N, H, W) or None
    classes: list[str]
    polarizations: tuple[str, ...]
    params: dict = field(default_factory=dict)
    boxes: np.ndarray | None = None
    shadow_masks: np.ndarray | None = None
    clean: np.ndarray | None = None  # real data have no speckle-free scene
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray | list[int] | slice) -> RealSAR:
        """The samples at ``index`` as a new dataset."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        files = list(np.asarray(self.files, dtype=object)[index]) if self.files else []
        return RealSAR(self.images[index], self.labels[index], pick(self.masks), self.classes, self.polarizations,
                       dict(self.params), pick(self.boxes), pick(self.shadow_masks), None, files)


def check_source(source: str, kind: str) -> str:
    """``source`` in lower case if it can feed ``kind`` ("urban" or "targets"), else a ValueError saying what can."""
    if kind not in SOURCES:
        raise ValueError(f"kind must be one of {list(SOURCES)}, got {kind!r}")
    name = str(source).strip().lower()
    if name not in SOURCES[kind]:
        raise ValueError(f"DATA={source!r} cannot feed the {kind} lessons; choose one of {SOURCES[kind]}")
    return name


def real_root(source: str) -> Path:
    """The folder of a real dataset, or a DataFolderError saying where to put it."""
    name = REAL_NAMES[source]
    root = config.real_dataset(name)
    if root is None:
        raise DataFolderError(
            f"DATA={source!r} needs {name} on disk: put it in {config.data_dir(create=False) / name} or set "
            f"SARXAI_{name.upper()} to its folder (nothing is downloaded); see data/README.md for the layouts"
        )
    return root


def fingerprint(paths: list[Path], root: Path, extra: dict | None = None) -> str:
    """A short hash of the files' paths below ``root`` and sizes (and ``extra`` settings): the real dataset's key."""
    digest = hashlib.sha256(json.dumps(extra or {}, sort_keys=True, default=str).encode())
    for path in sorted(paths):
        digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def resample(images: np.ndarray, size: int) -> np.ndarray:
    """(N, C, H, W) linear intensity to (N, C, size, size): area averaging when shrinking, bilinear when growing."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if x.shape[-2:] == (size, size):
        return x.numpy()
    mode = "area" if x.shape[-1] >= size and x.shape[-2] >= size else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    return torch.nn.functional.interpolate(x, size=(size, size), mode=mode, **kwargs).clamp_min(0).numpy()


def _caps(profile: config.Profile) -> tuple[int | None, int | None]:
    """Samples per class kept for training and testing: the profile's counts, or everything in ``full``."""
    if profile.name == "full":
        return None, None
    return profile.n_train_per_class, profile.n_test_per_class


def stratified_split(labels: np.ndarray, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with ``test_share`` of every class in the test part (at least one sample on each
    side for a class with two or more), shuffled by ``seed``."""
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must lie in (0, 1), got {test_share!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_test = 0 if idx.size < 2 else min(idx.size - 1, max(1, round(idx.size * test_share)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _cap(index: np.ndarray, labels: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """At most ``cap`` indices per class (a seeded random choice), in index order."""
    if cap is None:
        return index
    rng = np.random.default_rng(seed)
    kept = [rng.permutation(index[labels[index] == k])[:cap] for k in np.unique(labels[index])]
    return np.sort(np.concatenate(kept))


def _read(dataset, index: np.ndarray, size: int, desc: str, progress: bool) -> np.ndarray:
    out = np.empty((index.size, 0, size, size), np.float32)
    rows = []
    for i in tqdm(index, desc=desc, disable=not config.show_progress(progress), leave=False,
                  delay=config.PROGRESS_DELAY_S):
        rows.append(resample(dataset[int(i)][0].numpy()[None], size)[0])
    if rows:
        out = np.stack(rows)
    return out


def _gain_db(train_images: np.ndarray, kind: str) -> float:
    median = float(np.median(train_images[:, 0]))
    if not median > 0:
        raise DataFolderError("the real training images have a median intensity of 0: cannot calibrate them")
    return REFERENCE_MEDIAN_DB[kind] - 10 * np.log10(median)


def _opensarurban(profile: config.Profile, progress: bool, pixel_values: str) -> tuple[RealSAR, RealSAR]:
    root = real_root("opensarurban")
    ds = OpenSARUrban(root, "both", pixel_values=pixel_values)
    labels = np.asarray(ds.targets, np.int64)
    files = [p for pair, _ in ds.samples for p in pair]
    n_train, n_test = _caps(profile)
    test_share = profile.n_test_per_class / (profile.n_train_per_class + profile.n_test_per_class)
    params = dict(reader=READER_VERSION, source="opensarurban", size=profile.urban_size, seed=profile.seed,
                  caps=[n_train, n_test], test_share=test_share, pixel_values=pixel_values,
                  files=fingerprint(files, root))

    def build() -> dict[str, np.ndarray]:
        train, test = stratified_split(labels, test_share, profile.seed)
        train, test = _cap(train, labels, n_train, profile.seed), _cap(test, labels, n_test, profile.seed + 1)
        arrays = {"train_index": train, "test_index": test}
        for name, index in (("train", train), ("test", test)):
            arrays[f"{name}_images"] = _read(ds, index, profile.urban_size, f"reading OpenSARUrban ({name})", progress)
        gain = _gain_db(arrays["train_images"], "urban")
        for name in ("train", "test"):
            arrays[f"{name}_images"] *= np.float32(10 ** (gain / 10))
        arrays["gain_db"] = np.array(gain)
        return arrays

    arrays = cached_arrays(config.data_dir() / "cache", "real-opensarurban", params, build)
    out = []
    for name in ("train", "test"):
        index = arrays[f"{name}_index"]
        out.append(RealSAR(arrays[f"{name}_images"], labels[index], None, list(ds.classes), ("VV", "VH"),
                           {**params, "kind": "urban", "split": name, "gain_db": float(arrays["gain_db"]),
                            "masks": "none"},
                           files=[str(ds.samples[i][0][0]) for i in index]))
    return out[0], out[1]


def _mask_root() -> Path | None:
    env = os.environ.get(MASKS_ENV, "").strip()
    path = Path(env).expanduser() if env else config.data_dir(create=False) / "MSTAR_masks"
    return path if path.is_dir() else None


def _mstar(profile: config.Profile, progress: bool) -> tuple[RealSAR, RealSAR]:
    from .localization import mask_boxes, segment_target

    root, masks = real_root("mstar"), _mask_root()
    ds = MSTARFolder(root, size=MSTAR_CHIP, masks=masks)
    labels = np.asarray(ds.targets, np.int64)
    depressions = np.array([-1 if d is None else d for d in ds.depressions])
    n_train, n_test = _caps(profile)
    files = [p for p, _ in ds.samples]
    extra = {"masks": sorted(str(p.relative_to(masks)) for p in masks.rglob("*")) if masks else None}
    params = dict(reader=READER_VERSION, source="mstar", size=profile.targets_size, seed=profile.seed,
                  caps=[n_train, n_test], files=fingerprint(files, root, extra))

    def build() -> dict[str, np.ndarray]:
        if (depressions == 17).any() and (depressions == 15).any():
            train, test, split = np.flatnonzero(depressions == 17), np.flatnonzero(depressions == 15), "SOC 17/15"
        else:
            try:
                train, test = _split_index(ds, "train"), _split_index(ds, "test")
                split = "train/test folders"
            except DataFolderError:
                test_share = profile.n_test_per_class / (profile.n_train_per_class + profile.n_test_per_class)
                train, test = stratified_split(labels, test_share, profile.seed)
                split = "stratified"
        train, test = _cap(train, labels, n_train, profile.seed), _cap(test, labels, n_test, profile.seed + 1)
        arrays = {"train_index": train, "test_index": test, "split": np.array(split)}
        for name, index in (("train", train), ("test", test)):
            # MSTAR magnitude is linear amplitude: intensity is its square
            amplitude = _read(ds, index, profile.targets_size, f"reading MSTAR ({name})", progress)
            arrays[f"{name}_images"] = amplitude**2
            target = np.zeros((index.size, profile.targets_size, profile.targets_size), bool)
            shadow = np.zeros_like(target)
            from_files = np.zeros(index.size, bool)
            for j, i in enumerate(index):
                given = ds.masks_of(int(i)) if masks is not None else None
                if given is not None and given[1] is not None:
                    t, s = (resample(m[None, None].astype(np.float32), profile.targets_size)[0, 0] > 0.5 for m in given)
                    target[j], shadow[j], from_files[j] = t, s, True
            todo = ~from_files
            if todo.any():
                target[todo], shadow[todo] = segment_target(arrays[f"{name}_images"][todo, 0])
            arrays[f"{name}_masks"], arrays[f"{name}_shadow"] = target, shadow
            arrays[f"{name}_from_files"] = from_files
        gain = _gain_db(arrays["train_images"], "targets")
        for name in ("train", "test"):
            arrays[f"{name}_images"] *= np.float32(10 ** (gain / 10))
        arrays["gain_db"] = np.array(gain)
        return arrays

    arrays = cached_arrays(config.data_dir() / "cache", "real-mstar", params, build)
    out = []
    for name in ("train", "test"):
        index, from_files = arrays[f"{name}_index"], arrays[f"{name}_from_files"]
        kind = "files" if from_files.all() else "approximate" if not from_files.any() else "files and approximate"
        out.append(RealSAR(arrays[f"{name}_images"], labels[index], arrays[f"{name}_masks"], list(ds.classes), ("HH",),
                           {**params, "kind": "targets", "split": name, "split_rule": str(arrays["split"]),
                            "gain_db": float(arrays["gain_db"]), "masks": kind,
                            "depressions": [int(d) for d in depressions[index]]},
                           boxes=mask_boxes(arrays[f"{name}_masks"]), shadow_masks=arrays[f"{name}_shadow"],
                           files=[str(ds.samples[i][0]) for i in index]))
    return out[0], out[1]


def _split_index(ds: MSTARFolder, split: str) -> np.ndarray:
    """Indices (into ``ds``) of the chips :class:`MSTARFolder` puts in ``split`` (below ``train`` / ``test``
    folders when depressions are unknown); a DataFolderError when there are none."""
    part = {p for p, _ in MSTARFolder(ds.root, size=MSTAR_CHIP, split=split).samples}
    return np.array([i for i, (p, _) in enumerate(ds.samples) if p in part], np.int64)


def lesson_data(profile: config.Profile | str = "auto", source: str = "embedded", kind: str = "urban",
                keep_clean: bool = False, progress: bool = True,
                pixel_values: str = "amplitude"):
    """The (train, test) sets of a lesson: ``source`` "embedded", "opensarurban" (``kind="urban"``) or "mstar"
    (``kind="targets"``). Embedded sets are :func:`data.embedded_split`; real sets are :class:`RealSAR`, cached
    under the data directory keyed by the files' fingerprint. ``pixel_values`` says how OpenSARUrban's files
    store their numbers (Sentinel-1 GRD patches: amplitude)."""
    from . import data

    cfg = profile if isinstance(profile, config.Profile) else config.load(profile)
    source = check_source(source, kind)
    if source == "embedded":
        return data.embedded_split(cfg, kind, keep_clean=keep_clean, progress=progress)
    if source == "opensarurban":
        return _opensarurban(cfg, progress, pixel_values)
    return _mstar(cfg, progress)


def describe(dataset) -> str:
    """One line saying where a lesson's data came from, how many samples per class and how masks were made."""
    counts = np.bincount(np.asarray(dataset.labels), minlength=len(dataset.classes))
    source = dataset.params.get("source", "embedded")
    per_class = ", ".join(f"{c} {n}" for c, n in zip(dataset.classes, counts, strict=True))
    masks = dataset.params.get("masks", "generated (exact)" if source == "embedded" else "none")
    split = f"; split: {dataset.params['split_rule']}" if "split_rule" in dataset.params else ""
    return f"{source}: {len(dataset)} samples ({per_class}); masks: {masks}{split}"
