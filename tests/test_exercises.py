"""Exercises and solutions: parsing the solution code, running it after a lesson, and the student copies."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from sarxai_utils import course, exercises
from sarxai_utils.exercises import ExerciseFormatError

EXERCISES = """## Summary

- a point

## Exercises

1. *(easy)* Add one.
2. *(open)* Print a verdict.

<details><summary>Solution</summary>

1. ```python
   y = x + 1
   print(y)
   ```
   It prints 2.
2. Two blocks:
   ```python
   verdict = "big" if y > 1 else "small"
   ```
   and
   ```python
   print(verdict)
   ```
</details>
"""


def _lesson(markdown: str = EXERCISES, code: str = "x = 1") -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": course.KERNEL_NAME, "display_name": "x", "language": "python"}
    params = new_code_cell('PROFILE = "auto"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# 99 · Test"), params, new_code_cell(code), new_markdown_cell(markdown)]
    return nb


def test_solutions_are_parsed_in_order_with_dedented_code():
    sols = exercises.solutions(_lesson())
    assert [s.number for s in sols] == [1, 2]
    assert sols[0].code == "y = x + 1\nprint(y)\n"
    assert sols[1].code == 'verdict = "big" if y > 1 else "small"\n\nprint(verdict)\n'
    assert "It prints 2." in sols[0].text


def test_exercises_are_the_items_before_the_solution_block():
    found = exercises.exercises(_lesson())
    assert sorted(found) == [1, 2] and found[1].startswith("1. *(easy)* Add one.")
    assert "print(verdict)" not in found[2]


def test_solution_without_code_is_an_error():
    md = EXERCISES.replace("1. ```python\n   y = x + 1\n   print(y)\n   ```\n", "1. Just words.\n")
    with pytest.raises(ExerciseFormatError, match="lesson.ipynb: the solution to exercise 1 has no"):
        exercises.solutions(_lesson(md), "lesson.ipynb")


def test_numbers_must_match():
    md = EXERCISES.replace("2. *(open)* Print a verdict.\n", "2. *(open)* Print a verdict.\n3. One more.\n")
    with pytest.raises(ExerciseFormatError, match=r"exercises \[1, 2, 3\] but solutions \[1, 2\]"):
        exercises.solutions(_lesson(md), "x.ipynb")


@pytest.mark.parametrize("markdown", ["## Exercises\n\n1. No solution.", ""])
def test_missing_solution_block_is_an_error(markdown):
    with pytest.raises(ExerciseFormatError, match="found 0"):
        exercises.solutions(_lesson(markdown))


def test_two_solution_blocks_are_an_error():
    nb = _lesson()
    nb.cells.append(new_markdown_cell(EXERCISES))
    with pytest.raises(ExerciseFormatError, match="found 2"):
        exercises.solutions(nb)


def test_missing_exercises_heading_is_an_error():
    with pytest.raises(ExerciseFormatError, match="no '## Exercises' heading"):
        exercises.exercises(_lesson(EXERCISES.replace("## Exercises", "## Practice")))


def test_with_solutions_appends_tagged_cells_and_leaves_the_lesson_alone():
    nb = _lesson()
    out = exercises.with_solutions(nb, "99_test.ipynb")
    assert len(out.cells) == len(nb.cells) + 2 and len(nb.cells) == 4
    assert out.cells[-2].source.startswith("# Solution to exercise 1 of 99_test.ipynb\ny = x + 1")
    assert all(c.metadata["tags"] == [exercises.SOLUTION_TAG] for c in out.cells[-2:])


def test_student_copy_has_no_solutions_outputs_or_counts_and_one_stub_per_exercise():
    nb = _lesson()
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[2].execution_count = 3
    out = exercises.student_copy(nb)
    text = "\n".join(c.source for c in out.cells)
    assert "<details>" not in text and "y = x + 1" not in text and "1. *(easy)* Add one." in text
    stubs = [c for c in out.cells if exercises.EXERCISE_TAG in c.metadata.get("tags", [])]
    assert [s.source for s in stubs] == ["# Exercise 1: your code here\n", "# Exercise 2: your code here\n"]
    assert out.cells.index(stubs[0]) == 4, "the stubs follow the exercises"
    assert all(not c.outputs and c.execution_count is None for c in out.cells if c.cell_type == "code")
    nbformat.validate(out)
    assert "<details>" in nb.cells[3].source, "the lesson itself is unchanged"


def test_write_student_copies(tmp_path):
    src = tmp_path / "99_test.ipynb"
    nbformat.write(_lesson(), src)
    written = exercises.write_student_copies([src], tmp_path / "student")
    assert written == [tmp_path / "student" / "99_test.ipynb"]
    assert "<details>" not in written[0].read_text()


def test_write_student_copies_names_a_bad_lesson(tmp_path):
    src = tmp_path / "98_bad.ipynb"
    nbformat.write(_lesson("## Exercises\n\n1. No solution."), src)
    with pytest.raises(ExerciseFormatError, match="98_bad.ipynb"):
        exercises.write_student_copies([src], tmp_path / "student")


def test_write_student_copies_rejects_a_corrupt_notebook(tmp_path):
    src = tmp_path / "97_corrupt.ipynb"
    src.write_text("{not json")
    with pytest.raises(Exception, match="97_corrupt|Expecting|JSON|json"):
        exercises.write_student_copies([src], tmp_path / "student")


@pytest.mark.parametrize("path", course.notebooks(), ids=[p.stem for p in course.notebooks()])
def test_every_lesson_has_code_for_every_solution(path):
    nb = nbformat.read(path, as_version=4)
    sols = exercises.solutions(nb, path.name)
    assert len(sols) >= 2, f"{path.name}: fewer than two exercises"
    for sol in sols:
        compile(sol.code, f"{path.name} solution {sol.number}", "exec")


def test_a_failing_solution_is_named(tmp_path):
    nb = _lesson(EXERCISES.replace("print(verdict)", "raise RuntimeError('wrong answer')"))
    nbformat.write(nb, tmp_path / "99_test.ipynb")
    result = course.execute_notebook(tmp_path / "99_test.ipynb", tmp_path / "out", "ci", solutions=True)
    assert not result.ok
    assert result.error.startswith("Solution to exercise 2 of 99_test.ipynb failed.") and "wrong answer" in result.error
    good = course.execute_notebook(tmp_path / "99_test.ipynb", tmp_path / "out2", "ci")
    assert good.ok, "without solutions=True the lesson runs alone"


def test_solutions_run_after_the_lesson(tmp_path):
    nbformat.write(_lesson(), tmp_path / "99_test.ipynb")
    result = course.execute_notebook(tmp_path / "99_test.ipynb", tmp_path / "out", "ci", solutions=True)
    assert result.ok, result.error
    executed = nbformat.read(tmp_path / "out" / "99_test.ipynb", as_version=4)
    printed = ["".join(o.get("text", "") for o in c.outputs) for c in executed.cells[-2:]]
    assert printed == ["2\n", "big\n"]
