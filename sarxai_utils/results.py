"""Expensive lesson results cached on disk like checkpoints, keyed by everything that determines them.

``results.cached("Table 1, VV", compute, key={"model": net, "images": x, "radius": 0.02})`` returns ``compute()``'s
value, from ``<data dir>/results`` when an entry with the same key exists. The key is a fingerprint of every part
(a model's weights, the bytes of arrays and tensors, settings) plus the source of the package modules that compute
it (``code``) and the versions of torch, captum and torchcam, so a change of any of them computes the result again.
Each entry is one file, a JSON header line then the pickled value, written atomically (concurrent writers leave one
whole file) and verified on load (key, size, sha256): a corrupt or stale entry is recomputed, never used. A line
says whether the result was loaded (when it was computed and in how many seconds) or computed; ``recompute=True``
computes it again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import pickle
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from . import config
from .cache import atomic_write_bytes
from .errors import CacheError

T = TypeVar("T")
FORMAT = 1  # the entry layout; a change makes old entries stale
PACKAGE_DIR = Path(__file__).resolve().parent
# the modules whose code computes the lessons' expensive results: a change to any of them recomputes every entry
DEFAULT_CODE: tuple[str, ...] = ("cam", "datasets", "evaluation", "explain", "localization", "metrics", "sar",
                                 "smoothing")
LIBRARIES: tuple[str, ...] = ("torch", "captum", "torchcam", "numpy", "scipy")


@dataclass(frozen=True)
class Entry:
    """What :func:`cached` did for one result: loaded or computed, when and in how long, and where it lies."""

    name: str
    path: Path | None  # None when the cache is disabled
    loaded: bool
    created: str  # ISO time the value was computed
    seconds: float  # how long computing it took (then, for a loaded entry)

    def describe(self) -> str:
        """One line for the learner: loaded (computed when, in how long) or computed now."""
        when = dt.datetime.fromisoformat(self.created).strftime("%Y-%m-%d %H:%M")
        if self.loaded:
            return (f"{self.name}: loaded from the results cache (computed {when} in {_seconds(self.seconds)}); "
                    "RECOMPUTE = True computes it again")
        return f"{self.name}: computed in {_seconds(self.seconds)}" + (" and cached" if self.path is not None else "")


def _seconds(value: float) -> str:
    """A duration for a learner: whole seconds, or "<1 s"."""
    return "<1 s" if value < 0.5 else f"{value:.0f} s"


LAST: list[Entry] = []  # every entry of this session, in order (lessons and tests read it)
_QUIET = [0]  # > 0 inside collect(): entries are summed up in one line instead of one line each


# ------------------------------------------------------------------------------------------------ fingerprints
def _feed(digest: Any, value: Any, where: str) -> None:
    """Add ``value`` to ``digest`` unambiguously (type tag, then content); ``where`` names it in errors."""
    if isinstance(value, nn.Module):
        digest.update(f"module:{type(value).__name__}:".encode())
        for name, tensor in value.state_dict().items():
            digest.update(name.encode())
            _feed(digest, tensor, f"{where}.{name}")
    elif isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        digest.update(f"tensor:{t.dtype}:{tuple(t.shape)}:".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        if a.dtype == object:
            raise TypeError(f"key part {where!r} is an object array, which has no stable fingerprint")
        digest.update(f"array:{a.dtype.str}:{a.shape}:".encode())
        digest.update(a.tobytes())
    elif value is None or isinstance(value, (bool, int, float, str, np.generic)):
        scalar = value.item() if isinstance(value, np.generic) else value
        digest.update(f"{type(scalar).__name__}:{scalar!r};".encode())
    elif isinstance(value, Mapping):
        digest.update(f"map:{len(value)}:".encode())
        for key in sorted(value, key=str):
            digest.update(f"{key!s}=".encode())
            _feed(digest, value[key], f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        digest.update(f"seq:{len(value)}:".encode())
        for k, item in enumerate(value):
            _feed(digest, item, f"{where}[{k}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(f"dataclass:{type(value).__name__}:".encode())
        _feed(digest, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, where)
    else:
        raise TypeError(f"key part {where!r} of type {type(value).__name__} has no fingerprint: pass arrays, tensors, "
                        "models, numbers, strings or dicts / lists of them")


def fingerprint(value: Any, where: str = "value") -> str:
    """The sha256 hex digest of ``value``: a model's weights, the bytes of arrays and tensors, numbers, strings,
    dataclasses, and dicts and sequences of them (dict order does not matter; ``where`` names it in errors)."""
    digest = hashlib.sha256()
    _feed(digest, value, where)
    return digest.hexdigest()


def code_version(modules: Sequence[str] = DEFAULT_CODE) -> str:
    """A hash of the source of the named ``sarxai_utils`` modules and of the library versions that compute results."""
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        path = PACKAGE_DIR / f"{name}.py"
        if not path.is_file():
            raise ValueError(f"code names {name!r}, but there is no module {path}")
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    for library in LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=absent;".encode())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------ entries
def entry_path(directory: Path, name: str, key: str) -> Path:
    """The file of the entry ``name`` with the full ``key``: a readable slug of the name and 16 hex digits."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "result"
    return Path(directory) / f"{slug}-{key[:16]}.pkl"


def write_entry(path: Path, name: str, key: str, value: Any, seconds: float) -> Entry:
    """Pickle ``value`` behind a JSON header (key, size, sha256, when, how long) into one atomically written file."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    created = dt.datetime.now().isoformat(timespec="seconds")
    header = {"format": FORMAT, "name": name, "key": key, "bytes": len(payload),
              "sha256": hashlib.sha256(payload).hexdigest(), "created": created, "seconds": round(seconds, 3)}
    blob = json.dumps(header).encode() + b"\n" + payload
    atomic_write_bytes(path, lambda fh: fh.write(blob))
    return Entry(name, Path(path), False, created, seconds)


def read_entry(path: Path, key: str) -> tuple[Any, Entry]:
    """The value stored at ``path`` and its :class:`Entry`; :class:`CacheError` naming the file if the header,
    the key, the size, the hash or the pickle is wrong."""
    try:
        blob = Path(path).read_bytes()
    except OSError as err:
        raise CacheError(f"results cache entry {path} cannot be read: {err}") from err
    head, sep, payload = blob.partition(b"\n")
    try:
        header = json.loads(head) if sep else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CacheError(f"results cache entry {path} has no valid header (format {FORMAT})")
    if header.get("key") != key:
        raise CacheError(f"results cache entry {path} was written for another key")
    if header.get("bytes") != len(payload) or header.get("sha256") != hashlib.sha256(payload).hexdigest():
        raise CacheError(f"results cache entry {path} is truncated or corrupt: its size or sha256 does not match "
                         "its header")
    try:
        value = pickle.loads(payload)
    except Exception as err:  # a payload that passes the hash but no longer unpickles (a renamed class)
        raise CacheError(f"results cache entry {path} cannot be unpickled: {type(err).__name__}: {err}") from err
    return value, Entry(str(header.get("name")), Path(path), True, str(header["created"]), float(header["seconds"]))


def results_dir() -> Path:
    """Where results are cached: ``<data dir>/results`` (``SARXAI_DATA`` moves it with the checkpoints)."""
    return config.data_dir() / "results"


def cached(name: str, compute: Callable[[], T], key: Mapping[str, Any], code: Sequence[str] = DEFAULT_CODE,
           recompute: bool = False, directory: Path | str | None = None, enabled: bool = True,
           verbose: bool = True) -> T:
    """``compute()``'s value, loaded from the results cache when an entry for ``name`` and ``key`` (every input
    that determines the value: models, arrays, settings) and the source of the ``code`` modules exists and is
    intact, else computed and stored. ``recompute=True`` computes it again and replaces the entry; ``enabled=False``
    neither reads nor writes. ``verbose`` prints one line saying which happened. The :class:`Entry` is appended to
    ``results.LAST``."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not callable(compute):
        raise TypeError(f"compute must be callable, got {type(compute).__name__}")
    if not isinstance(key, Mapping):
        raise TypeError(f"key must be a mapping of the inputs that determine {name!r}, got {type(key).__name__}")
    verbose = verbose and not _QUIET[0]
    if not enabled:
        start = time.perf_counter()
        value = compute()
        entry = Entry(name, None, False, dt.datetime.now().isoformat(timespec="seconds"), time.perf_counter() - start)
        LAST.append(entry)
        if verbose:
            print(entry.describe())
        return value
    full_key = fingerprint([name, fingerprint(dict(key), "key"), code_version(code)])
    path = entry_path(Path(directory) if directory is not None else results_dir(), name, full_key)
    entry = None
    if path is not None and path.exists() and not recompute:
        try:
            value, entry = read_entry(path, full_key)
        except CacheError as err:
            if verbose:
                print(f"{err}: computing it again")
    if entry is None:
        start = time.perf_counter()
        value = compute()
        entry = write_entry(path, name, full_key, value, time.perf_counter() - start)
    LAST.append(entry)
    if verbose:
        print(entry.describe())
    return value


def summary(what: str, entries: Sequence[Entry]) -> str:
    """One line on many entries: how many results were computed now and how many were loaded (computed when, in how
    many seconds then)."""
    loaded = [e for e in entries if e.loaded]
    fresh = [e for e in entries if not e.loaded]
    parts = []
    if fresh:
        parts.append(f"{len(fresh)} of {len(entries)} results computed in {_seconds(sum(e.seconds for e in fresh))}")
    if loaded:
        times = sorted(dt.datetime.fromisoformat(e.created) for e in loaded)
        first, last = times[0].strftime("%Y-%m-%d %H:%M"), times[-1].strftime("%Y-%m-%d %H:%M")
        span = first if first == last else f"{first} to {last[-5:] if last[:10] == first[:10] else last}"
        parts.append(f"{len(loaded)} of {len(entries)} loaded from the results cache (computed {span}, "
                     f"{_seconds(sum(e.seconds for e in loaded))} of computing); RECOMPUTE = True computes them again")
    return f"{what}: " + "; ".join(parts) if parts else f"{what}: nothing to compute"


@contextmanager
def collect(what: str, verbose: bool = True) -> Iterator[list[Entry]]:
    """Gather the entries of every :func:`cached` call in the block into the yielded list and print one
    :func:`summary` line for them at the end (instead of a line each)."""
    start = len(LAST)
    entries: list[Entry] = []
    _QUIET[0] += 1
    try:
        yield entries
    finally:
        _QUIET[0] -= 1
    entries.extend(LAST[start:])
    if verbose:
        print(summary(what, entries))
