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
