# make demo  : install into .venv and run the quick tour of every capability (writes runs/tour-quick/index.html)
# make test  : install into .venv (with test extras) and run the test suite
# make bench : install and run the side-by-side benchmark scripts in bench/
# make gpu-check : on a CUDA machine, tests/gpu (every job vs the CPU, resume, torchrun) + bench/gpu.py, one table
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The CPU build of this torch lies on local disk on the dev/CI machines; installing it first keeps pip from
# pulling a multi-GB CUDA build when resolving `torch>=2.2`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test bench install install-test lint clean gpu-check

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH_SPEC)" || $(PIP) install -q "torch>=2.2"
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-refs.txt
	$(PIP) install -q -e ".[test]"
	$(PIP) install -q --no-deps -r requirements-refs.txt
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(VENV)/bin/vislab tour --quick --out runs/tour-quick --overwrite

test: install-test
	$(PY) -m pytest -q

lint: install-test
	$(VENV)/bin/ruff check src tests bench quality

bench: install-test
	for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# No install step: a GPU machine brings its own CUDA torch (`make gpu-check PY=python3` to use another Python).
# Designed for <= 6 minutes on one H100/H200; the table's last line counts failing rows; exit 1 if any.
GPU_CHECK_DIR ?= runs/gpu-check
gpu-check:
	@$(PY) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" || \
	  { echo "make gpu-check: no CUDA GPU here (torch.cuda.is_available() is False): nothing checked"; exit 1; }
	@mkdir -p $(GPU_CHECK_DIR)
	@$(PY) -m pytest -q -m gpu tests/gpu -p no:cacheprovider --junitxml=$(GPU_CHECK_DIR)/tests.xml \
	  > $(GPU_CHECK_DIR)/tests.log 2>&1; t=$$?; grep -E "^(FAILED|ERROR)| passed| failed" $(GPU_CHECK_DIR)/tests.log; \
	  $(PY) bench/gpu.py --junit $(GPU_CHECK_DIR)/tests.xml; b=$$?; test $$t -eq 0 -a $$b -eq 0

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
