"""How long does the course take from scratch, and how long does each lesson take to re-run once it has run?

Runs every lesson twice through papermill in one profile (default ``laptop``) with a fresh data directory: first
from scratch (data generated, models trained, results computed), then again, as a learner who opens a lesson after
the teacher's ``make course`` (checkpoints and the results cache are loaded). Records the time of every lesson and
every cell (named by its section heading), names the slowest cells, and marks the cells that may train a model
(they call ``load_or_train`` or ``training.train``, directly or through a function the notebook defines: they train on
the first run where no checkpoint exists, and only load it otherwise). Writes everything to a JSON file;
``--readme`` then rewrites the timing table of the README from that file (between the ``course-time`` markers), so
the README's numbers are measured, not typed. Run on an otherwise idle machine:
``.venv/bin/python benchmarks/course_time.py [--profile laptop] [--only 08 10] [--json FILE] [--readme]``
(``--table-only FILE`` rewrites the README from an earlier JSON file without running anything; ``--remeasured
FILE --why TEXT`` replaces the lessons of a report by those of a run of fewer lessons at the same commit and profile,
e.g. a lesson measured again alone because another process competed for the cores, and the table says so).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sarxai_utils import config, course  # noqa: E402

DEFAULT_JSON = REPO / "benchmarks" / "results" / "course_time_{profile}.json"
README = REPO / "README.md"
START, END = "<!-- course-time:start -->", "<!-- course-time:end -->"
TRAINING = re.compile(r"load_or_train\(|training\.train\(")
LIMITS = {"course_s": 25 * 60, "cell_s": 180, "rerun_lesson_s": 60}  # issue 16


def cell_times(executed: Path) -> list[dict]:
    """Every code cell of an executed notebook: its index, seconds (papermill's record), whether it trains a model,
    and its first line."""
    nb = json.loads(executed.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    trainers = {m.group(1) for s in sources for m in re.finditer(r"^def (\w+)\(.*?(?=^\S|\Z)", s, re.M | re.S)
                if TRAINING.search(m.group(0))}  # the notebook's own functions that train (lesson 13's train_arch)
    training = re.compile(TRAINING.pattern + "".join(rf"|\b{name}\(" for name in sorted(trainers)))
    cells, section = [], "set-up"
    for index, cell in enumerate(nb["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            headings = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("## ")]
            section = headings[-1] if headings else section
            continue
        if cell["cell_type"] != "code":
            continue
        seconds = (cell.get("metadata", {}).get("papermill", {}) or {}).get("duration") or 0.0
        cells.append({"index": index, "seconds": round(float(seconds), 2), "training": bool(training.search(source)),
                      "section": section, "first_line": source.strip().splitlines()[0][:80] if source.strip() else ""})
    return cells


def run_pass(books: list[Path], out: Path, profile: str) -> dict:
    """Execute the lessons in order into ``out``: per lesson its wall time, whether it ran, and its cells."""
    lessons = {}
    for book in books:
        result = course.execute_notebook(book, out, profile)
        cells = cell_times(out / book.name) if (out / book.name).exists() else []
        lessons[book.stem] = {"seconds": round(result.seconds, 1), "ok": result.ok, "cells": cells,
                              "error": result.error[:500]}
        print(f"  {book.stem:<34}{'ok' if result.ok else 'FAILED':<8}{result.seconds:8.1f} s", flush=True)
    return lessons


def summarise(report: dict) -> dict:
    """The numbers issue 16 asks for: totals, the slowest cells, the slowest cell outside training, the slowest
    re-run, each against its limit."""
    scratch, cached = report["scratch"], report["cached"]
    cells = [(lesson, c) for lesson, r in scratch.items() for c in r["cells"]]
    slowest = sorted(cells, key=lambda lc: -lc[1]["seconds"])[:10]
    outside = [lc for lc in cells if not lc[1]["training"]]
    worst = max(outside, key=lambda lc: lc[1]["seconds"]) if outside else None
    rerun = max(cached.items(), key=lambda kv: kv[1]["seconds"]) if cached else None
    total = sum(r["seconds"] for r in scratch.values())
    return {
        "scratch_total_s": round(total, 1),
        "cached_total_s": round(sum(r["seconds"] for r in cached.values()), 1),
        "training_s": round(sum(c["seconds"] for _, c in cells if c["training"]), 1),
        "slowest_cells": [{"lesson": lesson, **c} for lesson, c in slowest],
        "slowest_cell_outside_training": {"lesson": worst[0], **worst[1]} if worst else None,
        "slowest_rerun": {"lesson": rerun[0], "seconds": rerun[1]["seconds"]} if rerun else None,
        "limits": LIMITS,
        "within_limits": {
            "course": total <= LIMITS["course_s"],
            "cell": worst is None or worst[1]["seconds"] <= LIMITS["cell_s"],
            "rerun": rerun is None or rerun[1]["seconds"] <= LIMITS["rerun_lesson_s"],
        },
        "all_ok": all(r["ok"] for r in (*scratch.values(), *cached.values())),
    }


def table(report: dict) -> str:
    """The README's timing table (Markdown) from a report."""
    s = report["summary"]
    at = f" at commit {report['commit']}" if report.get("commit") else ""
    lines = [f"Measured by `benchmarks/course_time.py` on {report['date']}{at} ({report['machine']}), profile "
             f"`{report['profile']}`, from a fresh data directory: the whole course took "
             f"{s['scratch_total_s'] / 60:.1f} minutes from scratch ({s['training_s'] / 60:.1f} of them in cells that "
             "train or load models), and "
             f"{s['cached_total_s'] / 60:.1f} minutes when run again (models and results loaded from `data/`).", "",
             "| lesson | from scratch (s) | run again (s) | slowest cell from scratch (s: section) |",
             "|---|---:|---:|---|"]
    remeasured = report.get("remeasured", {})
    for lesson, r in report["scratch"].items():
        again = report["cached"].get(lesson, {}).get("seconds", float("nan"))
        top = max(r["cells"], key=lambda c: c["seconds"]) if r["cells"] else None
        name = (f"{top['seconds']:.0f}: {top['section'].replace('|', '/')}"
                + (" (loads or trains models)" if top["training"] else "")) if top else ""
        lines.append(f"| {lesson}{' *' if lesson in remeasured else ''} | {r['seconds']:.0f} | {again:.0f} | {name} |")
    worst = s["slowest_cell_outside_training"]
    if worst:
        lines += ["", f"Slowest cell that trains no model: lesson {worst['lesson'][:2]}, {worst['seconds']:.0f} s "
                      f"({worst['section']}); slowest re-run: lesson {s['slowest_rerun']['lesson'][:2]}, "
                      f"{s['slowest_rerun']['seconds']:.0f} s."]
    longest = max(report["scratch"], key=lambda k: report["scratch"][k]["seconds"])
    rest = sum(r["seconds"] for k, r in report["scratch"].items() if k != longest)
    lines += ["", f"Longest lesson from scratch: {longest}, {report['scratch'][longest]['seconds'] / 60:.1f} minutes; "
                  f"the other {len(report['scratch']) - 1} lessons together {rest / 60:.1f} minutes."]
    for lesson, why in remeasured.items():
        lines += ["", f"\\* {lesson}: measured again alone, with the models and data of the run above present "
                      f"({why})."]
    return "\n".join(lines)


def merge(report: dict, again: dict, why: str) -> dict:
    """``report`` with the lessons of ``again`` (a run of some lessons at the same commit and profile) in place of its
    own, the summary recomputed and each replaced lesson recorded with ``why``."""
    for key in ("commit", "profile"):
        if report.get(key) != again.get(key):
            raise SystemExit(f"cannot merge: {key} {again.get(key)!r} differs from the report's {report.get(key)!r}")
    merged = json.loads(json.dumps(report))
    for name in ("scratch", "cached"):
        merged[name].update(again[name])
    merged["remeasured"] = {**report.get("remeasured", {}), **dict.fromkeys(again["scratch"], why)}
    merged["summary"] = summarise(merged)
    return merged


def write_readme(report: dict, readme: Path = README) -> None:
    """Replace the text between the course-time markers of the README with :func:`table`."""
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} block to rewrite")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table(report)}\n{END}{tail}")
    print(f"rewrote the timing table of {readme}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="laptop", choices=list(config.PROFILES))
    parser.add_argument("--only", nargs="*", default=None, help="lesson numbers, e.g. 08 10 (default: all)")
    parser.add_argument("--json", type=Path, default=None, help=f"report file (default {DEFAULT_JSON.name})")
    parser.add_argument("--out", type=Path, default=None, help="where the executed notebooks go (default: a temp dir)")
    parser.add_argument("--data", type=Path, default=None,
                        help="data directory (default: a fresh temp dir, so that the first pass is from scratch)")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's timing table from the result")
    parser.add_argument("--table-only", type=Path, default=None, help="rewrite the README from this JSON and stop")
    parser.add_argument("--remeasured", type=Path, default=None,
                        help="with --table-only: a report of some lessons measured again, to put in its place")
    parser.add_argument("--why", default="", help="with --remeasured: why those lessons were measured again")
    args = parser.parse_args()
    if args.table_only:
        report = json.loads(args.table_only.read_text())
        if args.remeasured:
            report = merge(report, json.loads(args.remeasured.read_text()), args.why or "measured again")
            args.table_only.write_text(json.dumps(report, indent=1))
            print(f"merged {args.remeasured} into {args.table_only}")
        write_readme(report)
        return
    books = [b for b in course.notebooks() if not args.only or b.name[:2] in args.only]
    work = Path(tempfile.mkdtemp(prefix="sarxai-course-time-"))
    data = args.data or work / "data"
    data.mkdir(parents=True, exist_ok=True)
    os.environ[config.DATA_ENV] = str(data)  # the kernels inherit it
    out = args.out or work / "build"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    report = {"profile": args.profile, "date": dt.date.today().isoformat(),
              "commit": commit.stdout.strip() or "unknown",
              "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, {config.device()}",
              "data_dir": str(data), "lessons": [b.stem for b in books]}
    for name in ("scratch", "cached"):
        print(f"{name}: {len(books)} lessons, profile {args.profile}, data in {data}", flush=True)
        start = time.perf_counter()
        report[name] = run_pass(books, out / name, args.profile)
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    report["summary"] = summarise(report)
    target = args.json or Path(str(DEFAULT_JSON).format(profile=args.profile))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=1))
    print(f"wrote {target}")
    print(table(report))
    print(json.dumps(report["summary"]["within_limits"]))
    if args.readme:
        write_readme(report)


if __name__ == "__main__":
    main()
