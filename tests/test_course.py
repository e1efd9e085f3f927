"""The course runner: lesson discovery, the venv kernel, failures reported with the failing cell."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from sarxai_utils import course


def _write(path: Path, sources: list[str]) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": course.KERNEL_NAME, "display_name": "x", "language": "python"}
    cells = [new_code_cell(s) for s in sources]
    cells[0].metadata["tags"] = ["parameters"]
    nb.cells = cells
    nbformat.write(nb, path)
    return path


def test_notebooks_are_found_in_lesson_order():
    names = [p.name for p in course.notebooks()]
    assert names == sorted(names) and names[0].startswith("00_")
    assert all(n[:2].isdigit() and n[2] == "_" for n in names)


def test_no_notebooks_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        course.notebooks(tmp_path)


def test_kernel_runs_this_python():
    from jupyter_client.kernelspec import KernelSpecManager

    name = course.ensure_kernel()
    spec = KernelSpecManager().get_kernel_spec(name)
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()


def test_run_reports_each_lesson_and_the_failing_cell(tmp_path, capsys):
    src = tmp_path / "nbs"
    src.mkdir()
    _write(src / "00_fine.ipynb", ['PROFILE = "auto"', "import sys\nprint(sys.executable)"])
    _write(src / "01_broken.ipynb", ['PROFILE = "auto"', "x = 1", "raise ValueError('lesson bug here')"])
    results = course.run("ci", tmp_path / "out", directory=src)
    out = capsys.readouterr().out
    assert [r.ok for r in results] == [True, False]
    assert "00_fine" in out and "01_broken" in out and "FAILED" in out and "1/2 lessons ran" in out
    assert "lesson bug here" in results[1].error and "ValueError" in results[1].error
    executed = nbformat.read(tmp_path / "out" / "00_fine.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert Path(printed.strip()).resolve() == Path(sys.executable).resolve(), "the notebook ran on the venv python"
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'PROFILE = "ci"' in injected[0].source
    assert (tmp_path / "out" / "course_run.json").exists()
    index = (tmp_path / "out" / "index.html").read_text()
    assert index.index('href="00_fine.html"') < index.index('href="01_broken.html"'), "lessons linked in order"
    assert f"{results[0].seconds:.1f} s" in index and "FAILED" in index
    page = (tmp_path / "out" / "00_fine.html").read_text()
    assert "<html" in page and printed.strip() in page, "the executed notebook rendered with its output"


def test_index_uses_lesson_titles_and_lists_unwritten_lessons_without_link(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    nb = new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 03 · Saliency & friends\n\nText"), new_code_cell("1")]
    nbformat.write(nb, out / "03_saliency.ipynb")
    runs = [course.LessonRun("03_saliency.ipynb", 2.25, True), course.LessonRun("04_missing.ipynb", 0.5, False, "x")]
    index = course.write_index(out, runs, "ci").read_text()
    assert '<a href="03_saliency.html">03 · Saliency &amp; friends</a>' in index
    assert "04_missing" in index and 'href="04_missing.html"' not in index
    assert "2.2 s" in index or "2.3 s" in index


def test_render_html_names_a_corrupt_notebook(tmp_path):
    bad = tmp_path / "05_bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="05_bad.ipynb"):
        course.render_html(bad)


def test_only_selects_lessons(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    _write(src / "00_a.ipynb", ['PROFILE = "auto"'])
    _write(src / "01_b.ipynb", ['PROFILE = "auto"', "raise RuntimeError('should not run')"])
    results = course.run("ci", tmp_path / "out", only=["00"], directory=src, html_pages=False)
    assert [r.notebook for r in results] == ["00_a.ipynb"] and results[0].ok


def test_main_list(capsys):
    assert course.main(["list"]) == 0
    assert "00_welcome.ipynb" in capsys.readouterr().out
