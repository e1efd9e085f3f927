"""Run the course: execute every notebook with papermill in a profile, one summary line per lesson.

``python -m sarxai_utils.course run --profile ci --out DIR`` writes the executed copies into DIR, an HTML
rendering of each beside it and ``DIR/index.html`` linking them in lesson order with their run times. The
notebooks run on the kernel of *this* Python (the venv's), registered as the ``sarxai`` kernel.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import config, exercises, recorded

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


def _failed_solution(executed: Path) -> str:
    """The first line of the solution cell whose run raised in an executed notebook, or "" if none did."""
    import nbformat

    try:
        nb = nbformat.read(str(executed), as_version=4)
    except (OSError, ValueError):
        return ""
    for cell in nb.cells:
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            if exercises.SOLUTION_TAG in cell.metadata.get("tags", []):
                return cell.source.splitlines()[0].lstrip("# ")
            return ""
    return ""


def execute_notebook(path: Path, out_dir: Path, profile: str, kernel: str | None = None,
                     timeout: int | None = None, extra_parameters: dict | None = None,
                     solutions: bool = False) -> LessonRun:
    """Execute one notebook with ``PROFILE=profile`` into ``out_dir``; failures are returned, not raised.
    ``solutions`` runs the code of the exercise solutions after the lesson (:func:`exercises.with_solutions`)."""
    import nbformat
    import papermill

    kernel = kernel or ensure_kernel()
    cell_timeout = timeout or config.load(profile).cell_timeout_s
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = str(path)
    if solutions:
        source = exercises.with_solutions(nbformat.read(str(path), as_version=4), Path(path).name)
    start = time.perf_counter()
    previous = os.environ.get(config.PROGRESS_ENV)
    os.environ[config.PROGRESS_ENV] = "0"  # the kernel inherits it: a headless run stores no progress bars
    try:
        papermill.execute_notebook(
            source, str(out_dir / Path(path).name),
            parameters={"PROFILE": profile, **(extra_parameters or {})},
            kernel_name=kernel, cwd=str(Path(path).parent), progress_bar=False,
            execution_timeout=cell_timeout, report_mode=False,
        )
    except Exception as err:  # papermill's errors name the failing cell and carry its traceback
        where = _failed_solution(out_dir / Path(path).name) if solutions else ""
        message = f"{type(err).__name__}: {err}"
        return LessonRun(Path(path).name, time.perf_counter() - start, False,
                         f"{where} failed. {message}" if where else message)
    finally:
        if previous is None:
            os.environ.pop(config.PROGRESS_ENV, None)
        else:
            os.environ[config.PROGRESS_ENV] = previous
    return LessonRun(Path(path).name, time.perf_counter() - start, True)


def lesson_title(path: Path) -> str:
    """The title of a lesson notebook: the first Markdown heading (``# 04 · Integrated Gradients``), else its stem."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return Path(path).stem


def render_html(notebook: Path) -> Path:
    """Write the offline HTML rendering of an (executed) notebook beside it, ``NN_name.html``, and return its path
    (formulas as MathML, widgets as what they showed: :mod:`sarxai_utils.handout`)."""
    import nbformat

    from .handout import OfflineHTMLExporter

    notebook = Path(notebook)
    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except (OSError, ValueError) as err:  # nbformat raises ValueError subclasses on corrupt JSON
        raise ValueError(f"cannot render {notebook}: not a readable notebook ({err})") from err
    body, _ = OfflineHTMLExporter().from_notebook_node(nb)
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def write_index(out_dir: Path, results: list[LessonRun], profile: str) -> Path:
    """Render every executed lesson in ``out_dir`` to HTML and write ``index.html`` linking them in lesson order,
    each with its status and run time (a lesson that failed before papermill wrote it is listed without a link)."""
    out_dir = Path(out_dir)
    rows = []
    for result in sorted(results, key=lambda r: r.notebook):
        executed = out_dir / result.notebook
        title = html.escape(lesson_title(executed) if executed.exists() else Path(result.notebook).stem)
        status = "ok" if result.ok else "FAILED"
        if executed.exists():
            link = f'<a href="{html.escape(render_html(executed).name)}">{title}</a>'
        else:
            link = title
        rows.append(f"<tr><td>{link}</td><td class='{status.lower()}'>{status}</td>"
                    f"<td class='num'>{result.seconds:.1f} s</td></tr>")
    total = sum(r.seconds for r in results)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sarxai course ({html.escape(profile)})</title>
<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto}}td,th{{padding:.3em .8em;text-align:left}}
.num{{text-align:right}}.failed{{color:#b00;font-weight:bold}}.ok{{color:#070}}</style></head>
<body><h1>sarxai: explainable AI for SAR image classification</h1>
<p>Every lesson executed in the <code>{html.escape(profile)}</code> profile; {len(results)} lessons in
{total:.0f} s.</p>
<table><thead><tr><th>lesson</th><th>status</th><th>run time</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def run(profile: str, out_dir: Path, only: list[str] | None = None, directory: Path = NOTEBOOK_DIR,
        html_pages: bool = True, solutions: bool = False) -> list[LessonRun]:
    """Execute every lesson (or those whose number is in ``only``), printing one line per lesson; with
    ``html_pages`` also render each executed lesson to HTML and write ``out_dir/index.html``; ``solutions``
    runs each lesson's exercise solutions after it."""
    name = config.resolve_name(profile)
    kernel = ensure_kernel()
    lessons = [p for p in notebooks(directory) if not only or p.name[:2] in only]
    print(f"sarxai course: {len(lessons)} lessons, profile '{name}', kernel '{kernel}' ({sys.executable})")
    results = []
    for path in lessons:
        result = execute_notebook(path, out_dir, name, kernel, solutions=solutions)
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
    numbers = recorded.gather(name, [p.name[:2] for p in lessons])  # the README's measured paragraphs read these
    (Path(out_dir) / "recorded_numbers.json").write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    if html_pages:
        print(f"HTML rendering: {write_index(out_dir, results, name)}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sarxai_utils.course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="execute the notebooks with papermill")
    run_p.add_argument("--profile", default=os.environ.get(config.PROFILE_ENV) or "auto",
                       choices=list(config.PROFILE_NAMES))
    run_p.add_argument("--out", type=Path, default=config.REPO_ROOT / "build")
    run_p.add_argument("--only", nargs="*", help="lesson numbers to run, e.g. 00 01")
    run_p.add_argument("--no-html", action="store_true", help="skip the HTML rendering and build/index.html")
    run_p.add_argument("--solutions", action="store_true", help="run each lesson's exercise solutions after it")
    sub.add_parser("list", help="list the lessons")
    student_p = sub.add_parser("student", help="write the lessons without solutions, one empty cell per exercise")
    student_p.add_argument("--out", type=Path, default=config.REPO_ROOT / "build" / "student")
    args = parser.parse_args(argv)
    if args.command == "list":
        for path in notebooks():
            print(path.name)
        return 0
    if args.command == "student":
        written = exercises.write_student_copies(notebooks(), args.out)
        print(f"{len(written)} student lessons (no solutions; one empty cell per exercise) in {args.out}")
        return 0
    results = run(args.profile, args.out, args.only, html_pages=not args.no_html, solutions=args.solutions)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
