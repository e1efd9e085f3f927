"""Course profiles (``ci``, ``laptop``, ``full``, ``auto``), the data/cache directory and the compute device.

Every notebook reads its sizes from ``config.load(PROFILE)``; nothing else in the course hard-codes a size.
``SARXAI_PROFILE`` overrides the profile asked for, ``SARXAI_DATA`` the data directory.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .errors import ProfileError

PROFILE_ENV = "SARXAI_PROFILE"
PROGRESS_DELAY_S = 2.0  # a progress bar appears only once its work has run this long (tqdm's delay)
PROGRESS_ENV = "SARXAI_PROGRESS"  # "0": no progress bars (set by the course runner: nobody watches a headless run)
DATA_ENV = "SARXAI_DATA"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Profile:
    """The sizes one run of the course uses; ``name`` is the concrete profile (never ``auto``)."""

    name: str
    description: str
    urban_size: int  # side of an urban patch in pixels (OpenSARUrban: 100)
    targets_size: int  # side of a target chip in pixels (MSTAR: 128)
    n_train_per_class: int  # embedded training images per class
    n_test_per_class: int  # embedded held-out images per class
    n_gallery: int  # examples per class shown in galleries
    looks: float  # equivalent number of looks of the embedded speckle (Sentinel-1 IW GRD: about 4.4)
    seed: int  # the seed every lesson starts from
    cell_timeout_s: int  # papermill's per-cell timeout when the course is executed
    arch: str = "resnet10_slim"  # classifier architecture (sarxai_utils.models.ARCHITECTURES)
    epochs: int = 10  # training epochs of the urban models
    targets_epochs: int = 10  # training epochs of the targets model
    batch_size: int = 64
    lr: float = 3e-3  # peak learning rate of the one-cycle schedule (AdamW)
    n_eval_per_class: int = 2  # held-out scenes per class on which lesson 08 scores every method
    sens_samples: int = 10  # perturbed copies per image for Max-Sensitivity (Captum's default: 10)
    study_scenes: int = 10  # held-out scenes on which lesson 13 scores each experiment (one per class, in class order)

    def as_dict(self) -> dict[str, Any]:
        """The profile as a plain dictionary (for manifests and checkpoint metadata)."""
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        description="what the tests run: the whole course in a few minutes on 2 CPU cores; accuracy is not the point",
        urban_size=64,
        targets_size=64,
        n_train_per_class=12,
        n_test_per_class=6,
        n_gallery=1,
        looks=4.4,
        seed=0,
        cell_timeout_s=600,
        arch="resnet10_slim",
        epochs=2,
        targets_epochs=2,
        batch_size=32,
        lr=3e-3,
        n_eval_per_class=1,
        sens_samples=2,
        study_scenes=4,
    ),
    "laptop": Profile(
        name="laptop",
        description="the default on CPU: models good enough that explanations mean something",
        urban_size=100,
        targets_size=128,
        n_train_per_class=200,
        n_test_per_class=100,
        n_gallery=3,
        looks=4.4,
        seed=0,
        cell_timeout_s=3600,
        arch="resnet10_slim",
        epochs=20,
        targets_epochs=14,
        batch_size=64,
        lr=3e-3,
        n_eval_per_class=3,
        sens_samples=10,
    ),
    "full": Profile(
        name="full",
        description="the default on CUDA: ResNet101, 100 x 100 patches as in OpenSARUrban, paper-scale settings",
        urban_size=100,
        targets_size=128,
        n_train_per_class=800,
        n_test_per_class=200,
        n_gallery=4,
        looks=4.4,
        seed=0,
        cell_timeout_s=4 * 3600,
        arch="resnet101",
        epochs=60,
        targets_epochs=60,
        batch_size=64,
        lr=1e-3,
        n_eval_per_class=10,
        sens_samples=10,
        study_scenes=30,
    ),
}
PROFILE_NAMES: tuple[str, ...] = (*PROFILES, "auto")


def resolve_name(name: str = "auto") -> str:
    """Turn a requested profile name into a concrete one: ``SARXAI_PROFILE`` wins, ``auto`` picks by device."""
    requested = os.environ.get(PROFILE_ENV, "").strip() or name
    requested = str(requested).strip().lower()
    if requested not in PROFILE_NAMES:
        source = f"environment variable {PROFILE_ENV}" if os.environ.get(PROFILE_ENV, "").strip() else "argument"
        raise ProfileError(f"unknown profile {requested!r} (from the {source}); choose one of {list(PROFILE_NAMES)}")
    if requested == "auto":
        return "full" if torch.cuda.is_available() else "laptop"
    return requested


def load(name: str = "auto", **overrides: Any) -> Profile:
    """The profile ``name`` (after ``SARXAI_PROFILE`` and ``auto``), with any field replaced by ``overrides``."""
    profile = PROFILES[resolve_name(name)]
    unknown = set(overrides) - {f.name for f in dataclasses.fields(Profile)}
    if unknown:
        raise ProfileError(f"unknown profile setting(s) {sorted(unknown)}; known: {list(profile.as_dict())}")
    types = {f.name: f.type for f in dataclasses.fields(Profile)}
    for key, value in overrides.items():
        if key in ("name", "description"):
            continue
        if key == "arch":
            from .models import ARCHITECTURES

            if value not in ARCHITECTURES:
                raise ProfileError(f"profile setting arch={value!r} is not one of {list(ARCHITECTURES)}")
            continue
        wanted = int if types[key] in (int, "int") else float
        ok_type = isinstance(value, int) if wanted is int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or not math.isfinite(value) or \
                (value < 0 if key == "seed" else value <= 0):  # a seed may be 0 (every profile's own), a size not
            kind = "non-negative" if key == "seed" else "positive"
            raise ProfileError(f"profile setting {key}={value!r} must be a {kind} {wanted.__name__}")
    return dataclasses.replace(profile, **overrides)


def data_dir(create: bool = True) -> Path:
    """The directory for generated data and checkpoints: ``SARXAI_DATA`` if set, else ``data/`` in the repo."""
    env = os.environ.get(DATA_ENV, "").strip()
    path = Path(env).expanduser() if env else REPO_ROOT / "data"
    if path.exists() and not path.is_dir():
        source = f"from {DATA_ENV}" if env else "the default"
        raise ProfileError(f"data directory {path} ({source}) exists but is not a folder")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def real_dataset(name: str) -> Path | None:
    """Where a real dataset lies, if anywhere: ``SARXAI_OPENSARURBAN`` / ``SARXAI_MSTAR`` or ``<data dir>/<name>``.

    ``name`` is "OpenSARUrban" or "MSTAR"; returns None when the folder does not exist (nothing is downloaded).
    """
    if name not in ("OpenSARUrban", "MSTAR"):
        raise ValueError(f"name must be 'OpenSARUrban' or 'MSTAR', got {name!r}")
    env = os.environ.get(f"SARXAI_{name.upper()}", "").strip()
    path = Path(env).expanduser() if env else data_dir(create=False) / name
    return path if path.is_dir() else None


def device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def environment_report() -> dict[str, str]:
    """Versions, device, threads and paths, for the set-up check of lesson 00."""
    import platform

    import captum
    import matplotlib
    import numpy
    import torchvision

    dev = device()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "captum": captum.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "device": str(dev) + (f" ({torch.cuda.get_device_name(0)})" if dev.type == "cuda" else ""),
        "cpu threads used by torch": str(torch.get_num_threads()),
        "profile (auto resolves to)": resolve_name("auto"),
        f"data directory ({DATA_ENV})": str(data_dir()),
    }


def show_progress(requested: bool) -> bool:
    """Whether to show a progress bar that the caller would show (``requested``): False when ``SARXAI_PROGRESS=0``,
    which ``make course`` sets so that executed lessons store no progress bars."""
    return bool(requested) and os.environ.get(PROGRESS_ENV, "1") != "0"
