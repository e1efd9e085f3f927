"""Small copies of the real datasets' layouts, written from the embedded generator, for the reader and lesson tests.

MSTAR: Phoenix files as the public release writes them (a newline before ``[PhoenixHeaderVer01.04]``, counted by
``PhoenixHeaderLength``, and the header fields the release carries) in the release trees (``TARGETS/TRAIN/17_DEG/
BMP2/SN_9563/HB03787.000``, ``MSTAR_PUBLIC_MIXED_TARGETS_CD2/17_DEG/COL2/SCENE1/2S1/...``), in one flat folder,
as a JPEG tree mirroring the release, and as converted ``train`` / ``test`` class folders of JPEGs or
``_Mag.npy`` magnitude arrays, with SARBake-style masks. OpenSARUrban: ``<class>_x<col>_y<row>_Polygon<n>_<vv|vh>``
files in class folders, in one flat folder and below ``VV`` / ``VH`` folders, with the spellings found in
circulating copies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from sarxai_utils import data, readers

# The TargetType strings of the public release, and a serial number and release disc per class.
MSTAR_RELEASE: dict[str, tuple[str, str, str]] = {
    "2S1": ("2s1_gun", "b01", "MIXED"),
    "BMP2": ("bmp2_tank", "9563", "TARGETS"),
    "BRDM2": ("brdm_2", "E-71", "MIXED"),
    "BTR60": ("btr_60", "k10yt7532", "MIXED"),
    "BTR70": ("btr70_transport", "c71", "TARGETS"),
    "D7": ("d7", "92v13015", "MIXED"),
    "T62": ("t62", "A51", "MIXED"),
    "T72": ("t72_tank", "132", "TARGETS"),
    "ZIL131": ("zil131", "E12", "MIXED"),
    "ZSU234": ("zsu_23_4", "d08", "MIXED"),
}
# Class-folder spellings of converted copies.
MSTAR_CONVERTED_FOLDERS: dict[str, str] = {
    "2S1": "2S1", "BMP2": "BMP-2", "BRDM2": "BRDM_2", "BTR60": "BTR_60", "BTR70": "BTR70(SN_C71)", "D7": "D7",
    "T62": "T-62", "T72": "T72(SN_132)", "ZIL131": "ZIL-131", "ZSU234": "ZSU_23_4",
}
# OpenSARUrban spellings: one or two per class (two spellings of one class must merge).
URBAN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "Airport": ("airport",), "DenseLow": ("denselow",), "GeneralResidential": ("GeneralResidential",),
    "HighBuildings": ("highbuildings", "highbuilding"), "Highway": ("highway",), "Railway": ("railway",),
    "SingleBuilding": ("SingleBuilding",), "Skyscraper": ("Skyscraper",), "StorageArea": ("StorageArea",),
    "Vegetation": ("vegetation", "Vegetation"),
}
URBAN_LAYOUTS: tuple[str, ...] = ("class_folders", "flat", "pol_folders")


def mstar_counts(n_train: int, n_test: int, uneven: bool = True) -> dict[str, tuple[int, int]]:
    """Chips per class (17 degrees, 15 degrees): class i gets ``i % 3`` more when ``uneven``."""
    return {c: (n_train + (i % 3 if uneven else 0), n_test + (i % 2 if uneven else 0))
            for i, c in enumerate(readers.MSTAR_CLASSES)}


def _chips(counts: dict[str, tuple[int, int]], size: int, seed: int):
    """(class, depression, index, magnitude, target mask, shadow mask) for every chip, from the generator."""
    most = max(max(c) for c in counts.values())
    sets = {dep: data.synthetic_targets(most, size, seed=seed + k, cache=False, progress=False)
            for k, dep in enumerate((17, 15))}
    for label, cls in enumerate(readers.MSTAR_CLASSES):
        for dep, n in zip((17, 15), counts[cls], strict=True):
            ds = sets[dep]
            where = np.flatnonzero(ds.labels == label)[:n]
            for j, i in enumerate(where):
                yield cls, dep, j, np.sqrt(ds.images[i, 0]), ds.masks[i], ds.shadow_masks[i]


def phoenix_header(cls: str, depression: int, index: int, size: int) -> dict[str, str]:
    """Header fields as the public release writes them (besides those write_mstar computes)."""
    target_type, serial, _ = MSTAR_RELEASE[cls]
    return {
        "Filename": _chip_name(cls, depression, index), "TargetName": cls, "TargetType": target_type,
        "TargetSerNum": serial, "TargetAz": f"{(index * 37.5) % 360:.2f}", "TargetRoll": "0.00",
        "DesiredDepression": str(depression), "MeasuredDepression": f"{depression - 0.27:.2f}",
        "Polarization": "HH", "RangeResolution": "0.3047", "CrossRangeResolution": "0.3047",
        "RangePixelSpacing": "0.202148", "CrossRangePixelSpacing": "0.203125", "SensorCalibrationFactor": "1.0",
        "PhoenixSigSize": str(size * size * 8 + 1500),
    }


def _chip_name(cls: str, depression: int, index: int) -> str:
    base = 3000 + 100 * readers.MSTAR_CLASSES.index(cls) + 50 * (depression == 15) + index
    return f"HB{base:05d}.{'000' if cls in ('BMP2', '2S1') else f'{index % 30:03d}'}"


def _release_folder(root: Path, cls: str, depression: int) -> Path:
    _, serial, disc = MSTAR_RELEASE[cls]
    if disc == "TARGETS":
        part = "TRAIN" if depression == 17 else "TEST"
        return root / "TARGETS" / part / f"{depression}_DEG" / cls / f"SN_{serial.upper()}"
    return root / "MSTAR_PUBLIC_MIXED_TARGETS_CD2" / f"{depression}_DEG" / "COL2" / "SCENE1" / cls


def write_mstar_tree(root: Path, layout: str = "release", n_train: int = 3, n_test: int = 2, size: int = 64,
                     seed: int = 0, masks: Path | None = None, uneven: bool = True) -> dict[str, tuple[int, int]]:
    """Write an MSTAR copy; returns the chips per class (17, 15 degrees).

    ``layout``: "release" (Phoenix files in the release trees), "flat" (every Phoenix file in ``root``),
    "jpeg_release" (JPEG chips mirroring the release tree), "converted_jpeg" / "converted_npy" (``train`` and
    ``test`` class folders in converted spellings). ``masks`` also writes SARBake-style target / shadow masks.
    """
    counts = mstar_counts(n_train, n_test, uneven)
    for cls, dep, j, magnitude, target, shadow in _chips(counts, size, seed):
        name = _chip_name(cls, dep, j)
        if layout == "release":
            folder = _release_folder(root, cls, dep)
        elif layout == "flat":
            folder = root
        elif layout == "jpeg_release":
            folder = _release_folder(root, cls, dep)
        elif layout in ("converted_jpeg", "converted_npy"):
            folder = root / ("train" if dep == 17 else "test") / MSTAR_CONVERTED_FOLDERS[cls]
        else:
            raise ValueError(f"unknown MSTAR layout {layout!r}")
        folder.mkdir(parents=True, exist_ok=True)
        if layout in ("release", "flat"):
            phase = np.zeros_like(magnitude)
            readers.write_mstar(folder / name, magnitude, phase, phoenix_header(cls, dep, j, size),
                                leading_newline=True)
        elif layout == "converted_npy":
            np.save(folder / f"{name}_Mag.npy", magnitude.astype(np.float32))
        else:
            grey = np.clip(255 * (20 * np.log10(magnitude + 1e-6) + 40) / 50, 0, 255).astype(np.uint8)
            Image.fromarray(grey).save(folder / f"{name}.jpeg", quality=95)
        if masks is not None:
            masks.mkdir(parents=True, exist_ok=True)
            Image.fromarray(target.astype(np.uint8) * 255).save(masks / f"{name}_target.png")
            Image.fromarray(shadow.astype(np.uint8) * 255).save(masks / f"{name}_shadow.png")
    return counts


def urban_counts(n: int, uneven: bool = True) -> dict[str, int]:
    """Patches per class: class i gets ``i % 3`` more when ``uneven``."""
    return {c: n + (i % 3 if uneven else 0) for i, c in enumerate(readers.OPENSARURBAN_CLASSES)}


def write_opensarurban(root: Path, layout: str = "class_folders", ext: str = ".npy", n: int = 3, size: int = 64,
                       seed: int = 0, pixel_values: str = "amplitude", uneven: bool = True) -> dict[str, int]:
    """Write an OpenSARUrban copy with VV and VH of every patch; returns the patches per class.

    ``pixel_values``: "amplitude" (sqrt of intensity), "unit" (amplitude / its maximum, as one public ``.npy`` copy)
    or "db". Spellings alternate where a class has two.
    """
    counts = urban_counts(n, uneven)
    scenes = data.synthetic_urban(max(counts.values()), size, seed=seed, cache=False, progress=False)
    for label, cls in enumerate(readers.OPENSARURBAN_CLASSES):
        for j, i in enumerate(np.flatnonzero(scenes.labels == label)[: counts[cls]]):
            spelling = URBAN_SPELLINGS[cls][j % len(URBAN_SPELLINGS[cls])]
            for c, pol in enumerate(("VV", "VH")):
                intensity = scenes.images[i, c]
                if pixel_values == "db":
                    values = 10 * np.log10(intensity)
                elif pixel_values == "unit":
                    values = np.sqrt(intensity) / np.sqrt(scenes.images[i]).max()
                else:
                    values = np.sqrt(intensity)
                name = f"{spelling}_x{100 * j}_y{200 + 100 * j}_Polygon{j + 1}_{pol.lower()}{ext}"
                if layout == "class_folders":
                    folder = root / spelling
                elif layout == "flat":
                    folder = root
                elif layout == "pol_folders":
                    folder = root / pol / spelling
                else:
                    raise ValueError(f"unknown OpenSARUrban layout {layout!r}")
                folder.mkdir(parents=True, exist_ok=True)
                if ext == ".npy":
                    np.save(folder / name, values.astype(np.float32))
                else:
                    tifffile.imwrite(folder / name, values.astype(np.float32))
    return counts
