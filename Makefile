# Two commands for a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing, installs torch (TORCH=...) unless one is importable there,
# builds the package with its C++/CUDA extension against that torch, then runs.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PYTEST_ARGS ?=

PY := $(VENV)/bin/python
STAMP := $(VENV)/.vaetools-built
SOURCES := setup.py pyproject.toml $(wildcard csrc/*.cpp csrc/*.h csrc/*.cu)

.PHONY: setup demo test test-slow bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet "setuptools>=64" wheel ninja
	@if $(PY) -c "import torch" >/dev/null 2>&1; then \
		echo "vaetools: using installed torch $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	else \
		echo "vaetools: installing $(TORCH)"; $(PY) -m pip install --quiet "$(TORCH)"; \
	fi
	$(PY) -m pip install --quiet --no-build-isolation -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(PY) -m vaetools.demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: setup
	$(PY) -m pytest --runslow $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/bench_ops.py

clean:
	rm -rf build *.egg-info vaetools/*.so $(VENV)
