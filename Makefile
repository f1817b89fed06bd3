# The two commands of the README:
#   make run    install into .venv and start Signpost (terminal chat without tokens)
#   make test   install test dependencies into .venv and run every check and test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install install-test lint typecheck validate train bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/signpost run $(ARGS)

lint: install
	$(BIN)/ruff check bot tests benchmarks tools
	$(BIN)/ruff format --check bot

typecheck: install
	$(BIN)/mypy

validate: install
	$(BIN)/signpost helplines validate
	$(BIN)/python tools/check_nlu_data.py

train: install
	$(BIN)/signpost nlu train

test: install lint typecheck validate train
	$(BIN)/pytest -q

bench: install
	$(BIN)/python benchmarks/bench_assess.py
	$(BIN)/python benchmarks/bench_helplines.py
	$(BIN)/python benchmarks/bench_telegram.py
	$(BIN)/python benchmarks/bench_ops.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
