"""Where the benchmarks keep their numbers: one JSON file per benchmark in ``benchmarks/results/``, stamped with the
date, commit and machine it ran on, from which ``readme_numbers.py`` writes the README's benchmark paragraphs (so
those numbers are measured, not typed)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def default_path(name: str) -> Path:
    """The kept results file of benchmark ``name`` (the one the README is written from)."""
    return RESULTS / f"{name}.json"


def machine() -> dict:
    """When, at which commit and on what this run measured: date, commit, CPU cores, architecture, device, torch."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"date": dt.date.today().isoformat(), "commit": commit, "cores": cores, "machine": platform.machine(),
            "device": "cuda" if torch.cuda.is_available() else "cpu", "torch": torch.__version__}


def save(path: Path, report: dict) -> None:
    """Write ``report`` with the machine stamp to ``path`` (JSON) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"measured": machine(), **report}, indent=1) + "\n")
    print(f"\nwrote {path}")
