"""Readers of SAR image files on disk: single images, MSTAR Phoenix files, OpenSARUrban and MSTAR folders.

``read_image`` returns LINEAR INTENSITY (float32, H x W) whatever the file stores (intensity, amplitude or
dB); ``read_mstar`` reads (and ``write_mstar`` writes) the MSTAR Phoenix format (optional leading whitespace,
an ASCII header, then big-endian float32 magnitude and optionally phase). ``OpenSARUrban`` and ``MSTARFolder``
are torch Datasets over the layouts the real datasets circulate in (the public MSTAR release trees and converted
copies; OpenSARUrban's class, flat and polarization-folder layouts) that index files when built and read lazily.

Every file is opened read-only; errors are the classes of :mod:`sarxai_utils.errors` and name the file or the
argument at fault.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from .errors import CorruptFileError, DataFolderError, InvalidImageError

PathLike = Union[str, "os.PathLike[str]"]

OPENSARURBAN_CLASSES: tuple[str, ...] = (
    "Airport",
    "DenseLow",
    "GeneralResidential",
    "HighBuildings",
    "Highway",
    "Railway",
    "SingleBuilding",
    "Skyscraper",
    "StorageArea",
    "Vegetation",
)

# Patches per class in a public list of OpenSARUrban's released VV patches (about 112 : 1 from largest to smallest).
OPENSARURBAN_VV_COUNTS: dict[str, int] = {
    "Airport": 97,
    "DenseLow": 1617,
    "GeneralResidential": 3153,
    "HighBuildings": 4487,
    "Highway": 201,
    "Railway": 40,
    "SingleBuilding": 920,
    "Skyscraper": 647,
    "StorageArea": 3787,
    "Vegetation": 1485,
}

# Pairs of OpenSARUrban classes that real models confuse (and the embedded scenes are built to make confusable).
OPENSARURBAN_CONFUSABLE: tuple[tuple[str, str], ...] = (
    ("DenseLow", "GeneralResidential"),
    ("HighBuildings", "Skyscraper"),
    ("SingleBuilding", "StorageArea"),
)

IMAGE_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".npy")
PIL_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg")
PIXEL_VALUES: tuple[str, ...] = ("intensity", "amplitude", "db")
POLARIZATIONS: tuple[str, ...] = ("VV", "VH", "both")

PHOENIX_MAGIC = b"[PhoenixHeaderVer"
PHOENIX_END = b"[EndofPhoenixHeader]"
PHOENIX_LEADING = b" \t\r\n"  # bytes allowed before the marker (the public release starts with a newline)
PHOENIX_MAX_HEADER_BYTES = 1 << 20  # the header scan never reads further than this (real headers: ~1.5 kB)
PHOENIX_REQUIRED_FIELDS: tuple[str, ...] = ("PhoenixHeaderLength", "NumberOfRows", "NumberOfColumns")
_PHOENIX_RESERVED = (*PHOENIX_REQUIRED_FIELDS, "native_header_length")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


# ----------------------------------------------------------------------------------------------------------
# single images
# ----------------------------------------------------------------------------------------------------------


def _check_pixel_values(pixel_values: str) -> str:
    if not isinstance(pixel_values, str) or pixel_values.lower() not in PIXEL_VALUES:
        raise ValueError(
            f"pixel_values={pixel_values!r} is not one of {PIXEL_VALUES}: it says whether the files store "
            "linear intensity, amplitude (sqrt of intensity) or decibels"
        )
    return pixel_values.lower()


def _check_readable_file(path: Path) -> None:
    if not path.exists():
        raise CorruptFileError(f"{path}: cannot be read, the file does not exist")
    if not path.is_file():
        raise CorruptFileError(f"{path}: cannot be read, it is not a regular file")
    if path.stat().st_size == 0:
        raise CorruptFileError(f"{path}: cannot be read, the file is empty (0 bytes)")


def _read_pil(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        if im.mode in ("1", "L", "I", "F") or im.mode.startswith("I;16"):
            return np.array(im)
        if im.mode in ("LA", "La"):
            return np.array(im.getchannel(0))
        rgb = im.convert("RGB")
        arr = np.array(rgb)
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
            return arr[..., 0].copy()
        return np.array(rgb.convert("L"))


def _read_raw(path: Path) -> np.ndarray:
    """The array stored in ``path`` as the file's own dtype (read-only access)."""
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise CorruptFileError(
            f"{path}: cannot be read, the extension {path.suffix!r} is not supported "
            f"(supported: {', '.join(IMAGE_EXTENSIONS)})"
        )
    _check_readable_file(path)
    try:
        if ext in (".tif", ".tiff"):
            import tifffile

            arr = tifffile.imread(path)
        elif ext in PIL_EXTENSIONS:
            arr = _read_pil(path)
        else:
            loaded = np.load(path, allow_pickle=False)
            if not isinstance(loaded, np.ndarray):  # an .npz archive saved as .npy
                if hasattr(loaded, "close"):
                    loaded.close()
                raise CorruptFileError(
                    f"{path}: cannot be read, it is not a .npy array file (an .npz archive?)"
                )
            arr = loaded
    except CorruptFileError:
        raise
    except MemoryError:
        raise
    except Exception as err:  # every reader library has its own exceptions for broken files
        raise CorruptFileError(
            f"{path}: cannot be read as a {ext} image, the file is corrupt, truncated or not that format "
            f"({type(err).__name__}: {err})"
        ) from err
    return np.asarray(arr)


def read_image(path: PathLike, pixel_values: str = "intensity") -> np.ndarray:
    """Read one single-channel SAR image (.tif/.tiff/.png/.jpg/.jpeg/.npy) as linear intensity.

    Returns a float32 array of shape (H, W); ``pixel_values`` says what the file stores: "intensity"
    (returned as is), "amplitude" (squared) or "db" (converted with 10 ** (x / 10)).
    """
    mode = _check_pixel_values(pixel_values)
    path = Path(path)
    arr = _read_raw(path)

    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise InvalidImageError(
            f"{path}: has shape {arr.shape}, expected a single-channel 2-D image (H, W) "
            "(or (H, W, 1) / (1, H, W))"
        )
    if arr.size == 0:
        raise InvalidImageError(f"{path}: the image is empty (shape {arr.shape})")
    if arr.dtype.kind == "c":
        raise InvalidImageError(
            f"{path}: holds complex values (dtype {arr.dtype}); store the intensity |z|**2 instead"
        )
    if arr.dtype.kind not in "biuf":
        raise InvalidImageError(f"{path}: has dtype {arr.dtype}, which is not a numeric pixel type")

    values = arr.astype(np.float64)
    n_nan = int(np.isnan(values).sum())
    n_inf = int(np.isinf(values).sum())
    if n_nan or n_inf:
        raise InvalidImageError(
            f"{path}: has {n_nan} NaN and {n_inf} inf pixels out of {values.size}; every pixel must be finite"
        )
    if mode in ("intensity", "amplitude"):
        n_neg = int((values < 0).sum())
        if n_neg:
            raise InvalidImageError(
                f"{path}: has {n_neg} negative pixels (minimum {values.min():g}) but pixel_values={mode!r} "
                "must be >= 0; if the file stores decibels, pass pixel_values='db'"
            )
    if mode == "amplitude":
        values = values * values
    elif mode == "db":
        with np.errstate(over="ignore"):
            values = np.power(10.0, values / 10.0)
    if not np.isfinite(values).all() or values.max() > _FLOAT32_MAX:
        raise InvalidImageError(
            f"{path}: converting pixel_values={mode!r} to linear intensity overflows float32 "
            f"(largest stored value {arr.max()!r})"
        )
    return values.astype(np.float32)


# ----------------------------------------------------------------------------------------------------------
# MSTAR Phoenix files
# ----------------------------------------------------------------------------------------------------------


def _scan_phoenix_header(path: Path, f: Any) -> tuple[bytes, int]:
    """The header bytes before ``[EndofPhoenixHeader]`` and the offset just after that marker.

    Public-release files begin with a newline before ``[PhoenixHeaderVer..]`` (counted by PhoenixHeaderLength):
    whitespace before the marker is accepted, anything else is not.
    """
    buf = b""
    while len(buf) < PHOENIX_MAX_HEADER_BYTES:
        chunk = f.read(4096)
        if not chunk:
            break
        buf += chunk
        body = buf.lstrip(PHOENIX_LEADING)
        if len(body) >= len(PHOENIX_MAGIC) and not body.startswith(PHOENIX_MAGIC):
            break
        idx = buf.find(PHOENIX_END)
        if idx >= 0:
            return buf[:idx], idx + len(PHOENIX_END)
    if not buf.lstrip(PHOENIX_LEADING).startswith(PHOENIX_MAGIC):
        raise CorruptFileError(
            f"{path}: is not an MSTAR Phoenix file, it does not start with {PHOENIX_MAGIC.decode()!r} "
            "(after optional whitespace)"
        )
    raise CorruptFileError(
        f"{path}: the Phoenix header has no {PHOENIX_END.decode()!r} line in its first "
        f"{min(len(buf), PHOENIX_MAX_HEADER_BYTES)} bytes; the header is truncated or corrupt"
    )


def _parse_phoenix_text(text: str) -> dict[str, str]:
    header: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("[") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if key and key not in header:
            header[key] = value.strip()
    return header


def _header_int(path: Path, header: Mapping[str, str], key: str, minimum: int) -> int:
    if key not in header:
        raise CorruptFileError(f"{path}: the Phoenix header lacks the required field {key!r}")
    try:
        value = int(header[key])
    except ValueError as err:
        raise CorruptFileError(
            f"{path}: the Phoenix header field {key!r} is {header[key]!r}, not an integer"
        ) from err
    if value < minimum:
        raise CorruptFileError(f"{path}: the Phoenix header field {key!r} is {value}, expected >= {minimum}")
    return value


def read_mstar(path: PathLike) -> tuple[dict[str, str], np.ndarray, np.ndarray | None]:
    """Read an MSTAR Phoenix file: its header fields (str -> str), magnitude and phase (or None).

    Magnitude and phase are float32 arrays of shape (NumberOfRows, NumberOfColumns), native byte order;
    magnitude is linear amplitude, phase is in the file's units (radians in MSTAR).
    """
    path = Path(path)
    if not path.exists():
        raise CorruptFileError(f"{path}: cannot be read, the file does not exist")
    if not path.is_file():
        raise CorruptFileError(f"{path}: cannot be read, it is not a regular file")
    try:
        f = open(path, "rb")  # closed by the with block below
    except OSError as err:
        raise CorruptFileError(f"{path}: cannot be opened ({type(err).__name__}: {err})") from err
    with f:
        raw, end_offset = _scan_phoenix_header(path, f)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        header = _parse_phoenix_text(text)
        header_length = _header_int(path, header, "PhoenixHeaderLength", 0)
        rows = _header_int(path, header, "NumberOfRows", 1)
        cols = _header_int(path, header, "NumberOfColumns", 1)
        native = (
            _header_int(path, header, "native_header_length", 0) if "native_header_length" in header else 0
        )
        if header_length < end_offset:
            raise CorruptFileError(
                f"{path}: PhoenixHeaderLength is {header_length} but the header text alone "
                f"is {end_offset} bytes"
            )
        offset = header_length + native
        n = rows * cols
        size = os.fstat(f.fileno()).st_size
        magnitude_only, with_phase = offset + 4 * n, offset + 8 * n
        if size not in (magnitude_only, with_phase):
            what = "truncated" if size < with_phase else "unexpected size (extra bytes at the end)"
            raise CorruptFileError(
                f"{path}: {what}: a {rows} x {cols} Phoenix file with data at byte {offset} must be "
                f"{magnitude_only} bytes (magnitude only) or {with_phase} bytes (magnitude and phase), "
                f"but it is {size} bytes"
            )
        f.seek(offset)
        data = f.read(size - offset)
    if len(data) != size - offset:
        raise CorruptFileError(
            f"{path}: truncated while reading: got {len(data)} of {size - offset} data bytes"
        )
    values = np.frombuffer(data, dtype=">f4").astype(np.float32)
    magnitude = values[:n].reshape(rows, cols)
    phase = values[n:].reshape(rows, cols) if size == with_phase else None
    for name, arr in (("magnitude", magnitude), ("phase", phase)):
        if arr is None:
            continue
        n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
        if n_nan or n_inf:
            raise InvalidImageError(
                f"{path}: the {name} has {n_nan} NaN and {n_inf} inf pixels out of {arr.size}; "
                "every pixel must be finite"
            )
    return header, magnitude, phase


def write_mstar(
    path: PathLike,
    magnitude: np.ndarray,
    phase: np.ndarray | None = None,
    header_extra: Mapping[str, object] | None = None,
    native_header_length: int = 0,
    leading_newline: bool = False,
) -> None:
    """Write an MSTAR Phoenix file: magnitude (and phase), both (rows, cols), as big-endian float32.

    The ASCII header holds ``header_extra`` as ``Key= value`` lines; its length (PhoenixHeaderLength, padded
    to a multiple of 4 bytes) depends on those lines; ``native_header_length`` zero bytes follow it.
    ``leading_newline`` starts the file with a newline before the marker, as the public MSTAR release does
    (PhoenixHeaderLength then counts that byte).
    """
    mag = np.asarray(magnitude)
    if mag.ndim != 2 or mag.size == 0:
        raise InvalidImageError(
            f"magnitude: has shape {mag.shape}, expected a non-empty 2-D array (rows, cols)"
        )
    if phase is not None:
        ph = np.asarray(phase)
        if ph.shape != mag.shape:
            raise InvalidImageError(f"phase: has shape {ph.shape}, but magnitude has shape {mag.shape}")
    if not isinstance(native_header_length, (int, np.integer)) or native_header_length < 0:
        raise ValueError(f"native_header_length={native_header_length!r} must be an integer >= 0")
    extra_lines: list[str] = []
    for key, value in (header_extra or {}).items():
        key_s, value_s = str(key).strip(), str(value).strip()
        if not key_s or "=" in key_s or "\n" in key_s or "\r" in key_s or key_s.startswith("["):
            raise ValueError(f"header_extra: the key {key!r} is not a valid Phoenix header key")
        if key_s in _PHOENIX_RESERVED:
            raise ValueError(
                f"header_extra: the key {key_s!r} is computed by write_mstar and cannot be given"
            )
        if "\n" in value_s or "\r" in value_s or not (key_s + value_s).isascii():
            raise ValueError(f"header_extra: the value of {key_s!r} must be one line of ASCII, got {value!r}")
        extra_lines.append(f"{key_s}= {value_s}\n")

    rows, cols = mag.shape

    def build(header_length: int) -> bytes:
        text = (
            ("\n" if leading_newline else "")
            + "[PhoenixHeaderVer01.04]\n"
            f"PhoenixHeaderLength= {header_length:08d}\n"
            f"native_header_length= {int(native_header_length):08d}\n"
            f"NumberOfColumns= {cols}\n"
            f"NumberOfRows= {rows}\n" + "".join(extra_lines) + "[EndofPhoenixHeader]\n"
        )
        return text.encode("ascii")

    length = len(build(0))  # the length field has a fixed width, so its value does not change the length
    length += (-length) % 4
    header = build(length)
    pad = length - len(header)
    if pad:
        header += b" " * (pad - 1) + b"\n"
    body = mag.astype(">f4").tobytes()
    if phase is not None:
        body += np.asarray(phase).astype(">f4").tobytes()
    with open(path, "wb") as f:
        f.write(header)
        f.write(b"\0" * int(native_header_length))
        f.write(body)


def is_phoenix_file(path: PathLike) -> bool:
    """True when the file at ``path`` starts with ``[PhoenixHeaderVer`` after optional whitespace (MSTAR Phoenix)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(PHOENIX_MAGIC) + 8).lstrip(PHOENIX_LEADING).startswith(PHOENIX_MAGIC)
    except OSError:
        return False


# ----------------------------------------------------------------------------------------------------------
# folders
# ----------------------------------------------------------------------------------------------------------


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _check_root(root: PathLike) -> Path:
    path = Path(root)
    if not path.exists():
        raise DataFolderError(f"{path}: the dataset folder does not exist")
    if not path.is_dir():
        raise DataFolderError(
            f"{path}: is not a folder (expected a dataset folder with one folder per class)"
        )
    return path


def _walk_files(folder: Path) -> list[Path]:
    """Every non-hidden file below ``folder`` (recursively, hidden folders skipped), sorted."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
        found.extend(Path(dirpath) / name for name in filenames if not _is_hidden(name))
    return sorted(found)


def _normalize_class_name(name: str) -> str:
    key = "".join(c for c in name.lower() if c not in "_- ")
    return key[:-1] if key.endswith("s") else key


def fit_to_size(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop or zero-pad the last two axes of a (..., H, W) array to (size, size): float32 (..., size, size)."""
    out = np.zeros((*image.shape[:-2], size, size), dtype=np.float32)
    h, w = image.shape[-2:]
    src_r, dst_r = ((h - size) // 2, 0) if h >= size else (0, (size - h) // 2)
    src_c, dst_c = ((w - size) // 2, 0) if w >= size else (0, (size - w) // 2)
    nh, nw = min(h, size), min(w, size)
    out[..., dst_r : dst_r + nh, dst_c : dst_c + nw] = image[..., src_r : src_r + nh, src_c : src_c + nw]
    return out


_POLARIZATION_FOLDERS = ("VV", "VH")
# OpenSARUrban file names: <class>_x<col>_y<row>_Polygon<n>_<vv|vh>.<ext> (the class spelled many ways)
_URBAN_NAME = re.compile(r"^(?P<cls>[A-Za-z][A-Za-z_ -]*?)_x\d+_y\d+", re.IGNORECASE)
PIXEL_CHECK_FILES = 3  # files per class read when an OpenSARUrban folder is opened, to check pixel_values


def _urban_name_class(stem: str) -> str:
    """The class part of an OpenSARUrban file name: before ``_x<col>_y<row>``, else before the first ``_``."""
    match = _URBAN_NAME.match(stem)
    return match.group("cls") if match else stem.split("_", 1)[0]


class OpenSARUrban(Dataset):
    """OpenSARUrban patches on disk, in any of the layouts copies circulate in; items are (image, label).

    Accepted layouts (class names in any spelling: case, ``_``, ``-``, spaces and a plural ``s`` are ignored, so
    ``highbuilding`` and ``HighBuildings`` are one class; several folders of one class merge):

    - class folders: ``root/<class>/...<name>_vv.tif`` or ``root/<class>/VV/<name>.tif``;
    - one flat folder: ``root/<class>_x<col>_y<row>_Polygon<n>_vv.npy`` (the class is the file-name prefix);
    - polarization folders above class folders: ``root/VV/<class>/<name>.tif``.

    ``image`` is a float32 tensor (C, H, W) of linear intensity with C = 1 ("VV" or "VH") or 2 ("both":
    [VV, VH], paired by name once the polarization is removed); ``label`` indexes ``classes``. ``pixel_values``
    says what the files store (Sentinel-1 GRD patches: amplitude); a few files per class are read when the
    folder is opened, and values that look like another convention raise or warn.
    """

    def __init__(
        self,
        root: PathLike,
        polarization: str = "VV",
        pixel_values: str = "amplitude",
        transform: Callable[[torch.Tensor], Any] | None = None,
        classes: Sequence[str] = OPENSARURBAN_CLASSES,
        check_values: bool = True,
    ) -> None:
        if not isinstance(polarization, str) or polarization.lower() not in ("vv", "vh", "both"):
            raise ValueError(
                f"polarization={polarization!r} is not one of {POLARIZATIONS} (case-insensitive)"
            )
        self.polarization: str = "both" if polarization.lower() == "both" else polarization.upper()
        self.pixel_values: str = _check_pixel_values(pixel_values)
        self.transform = transform
        self.classes: list[str] = [str(c) for c in classes]
        if not self.classes:
            raise ValueError("classes: the list of class names is empty")
        self._by_key: dict[str, int] = {}
        for i, name in enumerate(self.classes):
            key = _normalize_class_name(name)
            if key in self._by_key:
                raise ValueError(
                    f"classes: {name!r} and {self.classes[self._by_key[key]]!r} are the same class name "
                    "once case, '_', '-', spaces and a plural 's' are ignored"
                )
            self._by_key[key] = i
        self.root: Path = _check_root(root)

        found: dict[str, dict[tuple[int, tuple[str, ...]], Path]] = {"VV": {}, "VH": {}}
        for path in _walk_files(self.root):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            pol, label, key = self._describe(path)
            if pol is None:
                continue  # not a polarized image (e.g. a quick-look): ignored
            if (label, key) in found[pol]:
                raise DataFolderError(
                    f"{path}: has the same class and name as {found[pol][(label, key)]} once the class and "
                    "polarization folders, the _vv / _vh suffix and the extension are removed"
                )
            found[pol][(label, key)] = path
        if not found["VV"] and not found["VH"]:
            raise DataFolderError(
                f"{self.root}: holds no VV or VH image; expected e.g. {self.root / self.classes[0]}/VV/<image>.tif, "
                f"{self.root / self.classes[0]}/<image>_vv.tif, {self.root}/VV/{self.classes[0]}/<image>.tif or "
                f"{self.root}/{self.classes[0].lower()}_x0_y0_Polygon1_vv.npy "
                f"(extensions {', '.join(IMAGE_EXTENSIONS)})"
            )
        samples: list[tuple[Any, int]] = []
        if self.polarization == "both":
            for key in sorted(set(found["VV"]) | set(found["VH"])):
                vv, vh = found["VV"].get(key), found["VH"].get(key)
                if vv is None or vh is None:
                    lone, missing = (vv, "VH") if vh is None else (vh, "VV")
                    raise DataFolderError(
                        f"{lone}: has no {missing} partner (polarization='both' pairs VV and VH files whose "
                        "names match once the VV / VH folder or the _vv / _vh suffix is removed)"
                    )
                samples.append(((vv, vh), key[0]))
        else:
            samples = [(path, key[0]) for key, path in found[self.polarization].items()]
            other = "VH" if self.polarization == "VV" else "VV"
            have = {key[0] for key in found[self.polarization]}
            for key, path in sorted(found[other].items(), key=lambda kv: str(kv[1])):
                if key[0] not in have:
                    raise DataFolderError(
                        f"{path.parent}: class {self.classes[key[0]]!r} has {other} images (e.g. {path.name}) but no "
                        f"{self.polarization} image: an empty class for polarization={self.polarization!r}"
                    )
        samples.sort(key=lambda s: (s[1], str(s[0])))
        self.samples: list[tuple[Any, int]] = samples
        self.targets: list[int] = [label for _, label in samples]
        if not samples:
            raise DataFolderError(f"{self.root}: holds no {self.polarization} image")
        if check_values:
            self._check_values()

    def _class_of(self, name: str) -> int | None:
        return self._by_key.get(_normalize_class_name(name))

    def _describe(self, path: Path) -> tuple[str | None, int, tuple[str, ...]]:
        """(polarization, label, pairing key) of one image below the root; raises when the class is unknown."""
        parts = path.relative_to(self.root).parts[:-1]
        dir_pols = {p.upper() for p in parts if p.upper() in _POLARIZATION_FOLDERS}
        stem = path.stem
        name_pol = stem[-2:].upper() if stem[-3:].lower() in ("_vv", "_vh") else None
        if len(dir_pols) > 1 or (dir_pols and name_pol and name_pol not in dir_pols):
            raise DataFolderError(f"{path}: its folder names and its file name give different polarizations")
        pol = next(iter(dir_pols)) if dir_pols else name_pol
        folder_labels = [self._class_of(p) for p in parts]
        folder_label = next((lab for lab in reversed(folder_labels) if lab is not None), None)
        name_label = self._class_of(_urban_name_class(stem))
        if folder_label is not None and name_label is not None and folder_label != name_label:
            raise DataFolderError(
                f"{path}: its folder says class {self.classes[folder_label]!r} but its name says "
                f"{self.classes[name_label]!r}"
            )
        label = folder_label if folder_label is not None else name_label
        if label is None:
            if pol is None:
                return None, -1, ()
            raise DataFolderError(
                f"{path}: no class found in its folder names or its file-name prefix; known classes: "
                f"{', '.join(self.classes)} (case, '_', '-', spaces and a plural 's' are ignored)"
            )
        rest = tuple(p for p, lab in zip(parts, folder_labels, strict=True)
                     if lab is None and p.upper() not in _POLARIZATION_FOLDERS)
        return pol, label, (*rest, stem[:-3] if name_pol else stem)

    def _check_values(self) -> None:
        """Read a few files per class and stop (or warn) when their values contradict ``pixel_values``."""
        picked: dict[int, list[Path]] = {}
        for item, label in self.samples:
            files = picked.setdefault(label, [])
            if len(files) < PIXEL_CHECK_FILES:
                files.extend(item if isinstance(item, tuple) else (item,))
        in_unit_range = True
        for files in picked.values():
            for path in files:
                try:
                    raw = _read_raw(path)
                except CorruptFileError:
                    continue  # reported, naming the file, when the item is read
                if raw.dtype.kind not in "biuf" or raw.size == 0:
                    continue  # read_image names the problem when the item is read
                lo, hi = float(np.nanmin(raw)), float(np.nanmax(raw))
                if self.pixel_values in ("intensity", "amplitude") and lo < 0:
                    raise InvalidImageError(
                        f"{path}: holds negative values (minimum {lo:g}), which {self.pixel_values} cannot be; "
                        "the files look like decibels: pass pixel_values='db'"
                    )
                in_unit_range &= lo >= 0 and hi <= 1
        if self.pixel_values == "db" and in_unit_range:
            warnings.warn(
                f"{self.root}: every value checked lies in [0, 1], which as decibels would make every pixel "
                "nearly the same intensity; a [0, 1] range usually means normalised amplitude: pass "
                "pixel_values='amplitude'",
                UserWarning,
                stacklevel=3,
            )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        item, label = self.samples[index]
        if self.polarization == "both":
            vv_path, vh_path = item
            vv, vh = read_image(vv_path, self.pixel_values), read_image(vh_path, self.pixel_values)
            if vv.shape != vh.shape:
                raise InvalidImageError(
                    f"{vv_path} (shape {vv.shape}) and {vh_path} (shape {vh.shape}): the VV and VH images "
                    "of a pair have different shapes"
                )
            image = torch.from_numpy(np.stack([vv, vh]))
        else:
            image = torch.from_numpy(read_image(item, self.pixel_values))[None]
        if self.transform is not None:
            image = self.transform(image)
        return image, label

    def __repr__(self) -> str:
        return (
            f"OpenSARUrban(root={str(self.root)!r}, polarization={self.polarization!r}, "
            f"pixel_values={self.pixel_values!r}, {len(self)} samples, {len(self.classes)} classes)"
        )


# ----------------------------------------------------------------------------------------------------------
# MSTAR: class names, serial numbers, depressions
# ----------------------------------------------------------------------------------------------------------

MSTAR_CLASSES: tuple[str, ...] = ("2S1", "BMP2", "BRDM2", "BTR60", "BTR70", "D7", "T62", "T72", "ZIL131", "ZSU234")
# The standard operating condition (SOC): train on 17 degrees depression, test on 15 (chips per class).
MSTAR_SOC_COUNTS: dict[str, tuple[int, int]] = {
    "2S1": (299, 274), "BMP2": (233, 195), "BRDM2": (298, 274), "BTR60": (256, 195), "BTR70": (233, 196),
    "D7": (299, 274), "T62": (299, 273), "T72": (232, 196), "ZIL131": (299, 274), "ZSU234": (299, 274),
}
MSTAR_SPLIT_DEPRESSION: dict[str, int] = {"train": 17, "test": 15}
# Serial numbers of the public release (TargetSerNum, SN_<serial> folders), lower case without separators.
MSTAR_SERIALS: dict[str, str] = {
    "9563": "BMP2", "9566": "BMP2", "c21": "BMP2", "c71": "BTR70", "132": "T72", "812": "T72", "s7": "T72",
    "b01": "2S1", "e71": "BRDM2", "k10yt7532": "BTR60", "92v13015": "D7", "a51": "T62", "e12": "ZIL131",
    "d08": "ZSU234",
}
_MSTAR_KEYS = {"".join(ch for ch in c.lower() if ch.isalnum()): c for c in MSTAR_CLASSES}
_DEPRESSION_FOLDER = re.compile(r"^(\d{1,2})_?deg(rees?)?$", re.IGNORECASE)
_SPLIT_FOLDERS = {"train": "train", "training": "train", "test": "test", "testing": "test"}
_MSTAR_MAG_SUFFIXES = ("_mag", "_magnitude", "_amp", "_amplitude")
_MSTAR_SKIP_SUFFIXES = ("_phase", "_pha", "_phs")
MSTAR_IMAGE_EXTENSIONS: tuple[str, ...] = (*PIL_EXTENSIONS, ".tif", ".tiff", ".npy")


def _alnum(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def mstar_class(name: str) -> str | None:
    """The standard MSTAR class a header TargetType or a folder name spells, or None.

    Accepts ``bmp2_tank``, ``BMP-2``, ``BTR70(SN_C71)``, ``T72(SN_132)``, ``BRDM_2``, ``ZSU_23_4``, ``ZIL-131``,
    ``2s1_gun``, and serial-number folders such as ``SN_9563``.
    """
    text = re.sub(r"\(.*?\)", "", str(name))
    key = _alnum(text)
    if key in _MSTAR_KEYS:
        return _MSTAR_KEYS[key]
    for cls_key in sorted(_MSTAR_KEYS, key=len, reverse=True):
        rest = key[len(cls_key):]
        if key.startswith(cls_key) and rest and (rest.isalpha() or rest.startswith("sn")):
            if rest.startswith("sn") and rest[2:] in MSTAR_SERIALS and MSTAR_SERIALS[rest[2:]] != _MSTAR_KEYS[cls_key]:
                return None
            return _MSTAR_KEYS[cls_key]
    if key.startswith("sn") and key[2:] in MSTAR_SERIALS:
        return MSTAR_SERIALS[key[2:]]
    return None


def _chip_id(path: Path) -> str:
    """A chip's name without image extensions and magnitude suffixes: ``HB14931.015.jpeg`` -> ``HB14931.015``."""
    name = path.name
    while Path(name).suffix.lower() in MSTAR_IMAGE_EXTENSIONS:
        name = name[: -len(Path(name).suffix)]
    for suffix in _MSTAR_MAG_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _header_depression(path: Path, header: Mapping[str, str]) -> int | None:
    text = header.get("DesiredDepression", header.get("MeasuredDepression"))
    if text is None:
        return None
    try:
        return int(round(float(text)))
    except ValueError as err:
        raise CorruptFileError(
            f"{path}: the Phoenix header field 'DesiredDepression' is {text!r}, not a number"
        ) from err


def read_phoenix_header(path: PathLike) -> dict[str, str]:
    """The header fields of an MSTAR Phoenix file without reading its pixels."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw, _ = _scan_phoenix_header(path, f)
    except OSError as err:
        raise CorruptFileError(f"{path}: cannot be opened ({type(err).__name__}: {err})") from err
    return _parse_phoenix_text(raw.decode("latin-1"))


class MSTARFolder(Dataset):
    """MSTAR chips below ``root`` at any depth, as the public release or a converted copy lays them out.

    Phoenix files (any extension, found by content) are labelled from their header (``TargetType``, or
    ``TargetSerNum`` when the type names no class); images (PNG/JPEG/TIFF) and ``.npy`` magnitude arrays
    (``HB19954.025_Mag.npy``; ``_Phase`` arrays are skipped) from the nearest folder that names a class
    (``BMP-2``, ``BTR70(SN_C71)``, ``ZSU_23_4``, ``SN_9563`` ...). Where a Phoenix file and an image of the same
    chip both exist, the Phoenix file is used. ``classes`` are the standard names present, in the standard
    order (:data:`MSTAR_CLASSES`); ``depressions`` holds each chip's depression in degrees (header or a ``17_DEG``
    folder; None when unknown); ``split="train"`` keeps the 17-degree chips, ``"test"`` the 15-degree ones (and,
    where the depression is unknown, chips below a ``train`` / ``test`` folder).

    Items are (image, label): ``image`` a float32 tensor (1, size, size) of magnitude (linear amplitude; grey
    values for images), centre-cropped or zero-padded to ``size`` (None keeps each chip's own size).
    ``masks`` is an optional folder of target / shadow masks (SARBake-style): per chip
    ``<chip>_target.<ext>`` and ``<chip>_shadow.<ext>`` (non-zero = inside), or one ``<chip>.<ext>`` label
    image with 1 = target and 2 = shadow; :meth:`masks_of` returns them.
    """

    def __init__(
        self,
        root: PathLike,
        size: int | None = 128,
        split: str | None = None,
        masks: PathLike | None = None,
        transform: Callable[[torch.Tensor], Any] | None = None,
    ) -> None:
        if size is not None and (
            not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1
        ):
            raise ValueError(f"size={size!r} must be a positive integer or None")
        if split not in (None, "train", "test"):
            raise ValueError(f"split={split!r} must be None, 'train' (17 degrees) or 'test' (15 degrees)")
        self.size: int | None = None if size is None else int(size)
        self.split = split
        self.transform = transform
        self.root: Path = _check_root(root)
        phoenix: list[tuple[Path, str, int | None, str | None]] = []
        images: list[tuple[Path, str, int | None, str | None]] = []
        skipped_images: list[Path] = []
        for path in _walk_files(self.root):
            parts = path.relative_to(self.root).parts[:-1]
            folder_depression = next(
                (int(m.group(1)) for p in reversed(parts) if (m := _DEPRESSION_FOLDER.match(p))), None
            )
            folder_split = next((_SPLIT_FOLDERS[p.lower()] for p in reversed(parts) if p.lower() in _SPLIT_FOLDERS),
                                None)
            folder_class = next((c for p in reversed(parts) if (c := mstar_class(p)) is not None), None)
            if is_phoenix_file(path):
                header = read_phoenix_header(path)
                cls = mstar_class(header.get("TargetType", "")) or MSTAR_SERIALS.get(
                    _alnum(header.get("TargetSerNum", ""))) or folder_class
                if cls is None:
                    raise DataFolderError(
                        f"{path}: its header (TargetType={header.get('TargetType')!r}, "
                        f"TargetSerNum={header.get('TargetSerNum')!r}) and its folders name no MSTAR class; "
                        f"known: {', '.join(MSTAR_CLASSES)}"
                    )
                depression = _header_depression(path, header)
                phoenix.append((path, cls, depression if depression is not None else folder_depression, folder_split))
                continue
            suffix = path.suffix.lower()
            if suffix not in MSTAR_IMAGE_EXTENSIONS:
                continue
            if any(_chip_id(path).lower().endswith(s) or path.stem.lower().endswith(s) for s in _MSTAR_SKIP_SUFFIXES):
                continue
            if folder_class is None:
                skipped_images.append(path)
                continue
            images.append((path, folder_class, folder_depression, folder_split))
        phoenix_ids = {p.name for p, *_ in phoenix}
        images = [item for item in images if _chip_id(item[0]) not in phoenix_ids]
        if skipped_images and not (phoenix or images):
            raise DataFolderError(
                f"{skipped_images[0]}: no folder above it names an MSTAR class ({', '.join(MSTAR_CLASSES)}, in any "
                "spelling such as BMP-2, BTR70(SN_C71), ZSU_23_4), so it cannot be labelled"
            )
        if skipped_images:
            raise DataFolderError(
                f"{skipped_images[0]}: an image whose folders name no MSTAR class ({len(skipped_images)} such "
                "files); move it under a class folder or out of the dataset folder"
            )
        items = sorted(phoenix + images, key=lambda t: (MSTAR_CLASSES.index(t[1]), str(t[0])))
        if not items:
            raise DataFolderError(
                f"{self.root}: holds no MSTAR chip: no Phoenix file (starting with {PHOENIX_MAGIC.decode()!r}) and "
                f"no {', '.join(MSTAR_IMAGE_EXTENSIONS)} image below a class folder"
            )
        if split is not None:
            want = MSTAR_SPLIT_DEPRESSION[split]
            kept = [t for t in items if (t[2] == want if t[2] is not None else t[3] == split)]
            if not kept:
                raise DataFolderError(
                    f"{self.root}: no chip belongs to split={split!r}: none has a {want}-degree depression (header "
                    f"DesiredDepression or a {want}_DEG folder) or lies below a {split!r} folder"
                )
            items = kept
        self.classes: list[str] = [c for c in MSTAR_CLASSES if any(t[1] == c for t in items)]
        self.samples: list[tuple[Path, int]] = [(t[0], self.classes.index(t[1])) for t in items]
        self.targets: list[int] = [label for _, label in self.samples]
        self.depressions: list[int | None] = [t[2] for t in items]
        self.mask_root: Path | None = None if masks is None else _check_root(masks)
        self._masks: dict[str, dict[str, Path]] = self._index_masks() if self.mask_root is not None else {}

    def _index_masks(self) -> dict[str, dict[str, Path]]:
        """Mask files by chip name: {"target": path, "shadow": path} or {"labels": path}."""
        assert self.mask_root is not None
        index: dict[str, dict[str, Path]] = {}
        for path in _walk_files(self.mask_root):
            if path.suffix.lower() not in MSTAR_IMAGE_EXTENSIONS:
                continue
            name = _chip_id(path)
            kind = "labels"
            for k in ("target", "shadow"):
                if name.lower().endswith("_" + k):
                    name, kind = name[: -len(k) - 1], k
            index.setdefault(name, {})[kind] = path
        chip_ids = {_chip_id(p) if not is_phoenix_file(p) else p.name for p, _ in self.samples}
        if not chip_ids & set(index):
            raise DataFolderError(
                f"{self.mask_root}: no mask file matches a chip name (expected e.g. "
                f"{self.mask_root / (_chip_id(self.samples[0][0]) + '_target.png')})"
            )
        return index

    def masks_of(self, index: int) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The (target, shadow) masks of item ``index`` (bool, fitted to ``size``; shadow None if not given), or
        None when no mask file names this chip."""
        path, _ = self.samples[index]
        files = self._masks.get(path.name if is_phoenix_file(path) else _chip_id(path))
        if not files:
            return None
        if "labels" in files:
            labels = read_image(files["labels"], "intensity")
            target, shadow = labels == 1, labels == 2
        else:
            if "target" not in files:
                raise DataFolderError(f"{files['shadow']}: a shadow mask without a target mask for {path.name}")
            target = read_image(files["target"], "intensity") > 0
            shadow = read_image(files["shadow"], "intensity") > 0 if "shadow" in files else None
        if self.size is not None:
            target = fit_to_size(target.astype(np.float32), self.size) > 0.5
            shadow = None if shadow is None else fit_to_size(shadow.astype(np.float32), self.size) > 0.5
        return target, shadow

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        if path.suffix.lower() in MSTAR_IMAGE_EXTENSIONS and not is_phoenix_file(path):
            magnitude = read_image(path, "intensity")  # grey values or stored magnitude, returned unchanged
        else:
            _, magnitude, _ = read_mstar(path)
        if self.size is not None:
            magnitude = fit_to_size(magnitude, self.size)
        image = torch.from_numpy(np.ascontiguousarray(magnitude, dtype=np.float32))[None]
        if self.transform is not None:
            image = self.transform(image)
        return image, label

    def __repr__(self) -> str:
        return (
            f"MSTARFolder(root={str(self.root)!r}, size={self.size}, split={self.split!r}, {len(self)} samples, "
            f"classes={self.classes})"
        )
