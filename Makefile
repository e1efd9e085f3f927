# sarxai course: `make course` runs every lesson on the embedded data, `make test` runs the tests.
# Each target creates the virtual environment .venv first if it is missing (Python 3.11 with pip needed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sarxai-installed
PROFILE ?= auto

.PHONY: venv lab course student test clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name sarxai --display-name "Python (sarxai)" >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

lab: venv
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

course: venv
	$(PY) -m sarxai_utils.course run --profile $(PROFILE) --out build

student: venv
	$(PY) -m sarxai_utils.course student --out build/student

test: venv
	$(PY) -m pytest

clean:
	rm -rf build .pytest_cache
