# The two set-up commands of the README. Both work on a fresh clone: they create .venv,
# install the project with the CPU build of torch pinned (never an unpinned torch, which
# would pull a multi-GB CUDA build), then run the main job or the test suite. The demo needs
# the core only (stamp .core); the tests add the test extras (Ray, the trackers, Selenium:
# stamp .installed) to the same environment.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
CORE   := $(VENV)/.core
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint format bench clean

$(CORE): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e . "$(TORCH)"
	touch $(CORE)

$(STAMP): $(CORE)
	$(PY) -m pip install --quiet -e ".[test]" "$(TORCH)"
	touch $(STAMP)

demo: $(CORE)
	$(VENV)/bin/latent-atlas demo --out runs/demo --force  # a re-run continues it (replaces one of other settings)

# both tiers in one process (~15 min on 2 cores; `pytest -n auto` runs one worker per core)
test: $(STAMP) lint
	$(PY) -m pytest -q

# the fast tier, for everyday work: every test not marked slow (see tests/conftest.py)
check: $(STAMP) lint
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	@# the formatter's layout everywhere, and no type-checker comments while no type checker runs
	@! grep -rnE --include="*.py" "# (fmt: (skip|off)|type: ignore)" src tests benchmarks \
		|| { echo "lint: remove the comments above (the formatter decides the layout)"; exit 1; }

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/engine_overhead.py

clean:
	rm -rf $(VENV) runs build src/*.egg-info
