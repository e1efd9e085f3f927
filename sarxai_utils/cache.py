"""An on-disk cache of numpy arrays keyed by the settings that made them, with a manifest and atomic writes.

Each entry is ``<kind>-<key>.npz`` plus ``<kind>-<key>.json`` (the manifest: kind, version, parameters,
sha256 of the array file, shapes). The manifest is written last, so an entry without one is incomplete.
A file whose hash, parameters or arrays do not match its manifest is reported and rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CacheError


def cache_key(kind: str, params: dict[str, Any]) -> str:
    """A short stable hash of the kind and parameters (JSON with sorted keys)."""
    text = json.dumps({"kind": kind, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, writer: Callable[[Any], None]) -> None:
    """Write a file through ``writer(file_object)`` into a temporary sibling, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; cache files are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def entry_paths(directory: Path, kind: str, params: dict[str, Any]) -> tuple[Path, Path]:
    """The (array file, manifest) paths of the cache entry for ``kind`` and ``params``."""
    stem = f"{kind}-{cache_key(kind, params)}"
    return Path(directory) / f"{stem}.npz", Path(directory) / f"{stem}.json"


def load_entry(directory: Path, kind: str, params: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """The cached arrays for ``kind``/``params``; None if absent; :class:`CacheError` if corrupt."""
    data_path, manifest_path = entry_paths(directory, kind, params)
    if not manifest_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as err:
        raise CacheError(f"cache manifest {manifest_path} is unreadable: {err}") from err
    if not isinstance(manifest, dict):
        raise CacheError(f"cache manifest {manifest_path} is not a JSON object")
    if manifest.get("kind") != kind or manifest.get("params") != json.loads(json.dumps(params, default=str)):
        raise CacheError(f"cache manifest {manifest_path} was written for other settings")
    if not data_path.exists():
        raise CacheError(f"cache file {data_path} is missing although its manifest exists")
    if sha256_file(data_path) != manifest.get("sha256"):
        raise CacheError(f"cache file {data_path} does not match the sha256 in {manifest_path.name}")
    try:
        with np.load(data_path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as err:
        raise CacheError(f"cache file {data_path} cannot be read: {err}") from err
    expected = manifest.get("arrays", {})
    got = {k: [list(v.shape), str(v.dtype)] for k, v in arrays.items()}
    if got != expected:
        raise CacheError(f"cache file {data_path} holds arrays {got}, its manifest says {expected}")
    return arrays


def save_entry(directory: Path, kind: str, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write arrays and their manifest atomically; returns the array file's path."""
    data_path, manifest_path = entry_paths(directory, kind, params)
    atomic_write_bytes(data_path, lambda fh: np.savez(fh, **arrays))
    manifest = {
        "kind": kind,
        "params": json.loads(json.dumps(params, default=str)),
        "sha256": sha256_file(data_path),
        "arrays": {k: [list(v.shape), str(v.dtype)] for k, v in arrays.items()},
        "file": data_path.name,
    }
    atomic_write_bytes(manifest_path, lambda fh: fh.write(json.dumps(manifest, indent=2).encode()))
    return data_path


def cached_arrays(directory: Path | None, kind: str, params: dict[str, Any],
                  build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays for ``kind``/``params`` from the cache, built (and cached) when absent or corrupt.

    ``directory=None`` disables the cache. A corrupt entry is reported with a warning and rebuilt.
    """
    if directory is None:
        return build()
    try:
        arrays = load_entry(directory, kind, params)
    except CacheError as err:
        warnings.warn(f"{err}; rebuilding it", RuntimeWarning, stacklevel=2)
        arrays = None
    if arrays is None:
        arrays = build()
        save_entry(directory, kind, params, arrays)
    return arrays
