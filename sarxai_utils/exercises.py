"""A lesson's exercises and their solutions: find the solution code, run it after the lesson, write student copies.

Every lesson ends with a Markdown cell of numbered exercises and a collapsed ``<details><summary>Solution</summary>``
block whose items answer them in the same order. The code of an answer is in fenced ``python`` blocks. The tests
append each answer's code to its lesson as a cell and execute the lesson in the ``ci`` profile, so a broken
solution fails CI (:func:`with_solutions`). :func:`student_copy` removes the solutions and leaves one empty code
cell per exercise for the learner to fill in (``make student`` writes them all to ``build/student/``).
"""

from __future__ import annotations

import copy
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

SOLUTION_BLOCK = re.compile(r"\n*<details>\s*<summary>Solution</summary>(.*?)</details>\s*", re.S)
ITEM = re.compile(r"^(\d+)\.[ \t]", re.M)
CODE = re.compile(r"^[ \t]*(?:\d+\.[ \t]+)?```python[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)
EXERCISES_HEADING = re.compile(r"^#+\s*Exercises\s*$", re.M)
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"


class ExerciseFormatError(ValueError):
    """A lesson's exercises or solutions are not laid out as the course expects (numbered items, fenced code)."""


@dataclass(frozen=True)
class Solution:
    """The answer to exercise ``number`` of a lesson: its text (Markdown) and the code of its ``python`` blocks."""

    number: int
    text: str
    code: str


def _items(text: str) -> dict[int, str]:
    """The numbered items ``1. ...`` of a Markdown list, by number, each with its indented continuation."""
    starts = list(ITEM.finditer(text))
    return {int(m.group(1)): text[m.start(): starts[k + 1].start() if k + 1 < len(starts) else len(text)].strip()
            for k, m in enumerate(starts)}


def _exercise_cell(nb: nbformat.NotebookNode, name: str) -> tuple[int, str]:
    """Index and source of the Markdown cell holding the exercises and their solution block."""
    found = [(k, c.source) for k, c in enumerate(nb.cells)
             if c.cell_type == "markdown" and SOLUTION_BLOCK.search(c.source)]
    if len(found) != 1:
        raise ExerciseFormatError(f"{name}: expected one Markdown cell with a <details><summary>Solution</summary> "
                                  f"block, found {len(found)}")
    return found[0]


def exercises(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[int, str]:
    """The exercises of a lesson (Markdown text of each numbered item after the ``Exercises`` heading), by number."""
    _, source = _exercise_cell(nb, name)
    head = EXERCISES_HEADING.search(source)
    if head is None:
        raise ExerciseFormatError(f"{name}: the solution block's cell has no '## Exercises' heading")
    return _items(SOLUTION_BLOCK.split(source[head.end():])[0])


def solutions(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Solution]:
    """The solutions of a lesson in exercise order; raises :class:`ExerciseFormatError` if their numbers do not
    match the exercises' or an answer has no ``python`` code block."""
    _, source = _exercise_cell(nb, name)
    items = _items(SOLUTION_BLOCK.search(source).group(1))
    wanted = sorted(exercises(nb, name))
    if sorted(items) != wanted:
        raise ExerciseFormatError(f"{name}: exercises {wanted} but solutions {sorted(items)}")
    found = []
    for number in wanted:
        blocks = [textwrap.dedent(b) for b in CODE.findall(items[number])]
        if not blocks:
            raise ExerciseFormatError(f"{name}: the solution to exercise {number} has no ```python code block")
        found.append(Solution(number, items[number], "\n".join(b.rstrip() + "\n" for b in blocks)))
    return found


def with_solutions(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of the lesson with one code cell per solution appended (tagged ``solution``), to run after it."""
    out = copy.deepcopy(nb)
    for sol in solutions(nb, name):
        cell = nbformat.v4.new_code_cell(f"# Solution to exercise {sol.number} of {name}\n{sol.code}")
        cell.metadata["tags"] = [SOLUTION_TAG]
        out.cells.append(cell)
    return out


def student_copy(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of the lesson without outputs and solutions, with an empty code cell (tagged ``exercise``) after the
    exercises for each of them."""
    out = copy.deepcopy(nb)
    index, source = _exercise_cell(out, name)
    numbers = sorted(exercises(nb, name))
    out.cells[index].source = SOLUTION_BLOCK.sub("\n", source).rstrip() + "\n"
    stubs = []
    for number in numbers:
        cell = nbformat.v4.new_code_cell(f"# Exercise {number}: your code here\n")
        cell.metadata["tags"] = [EXERCISE_TAG]
        stubs.append(cell)
    out.cells[index + 1:index + 1] = stubs
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out


def write_student_copies(notebooks: list[Path], out_dir: Path) -> list[Path]:
    """Write :func:`student_copy` of each notebook into ``out_dir`` (same file names); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        target = out_dir / Path(path).name
        nbformat.write(student_copy(nb, Path(path).name), str(target))
        written.append(target)
    return written
