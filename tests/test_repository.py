"""The set-up promises of the README and the CI script."""

from __future__ import annotations

import re
import tomllib

import pytest

from sarxai_utils import config

ROOT = config.REPO_ROOT


def test_readme_first_screen_has_exactly_the_two_setup_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash)?\n(.*?)```", text, re.S)
    assert first_block, "README has no code block"
    assert text.index(first_block.group(0)) < 800, "the set-up commands are not on the first screen"
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.split("#")[0].strip()]
    assert commands == ["make course", "make test"]


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, re.M)


def test_makefile_targets_create_the_venv():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab", "course", "test"):
        assert re.search(rf"^{target}: venv$", makefile, re.M), f"make {target} does not depend on the venv"
    assert "ipykernel install --sys-prefix --name sarxai" in makefile


def test_runtime_dependencies_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[]", d)[0].lower() for d in project["dependencies"]}
    for needed in ("torch", "torchvision", "captum", "ipywidgets", "matplotlib", "numpy", "papermill",
                   "jupyterlab", "ipykernel", "tqdm", "tifffile", "pillow"):
        assert needed in names, needed
    dev = {re.split(r"[<>=!~ \[]", d)[0].lower() for d in project["optional-dependencies"]["dev"]}
    assert {"pytest", "ruff"} <= dev
    assert not any("cu1" in d or "+cu" in d for d in project["dependencies"]), "never pin a CUDA-only wheel"


def test_teaching_guide_schedules_every_lesson():
    from sarxai_utils import course

    guide = (ROOT / "docs" / "teaching.md").read_text()
    for section in ("## Schedule", "## What to prepare", "## Questions learners ask", "## Pitfalls"):
        assert section in guide, f"docs/teaching.md has no '{section}'"
    schedule = guide[guide.index("## Schedule"):guide.index("## What to prepare")]
    for path in course.notebooks():
        number = path.name[:2]
        assert re.search(rf"\| {number} ", schedule), f"lesson {number} ({path.name}) is not in the schedule"
        minutes = re.search(r"About (\d+) minutes", path.read_text()).group(1)
        assert re.search(rf"\| {number} [^|]*\({minutes} min\)", schedule), \
            f"lesson {number}: the schedule's time differs from the lesson's own 'About {minutes} minutes'"


def _readme_numbers():
    import importlib.util

    path = config.REPO_ROOT / "benchmarks" / "readme_numbers.py"
    spec = importlib.util.spec_from_file_location("readme_numbers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_lesson_numbers_are_written_from_the_recorded_run():
    """Every README paragraph about lesson results is exactly what benchmarks/readme_numbers.py writes from the kept
    recorded run (benchmarks/results/recorded_laptop.json), so a typed number fails here."""
    import json

    numbers = _readme_numbers()
    readme = (config.REPO_ROOT / "README.md").read_text()
    kept = json.loads((config.REPO_ROOT / "benchmarks" / "results" / "recorded_laptop.json").read_text())
    found = numbers.blocks(readme)
    assert set(found) == set(numbers.TEMPLATES), "every template has its README block and no block is orphaned"
    for name, body in found.items():
        assert body == numbers.render(name, kept), f"README block {name!r} differs from the recorded run: run " \
                                                   "python benchmarks/readme_numbers.py"


def test_readme_benchmark_numbers_are_written_from_the_results_files():
    """Every README paragraph with benchmark numbers is exactly what readme_numbers.py writes from the benchmark's
    kept results file (benchmarks/results/<name>.json, stamped with date, commit and machine)."""
    numbers = _readme_numbers()
    readme = (config.REPO_ROOT / "README.md").read_text()
    found = numbers.blocks(readme, "benchmark")
    assert set(found) == set(numbers.BENCHMARK_TEMPLATES), "every benchmark template has its block, none orphaned"
    for name, body in found.items():
        result = numbers.benchmark_result(name)
        assert {"date", "commit", "cores", "device"} <= set(result["measured"]), f"{name}: results file not stamped"
        assert body == numbers.render_benchmark(name, result), f"README block benchmark:{name} differs from " \
                                                               f"benchmarks/results/{name}.json: run readme_numbers.py"


def test_readme_benchmark_blocks_name_what_is_missing(tmp_path, monkeypatch):
    numbers = _readme_numbers()
    with pytest.raises(KeyError, match="benchmark:cam_cost.*results"):
        numbers.render_benchmark("cam_cost", {"measured": {"cores": 2, "device": "cpu", "date": "d", "commit": "c"}})
    monkeypatch.setattr(numbers, "RESULTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="cam_cost.json"):
        numbers.benchmark_result("cam_cost")


def test_readme_numbers_name_a_missing_number():
    numbers = _readme_numbers()
    with pytest.raises(KeyError, match="lesson02.*acc_vv"):
        numbers.render("lesson02", {"profile": "laptop", "lessons": {"02": {"recorded": "2026-01-01",
                                                                            "numbers": {"acc_vh": 0.5}}}})
