"""Readers of SAR image files on disk: single images, MSTAR Phoenix files, OpenSARUrban and MSTAR folders.

``read_image`` returns LINEAR INTENSITY (float32, H x W) whatever the file stores (intensity, amplitude or
dB); ``read_mstar`` reads (and ``write_mstar`` writes) the MSTAR Phoenix format (ASCII header, then
big-endian float32 magnitude and optionally phase). ``OpenSARUrban`` and ``MSTARFolder`` are torch Datasets
over class folders that index files when built and read them lazily.

Every file is opened read-only; errors are the classes of :mod:`sarxai_utils.errors` and name the file or the
argument at fault.
"""

from __future__ import annotations

import os
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
    """The header bytes before ``[EndofPhoenixHeader]`` and the offset just after that marker."""
    buf = b""
    while len(buf) < PHOENIX_MAX_HEADER_BYTES:
        chunk = f.read(4096)
        if not chunk:
            break
        buf += chunk
        if len(buf) >= len(PHOENIX_MAGIC) and not buf.startswith(PHOENIX_MAGIC):
            break
        idx = buf.find(PHOENIX_END)
        if idx >= 0:
            return buf[:idx], idx + len(PHOENIX_END)
    if not buf.startswith(PHOENIX_MAGIC):
        raise CorruptFileError(
            f"{path}: is not an MSTAR Phoenix file, it does not start with {PHOENIX_MAGIC.decode()!r}"
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
) -> None:
    """Write an MSTAR Phoenix file: magnitude (and phase), both (rows, cols), as big-endian float32.

    The ASCII header holds ``header_extra`` as ``Key= value`` lines; its length (PhoenixHeaderLength, padded
    to a multiple of 4 bytes) depends on those lines; ``native_header_length`` zero bytes follow it.
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
            "[PhoenixHeaderVer01.04]\n"
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
    """True when the file at ``path`` starts with ``[PhoenixHeaderVer`` (an MSTAR Phoenix file)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(PHOENIX_MAGIC)) == PHOENIX_MAGIC
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


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not _is_hidden(p.name))


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


class OpenSARUrban(Dataset):
    """OpenSARUrban-style class folders of Sentinel-1 patches; items are (image, label).

    ``image`` is a float32 tensor (C, H, W) of linear intensity with C = 1 ("VV" or "VH") or 2 ("both":
    [VV, VH]); ``label`` is an int index into ``classes``.
    """

    def __init__(
        self,
        root: PathLike,
        polarization: str = "VV",
        pixel_values: str = "intensity",
        transform: Callable[[torch.Tensor], Any] | None = None,
        classes: Sequence[str] = OPENSARURBAN_CLASSES,
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
        by_key: dict[str, int] = {}
        for i, name in enumerate(self.classes):
            key = _normalize_class_name(name)
            if key in by_key:
                raise ValueError(
                    f"classes: {name!r} and {self.classes[by_key[key]]!r} are the same class name "
                    "once case, '_', '-', spaces and a plural 's' are ignored"
                )
            by_key[key] = i
        self.root: Path = _check_root(root)

        folders = _class_dirs(self.root)
        if not folders:
            raise DataFolderError(
                f"{self.root}: has no class folders; expected one folder per class, e.g. "
                f"{self.root / self.classes[0]}/VV/<image>.tif or "
                f"{self.root / self.classes[0]}/<image>_vv.tif"
            )
        samples: list[tuple[Any, int]] = []
        for folder in folders:
            key = _normalize_class_name(folder.name)
            if key not in by_key:
                raise DataFolderError(
                    f"{folder}: the folder name matches no known class; "
                    f"known classes: {', '.join(self.classes)} "
                    "(case, '_', '-', spaces and a plural 's' are ignored)"
                )
            label = by_key[key]
            items = self._index_class(folder)
            if not items:
                wanted = "VV and VH" if self.polarization == "both" else self.polarization
                raise DataFolderError(
                    f"{folder}: empty class, no {wanted} image found (images go in sub-folders VV / VH "
                    f"or are named <name>_vv / <name>_vh, with extension {', '.join(IMAGE_EXTENSIONS)})"
                )
            samples.extend((item, label) for item in items)
        samples.sort(key=lambda s: (s[1], str(s[0])))
        self.samples: list[tuple[Any, int]] = samples
        self.targets: list[int] = [label for _, label in samples]

    def _index_class(self, folder: Path) -> list[Any]:
        """The sorted files (or (VV, VH) pairs) of the requested polarization below one class folder."""
        files: dict[str, list[Path]] = {"VV": [], "VH": []}
        keys: dict[str, dict[tuple[str, ...], Path]] = {"VV": {}, "VH": {}}
        for path in _walk_files(folder):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            parts = path.relative_to(folder).parts[:-1]
            dir_pols = {p.upper() for p in parts if p.upper() in ("VV", "VH")}
            stem = path.stem
            name_pol = stem[-2:].upper() if stem[-3:].lower() in ("_vv", "_vh") else None
            if len(dir_pols) > 1 or (dir_pols and name_pol and name_pol not in dir_pols):
                raise DataFolderError(
                    f"{path}: its folder names and its file name give different polarizations"
                )
            pol = next(iter(dir_pols)) if dir_pols else name_pol
            if pol is None:
                continue  # not a polarized image (e.g. a quick-look): ignored
            files[pol].append(path)
            if self.polarization == "both":
                # the pairing key: the path below the class folder without VV / VH folders, suffix, extension
                key = (*(p for p in parts if p.upper() not in ("VV", "VH")), stem[:-3] if name_pol else stem)
                if key in keys[pol]:
                    raise DataFolderError(
                        f"{path}: cannot be paired, {keys[pol][key]} has the same name once the polarization "
                        "and the extension are removed"
                    )
                keys[pol][key] = path
        if self.polarization != "both":
            return sorted(files[self.polarization])
        pairs: list[tuple[Path, Path]] = []
        for key in sorted(set(keys["VV"]) | set(keys["VH"])):
            vv, vh = keys["VV"].get(key), keys["VH"].get(key)
            if vv is None or vh is None:
                lone, missing = (vv, "VH") if vh is None else (vh, "VV")
                raise DataFolderError(
                    f"{lone}: has no {missing} partner (polarization='both' pairs VV and VH files whose "
                    "names match once the VV / VH folder or the _vv / _vh suffix is removed)"
                )
            pairs.append((vv, vh))
        return pairs

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


class MSTARFolder(Dataset):
    """MSTAR class folders of Phoenix files (any extension, found by content) and/or PNG/JPEG chips.

    Items are (image, label): ``image`` a float32 tensor (1, H, W) of magnitude (linear amplitude; grey values
    for PNG/JPEG), centre-cropped or zero-padded to (1, size, size) when ``size`` is given.
    """

    def __init__(
        self,
        root: PathLike,
        transform: Callable[[torch.Tensor], Any] | None = None,
        size: int | None = None,
    ) -> None:
        if size is not None and (
            not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1
        ):
            raise ValueError(f"size={size!r} must be a positive integer or None")
        self.size: int | None = None if size is None else int(size)
        self.transform = transform
        self.root: Path = _check_root(root)
        folders = _class_dirs(self.root)
        if not folders:
            raise DataFolderError(
                f"{self.root}: has no class folders; expected one folder per target class, e.g. "
                f"{self.root / 'T72'}/HB03333.015"
            )
        self.classes: list[str] = [f.name for f in folders]
        samples: list[tuple[Path, int]] = []
        for label, folder in enumerate(folders):
            files = [
                p for p in _walk_files(folder) if p.suffix.lower() in PIL_EXTENSIONS or is_phoenix_file(p)
            ]
            if not files:
                raise DataFolderError(
                    f"{folder}: empty class, no MSTAR Phoenix file (a file starting with "
                    f"{PHOENIX_MAGIC.decode()!r}) and no {', '.join(PIL_EXTENSIONS)} image found"
                )
            samples.extend((p, label) for p in files)
        self.samples: list[tuple[Path, int]] = samples
        self.targets: list[int] = [label for _, label in samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        if path.suffix.lower() in PIL_EXTENSIONS:
            magnitude = read_image(path, "intensity")  # grey values, returned unchanged
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
            f"MSTARFolder(root={str(self.root)!r}, size={self.size}, {len(self)} samples, "
            f"classes={self.classes})"
        )
