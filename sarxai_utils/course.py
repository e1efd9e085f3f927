"""Run the course: execute every notebook with papermill in a profile, one summary line per lesson.

``python -m sarxai_utils.course run --profile ci --out DIR`` writes the executed copies into DIR. The
notebooks run on the kernel of *this* Python (the venv's), registered as the ``sarxai`` kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import config

NOTEBOOK_DIR = config.REPO_ROOT / "notebooks"
KERNEL_NAME = "sarxai"


@dataclass
class LessonRun:
    """The outcome of executing one notebook."""

    notebook: str
    seconds: float
    ok: bool
    error: str = ""


def notebooks(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course notebooks in lesson order (``NN_name.ipynb``)."""
    found = sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no lesson notebooks (NN_name.ipynb) in {directory}")
    return found


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Make sure a Jupyter kernel ``name`` that runs this Python exists (installed into sys.prefix)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return name
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=name, display_name="Python (sarxai)", prefix=sys.prefix)
    return name


def execute_notebook(path: Path, out_dir: Path, profile: str, kernel: str | None = None,
                     timeout: int | None = None, extra_parameters: dict | None = None) -> LessonRun:
    """Execute one notebook with ``PROFILE=profile`` into ``out_dir``; failures are returned, not raised."""
    import papermill

    kernel = kernel or ensure_kernel()
    cell_timeout = timeout or config.load(profile).cell_timeout_s
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path), str(out_dir / Path(path).name),
            parameters={"PROFILE": profile, **(extra_parameters or {})},
            kernel_name=kernel, cwd=str(Path(path).parent), progress_bar=False,
            execution_timeout=cell_timeout, report_mode=False,
        )
    except Exception as err:  # papermill's errors name the failing cell and carry its traceback
        return LessonRun(Path(path).name, time.perf_counter() - start, False, f"{type(err).__name__}: {err}")
    return LessonRun(Path(path).name, time.perf_counter() - start, True)


def run(profile: str, out_dir: Path, only: list[str] | None = None, directory: Path = NOTEBOOK_DIR) -> list[LessonRun]:
    """Execute every lesson (or those whose number is in ``only``), printing one line per lesson."""
    name = config.resolve_name(profile)
    kernel = ensure_kernel()
    lessons = [p for p in notebooks(directory) if not only or p.name[:2] in only]
    print(f"sarxai course: {len(lessons)} lessons, profile '{name}', kernel '{kernel}' ({sys.executable})")
    results = []
    for path in lessons:
        result = execute_notebook(path, out_dir, name, kernel)
        status = "ok    " if result.ok else "FAILED"
        print(f"  {path.stem:<32} {status} {result.seconds:7.1f} s", flush=True)
        if not result.ok:
            print("    " + result.error.strip().replace("\n", "\n    ")[:4000], flush=True)
        results.append(result)
    total = sum(r.seconds for r in results)
    failed = [r.notebook for r in results if not r.ok]
    print(f"{len(results) - len(failed)}/{len(results)} lessons ran in {total:.0f} s; executed copies in {out_dir}")
    (Path(out_dir) / "course_run.json").write_text(json.dumps(
        {"profile": name, "lessons": [r.__dict__ for r in results]}, indent=2))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sarxai_utils.course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="execute the notebooks with papermill")
    run_p.add_argument("--profile", default=os.environ.get(config.PROFILE_ENV) or "auto",
                       choices=list(config.PROFILE_NAMES))
    run_p.add_argument("--out", type=Path, default=config.REPO_ROOT / "build")
    run_p.add_argument("--only", nargs="*", help="lesson numbers to run, e.g. 00 01")
    sub.add_parser("list", help="list the lessons")
    args = parser.parse_args(argv)
    if args.command == "list":
        for path in notebooks():
            print(path.name)
        return 0
    results = run(args.profile, args.out, args.only)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
