"""Committed notebooks: no outputs, a tagged parameters cell, and the lesson skeleton of LESSON_STYLE.md."""

from __future__ import annotations

import re

import nbformat
import pytest

from sarxai_utils import course

NOTEBOOKS = course.notebooks()


def _load(path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = _load(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name} cell {i} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_parameters_cell_is_the_first_code_cell(path):
    code = [c for c in _load(path).cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code"
    first = code[0]
    assert "parameters" in first.metadata.get("tags", []), f"{path.name}: first code cell is not tagged 'parameters'"
    assert re.search(r'^PROFILE\s*=\s*"auto"', first.source, re.M), f"{path.name}: no PROFILE = \"auto\""
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lesson_skeleton(path):
    nb = _load(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    number = path.name[:2]
    assert re.match(rf"# {number} · \S", first.source), f"{path.name}: title must read '# {number} · ...'"
    assert "Learning objectives" in first.source, f"{path.name}: no learning objectives"
    assert re.search(r"About \d+ minutes", first.source), f"{path.name}: no time estimate ('About N minutes')"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in text, f"{path.name}: no summary"
    assert "## Exercises" in text, f"{path.name}: no exercises"
    assert "<details><summary>Solution" in text, f"{path.name}: exercises without a collapsed solution"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_runs_on_the_course_kernel(path):
    assert _load(path).metadata.get("kernelspec", {}).get("name") == course.KERNEL_NAME


MAX_LOGIC_LINES = 25


def logic_lines(source: str) -> int:
    """Lines of a code cell that hold code: not blank, not only a comment."""
    return sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))


def test_logic_lines_counts_code_only():
    assert logic_lines("x = 1\n\n# a comment\n    # indented comment\ny = f(x,\n      2)  # trailing\n") == 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_code_cells_are_short(path):
    long = [(i, logic_lines(c.source)) for i, c in enumerate(_load(path).cells)
            if c.cell_type == "code" and logic_lines(c.source) > MAX_LOGIC_LINES]
    assert not long, f"{path.name}: cells longer than {MAX_LOGIC_LINES} lines of code (cell, lines): {long}"
