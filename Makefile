# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CBIN   := c_reference/nanoBragg

.PHONY: demo test venv cref clean bench

venv: $(STAMP)

# torch first, pinned, so nothing later pulls a CUDA build from the registry.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,dask]'
	touch $(STAMP)

cref: $(CBIN)

$(CBIN): $(wildcard c_reference/*.c c_reference/*.h) c_reference/Makefile
	$(MAKE) -C c_reference

demo: venv cref
	$(VENV)/bin/nbparity compare --pixel 685 1039

test: venv cref
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: venv cref
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
	$(MAKE) -C c_reference clean
