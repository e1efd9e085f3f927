"""Headline numbers of a lesson run, recorded so that the README quotes a run instead of typed numbers.

A lesson calls ``recorded.record("12", cfg.name, DATA, speckle_vs_max_vv=6.1, ...)`` after computing them; each
lesson's numbers go to ``<data dir>/results/recorded/<profile>-<data>/<lesson>.json`` with the date. ``make course``
gathers the numbers of the lessons it ran into ``build/recorded_numbers.json`` (:func:`gather`), and
``benchmarks/readme_numbers.py`` writes the README's measured paragraphs from that file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers as numeric
import re
from pathlib import Path

from . import config
from .cache import atomic_write_bytes

Number = int | float | str  # numpy scalars are accepted and stored as int or float


def recorded_dir(profile: str, data: str = "embedded") -> Path:
    """Where the lessons' numbers of one profile and data source are recorded."""
    return config.data_dir() / "results" / "recorded" / f"{profile}-{data}"


def _check(lesson: str, numbers: dict[str, Number]) -> None:
    if not re.fullmatch(r"\d\d", lesson):
        raise ValueError(f"lesson must be a two-digit lesson number such as '08', not {lesson!r}")
    if not numbers:
        raise ValueError(f"lesson {lesson}: record at least one number")
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, numeric.Real | str):
            raise TypeError(f"lesson {lesson}: {name} must be a number or text, not {type(value).__name__}")
        if isinstance(value, numeric.Real) and not math.isfinite(value):
            raise ValueError(f"lesson {lesson}: {name} is {value}, not a finite number")


def _plain(value: Number) -> Number:
    """A numpy scalar as a plain int or float (JSON), anything else unchanged."""
    if isinstance(value, numeric.Integral):
        return int(value)
    return float(value) if isinstance(value, numeric.Real) else value


def record(lesson: str, profile: str, data: str = "embedded", **numbers: Number) -> None:
    """Record a lesson's headline numbers for a profile and data source (returns nothing, so that a lesson cell
    ending with it shows nothing); numbers recorded before under other names are kept, the same names replaced."""
    _check(lesson, numbers)
    path = recorded_dir(profile, data) / f"{lesson}.json"
    previous = read(path)["numbers"] if path.exists() else {}
    payload = {"lesson": lesson, "profile": profile, "data": data,
               "recorded": dt.datetime.now().isoformat(timespec="seconds"),
               "numbers": {**previous, **{k: _plain(v) for k, v in numbers.items()}}}
    blob = (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode()
    atomic_write_bytes(path, lambda fh: fh.write(blob))


def read(path: Path) -> dict:
    """One lesson's record; ``ValueError`` naming the file if it is not a valid record."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"recorded numbers {path} cannot be read: {err}") from err
    if not isinstance(payload, dict) or not isinstance(payload.get("numbers"), dict):
        raise ValueError(f"recorded numbers {path} have no 'numbers' mapping")
    return payload


def gather(profile: str, lessons: list[str] | None = None, data: str = "embedded") -> dict:
    """The records of ``lessons`` (default: all recorded) for a profile and data source:
    ``{"profile", "data", "lessons": {"12": {"recorded": date, "numbers": {...}}}}``."""
    directory = recorded_dir(profile, data)
    found = {}
    for path in sorted(directory.glob("[0-9][0-9].json")) if directory.exists() else []:
        if lessons is None or path.stem in lessons:
            payload = read(path)
            found[path.stem] = {"recorded": payload.get("recorded"), "numbers": payload["numbers"]}
    return {"profile": profile, "data": data, "lessons": found}
