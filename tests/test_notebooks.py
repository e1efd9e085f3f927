"""Execute every course notebook through papermill in the ``ci`` profile, on the venv's kernel, with the code of
its exercise solutions run after it (``sarxai_utils.exercises``), so a broken solution fails here.

A failure shows the failing cell's error and traceback (papermill's message). Notebooks share one data
directory for the session (``course_data_dir`` in conftest, shared with the browser test), so data and models
cached by an earlier lesson are reused by later ones.
"""

from __future__ import annotations

import base64
import struct

import nbformat
import pytest

from sarxai_utils import config, course

NOTEBOOKS = course.notebooks()
MAX_FIGURE_PX = 1600  # widest figure a lesson may show, in pixels at the notebook's resolution (fits a laptop screen)


def figure_widths(executed) -> list[tuple[int, int]]:
    """(cell index, width in pixels) of every PNG a notebook's outputs show (read from the PNG header)."""
    found = []
    for index, cell in enumerate(nbformat.read(executed, as_version=4).cells):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                width, _ = struct.unpack(">II", base64.b64decode(png)[16:24])
                found.append((index, width))
    return found


@pytest.fixture(scope="session")
def kernel():
    return course.ensure_kernel()


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_and_its_solutions_run_in_ci_profile(notebook, tmp_path, course_data_dir, kernel, monkeypatch):
    monkeypatch.setenv("SARXAI_DATA", str(course_data_dir))
    result = course.execute_notebook(notebook, tmp_path, profile="ci", kernel=kernel,
                                     timeout=config.load("ci").cell_timeout_s, solutions=True)
    if not result.ok:
        pytest.fail(f"{notebook.name} failed after {result.seconds:.0f} s:\n{result.error}", pytrace=False)
    wide = [(cell, px) for cell, px in figure_widths(tmp_path / notebook.name) if px > MAX_FIGURE_PX]
    assert not wide, f"{notebook.name}: figures wider than {MAX_FIGURE_PX} px (cell, px): {wide}"


# Lessons that take real data, and the datasets each is run on here (copies in the real layouts, tests/real_layouts.py).
# Lesson 02 runs once per dataset (its urban and target parts switch separately); lesson 01 has no DATA parameter and
# compares whatever real data are present with the embedded data (None: run without DATA).
REAL_DATA_LESSONS: dict[str, tuple[str | None, ...]] = {
    "01": (None,),
    "02": ("opensarurban", "mstar"),
    **{f"{n:02d}": ("opensarurban",) for n in range(3, 9)},
    "09": ("mstar",),
    "10": ("mstar",),
    "11": ("opensarurban",),
    "12": ("opensarurban",),
    "13": ("opensarurban",),
}
REAL_RUNS = [(p, source) for p in NOTEBOOKS for source in REAL_DATA_LESSONS.get(p.name[:2], ())]


@pytest.mark.notebooks
@pytest.mark.parametrize(("notebook", "source"), REAL_RUNS,
                         ids=[f"{p.stem}-{source or 'real-data-present'}" for p, source in REAL_RUNS])
def test_notebook_runs_on_real_layouts(notebook, source, tmp_path, real_data_dirs, kernel, monkeypatch):
    for key, value in real_data_dirs.items():
        monkeypatch.setenv(key, value)
    extra = {} if source is None else {"DATA": source}
    result = course.execute_notebook(notebook, tmp_path, profile="ci", kernel=kernel,
                                     timeout=config.load("ci").cell_timeout_s, extra_parameters=extra)
    if not result.ok:
        with_data = "with the real data present" if source is None else f"with DATA={source!r}"
        pytest.fail(f"{notebook.name} {with_data} failed after {result.seconds:.0f} s:\n{result.error}", pytrace=False)
