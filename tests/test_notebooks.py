"""Execute every course notebook through papermill in the ``ci`` profile, on the venv's kernel.

A failure shows the failing cell's error and traceback (papermill's message). Notebooks share one data
directory for the session (``course_data_dir`` in conftest, shared with the browser test), so data and models
cached by an earlier lesson are reused by later ones.
"""

from __future__ import annotations

import pytest

from sarxai_utils import config, course

NOTEBOOKS = course.notebooks()


@pytest.fixture(scope="session")
def kernel():
    return course.ensure_kernel()


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_ci_profile(notebook, tmp_path, course_data_dir, kernel, monkeypatch):
    monkeypatch.setenv("SARXAI_DATA", str(course_data_dir))
    result = course.execute_notebook(notebook, tmp_path, profile="ci", kernel=kernel,
                                     timeout=config.load("ci").cell_timeout_s)
    if not result.ok:
        pytest.fail(f"{notebook.name} failed after {result.seconds:.0f} s:\n{result.error}", pytrace=False)
    assert (tmp_path / notebook.name).exists()


# Lessons that take real data, and the dataset each is run on here (copies in the real layouts, tests/real_layouts.py).
REAL_DATA_LESSONS: dict[str, str] = {
    **{f"{n:02d}": "opensarurban" for n in range(2, 9)},
    "09": "mstar",
    "10": "mstar",
    "11": "opensarurban",
    "12": "opensarurban",
}
REAL_NOTEBOOKS = [p for p in NOTEBOOKS if p.name[:2] in REAL_DATA_LESSONS]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", REAL_NOTEBOOKS,
                         ids=[f"{p.stem}-{REAL_DATA_LESSONS[p.name[:2]]}" for p in REAL_NOTEBOOKS])
def test_notebook_runs_on_real_layouts(notebook, tmp_path, real_data_dirs, kernel, monkeypatch):
    for key, value in real_data_dirs.items():
        monkeypatch.setenv(key, value)
    source = REAL_DATA_LESSONS[notebook.name[:2]]
    result = course.execute_notebook(notebook, tmp_path, profile="ci", kernel=kernel,
                                     timeout=config.load("ci").cell_timeout_s, extra_parameters={"DATA": source})
    if not result.ok:
        pytest.fail(f"{notebook.name} with DATA={source!r} failed after {result.seconds:.0f} s:\n{result.error}",
                    pytrace=False)
