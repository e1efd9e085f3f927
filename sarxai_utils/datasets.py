"""torch Datasets and DataLoaders over SAR images, with the course's preprocessing and augmentation hooks.

Preprocessing (the models' input space): linear intensity -> dB -> clip to [DB_MIN, DB_MAX] -> [-1, 1],
on the channels of the chosen polarization. Augmentations act on linear intensity, before preprocessing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from . import sar

Augmentation = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
SPECKLE_BANK_SIZE = 64  # i.i.d. speckle fields per dataset for fresh-speckle training


def channel_indices(polarization: str | Sequence[str], available: Sequence[str] = ("VV", "VH")) -> list[int]:
    """Indices of the channels for ``polarization`` ("VV", "VH", "both" or a list such as ["VV", "VH"])."""
    names = [c.upper() for c in available]
    if isinstance(polarization, str):
        wanted = names if polarization.lower() == "both" else [polarization.upper()]
    else:
        wanted = [p.upper() for p in polarization]
    missing = [p for p in wanted if p not in names]
    if missing or not wanted:
        raise ValueError(f"polarization {polarization!r} is not available; choose from {names} or 'both'")
    return [names.index(p) for p in wanted]


def preprocess(intensity: torch.Tensor | np.ndarray, db_min: float = sar.DB_MIN,
               db_max: float = sar.DB_MAX) -> torch.Tensor:
    """Linear intensity (any shape) to the models' input: dB clipped to ``[db_min, db_max]``, scaled to [-1, 1]."""
    x = torch.as_tensor(intensity, dtype=torch.float32)
    if not torch.isfinite(x).all():
        raise ValueError("preprocess: the intensity holds NaN or inf values")
    return sar.normalize_db(sar.to_db(x), db_min, db_max)


def model_input(dataset: Any, polarization: str | Sequence[str]) -> torch.Tensor:
    """The (N, C, H, W) model input of a generated dataset's images for ``polarization`` ("VV", "VH", "both",
    "HH"): its channels picked by name from ``dataset.polarizations``, then :func:`preprocess`."""
    channels = channel_indices(polarization, dataset.polarizations)
    return preprocess(np.asarray(dataset.images)[:, channels])


# --- augmentation hooks (linear intensity in, linear intensity out; one (C, H, W) image at a time) ----------


def random_flip_rot90(image: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random flip and quarter turn. Note: it also turns the look direction (layover and shadow sides)."""
    k = int(torch.randint(4, (1,), generator=gen))
    if torch.rand((), generator=gen) < 0.5:
        image = image.flip(-1)
    return torch.rot90(image, k, dims=(-2, -1))


def random_translate(image: torch.Tensor, gen: torch.Generator, max_shift: float = 0.1) -> torch.Tensor:
    """A random circular shift by up to ``max_shift`` of the image size in each direction."""
    h, w = image.shape[-2:]
    dy = int(torch.randint(-int(max_shift * h), int(max_shift * h) + 1, (1,), generator=gen))
    dx = int(torch.randint(-int(max_shift * w), int(max_shift * w) + 1, (1,), generator=gen))
    return torch.roll(image, shifts=(dy, dx), dims=(-2, -1))


def extra_speckle(image: torch.Tensor, gen: torch.Generator, looks: float = 8.0) -> torch.Tensor:
    """Multiply by fresh unit-mean Gamma(L, 1/L) noise: speckle on a clean scene, extra speckle on an image."""
    # torch's Gamma sampler takes no generator: draw from a numpy stream seeded by the torch generator.
    rng = np.random.default_rng(int(torch.randint(2**31 - 1, (1,), generator=gen)))
    return torch.from_numpy(sar.speckle(image.numpy(), float(looks), rng))


def compose(*augmentations: Augmentation) -> Augmentation:
    """Chain augmentation hooks into one."""

    def run(image: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for aug in augmentations:
            image = aug(image, gen)
        return image

    return run


class SARTensorDataset(Dataset):
    """Images in linear intensity (N, C, H, W) with labels, served as (model input, label) pairs.

    ``polarization`` picks the channels (names in ``channel_names``). With ``clean`` scenes (N, C, H, W) and
    ``looks``, every access draws a *fresh speckle realisation* of the scene instead of the stored image: the
    clean scene times a unit-mean Gamma(L) field taken from a bank of i.i.d. fields at a random circular shift
    (statistically a new independent realisation, about 20 times cheaper than drawing every pixel anew).
    ``augment(image, generator)`` then runs on linear intensity, before preprocessing. Random draws come
    from a generator seeded by (``seed``, ``epoch``, index): the same epoch gives the same images.
    """

    def __init__(self, images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                 polarization: str | Sequence[str] = "VV", channel_names: Sequence[str] = ("VV", "VH"),
                 augment: Augmentation | None = None, seed: int = 0,
                 clean: np.ndarray | torch.Tensor | None = None, looks: float | None = None) -> None:
        images = torch.as_tensor(images, dtype=torch.float32)
        labels = torch.as_tensor(labels, dtype=torch.int64)
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
        if images.shape[1] != len(channel_names):
            raise ValueError(f"images have {images.shape[1]} channels but channel_names is {list(channel_names)}")
        if (clean is None) != (looks is None):
            raise ValueError("clean and looks go together: give both for fresh speckle, or neither")
        self.channels = channel_indices(polarization, channel_names)
        self.images = images[:, self.channels]
        self.clean = None
        if clean is not None:
            clean = torch.as_tensor(clean, dtype=torch.float32)
            if clean.shape != images.shape:
                raise ValueError(f"clean has shape {tuple(clean.shape)}, images {tuple(images.shape)}")
            if not looks > 0:
                raise ValueError(f"looks must be positive, got {looks}")
            self.clean = clean[:, self.channels]
        self.looks = looks
        self._bank: torch.Tensor | None = None
        self.labels = labels
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def _intensity(self, index: int) -> torch.Tensor:
        """The (augmented) linear intensity of one sample, contiguous (C, H, W)."""
        if self.augment is None and self.clean is None:
            return self.images[index]
        gen = torch.Generator().manual_seed(hash((self.seed, self.epoch, index)) & 0x7FFFFFFF)
        image = self.clean[index] * self._fresh_speckle(gen) if self.clean is not None else self.images[index]
        if self.augment is not None:
            image = self.augment(image, gen)
        return image.contiguous()

    def _fresh_speckle(self, gen: torch.Generator) -> torch.Tensor:
        """A unit-mean Gamma(looks) field (C, H, W): a bank field at a random circular shift."""
        if self._bank is None:
            rng = np.random.default_rng([self.seed, 7919])
            shape = (SPECKLE_BANK_SIZE, *self.clean.shape[1:])
            self._bank = torch.from_numpy(sar.speckle(np.ones(shape, np.float32), self.looks, rng))
        k, dy, dx = (int(torch.randint(n, (1,), generator=gen)) for n in (len(self._bank), *self._bank.shape[-2:]))
        return torch.roll(self._bank[k], shifts=(dy, dx), dims=(-2, -1))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = int(index)
        return preprocess(self._intensity(index)), self.labels[index]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """A batch at once (DataLoader uses it): the same samples as ``__getitem__``, preprocessed in one call."""
        indices = [int(i) for i in indices]
        batch = preprocess(torch.stack([self._intensity(i) for i in indices]))
        return list(zip(batch, self.labels[indices], strict=True))


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0,
                class_balanced: bool = False) -> DataLoader:
    """A DataLoader with a seeded shuffle (same seed, same order) and no worker processes (fast on 2 cores).

    ``class_balanced`` draws each epoch's samples with replacement, every class equally likely (for imbalanced
    data such as OpenSARUrban); it needs ``dataset.labels``.
    """
    gen = torch.Generator().manual_seed(seed)
    if class_balanced:
        labels = torch.as_tensor(dataset.labels)
        counts = torch.bincount(labels).clamp_min(1).double()
        weights = (1.0 / counts)[labels]
        sampler = torch.utils.data.WeightedRandomSampler(weights, len(labels), replacement=True, generator=gen)
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=0)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=0)
