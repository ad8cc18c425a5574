# Two commands: `make demo` (set up + run the main job) and `make test` (set up; format, lint and layering
# checks; the whole test suite).
# Both create ./.venv on first use (Python 3.11-3.13 from PATH) and reinstall when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
PY := $(VENV)/bin/python
WORKDIR ?= runs/demo
# pytest-xdist workers: most tests wait on Python (tracing, start-up), so two workers overlap well even on two
# cores; tests sharing a session fixture stay on one worker (tests/conftest.py). PYTEST_JOBS= runs in one process.
PYTEST_JOBS ?= -n 2 --dist loadgroup

.PHONY: demo test bench clean-venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else "poseaug-tf needs Python 3.11, 3.12 or 3.13 (TensorFlow 2.21 and numpy 2.4); set PYTHON=/path/to/python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) train.py --workdir=$(WORKDIR)

# pytest exit codes: 0 all passed, 1 failures, 2 interrupted, 3 internal error, 4 usage error,
# 5 no tests collected. 5 is a failure here: an empty run must never look green.
test: $(STAMP)
	$(VENV)/bin/ruff format --check --quiet .
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/lint-imports --no-cache
	@$(PY) -m pytest $(PYTEST_JOBS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): treating as failure" >&2; exit 1; fi; \
	exit $$rc

bench: $(STAMP)
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_models.py
	$(PY) bench/bench_training.py

clean-venv:
	rm -rf $(VENV)
