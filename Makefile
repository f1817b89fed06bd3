# The two commands of the README:
#   make run    install into .venv and start Signpost (terminal chat without tokens)
#   make test   install test dependencies into .venv and run every check and test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml nlu/encoder.requirements.txt | cksum | cut -d' ' -f1)

.PHONY: run test install install-test lint typecheck validate train bench clean \
	rasa rasa-serve rasa-compare

# Rasa Open Source 3.6, side by side with the built-in NLU. It needs Python 3.10 and pins
# SQLAlchemy 1.4 and pydantic 1, so it lives in its own environment outside the repo (kept across
# clones on one machine); its project and models are generated from nlu/ into RASA_HOME.
RASA_VENV ?= $(or $(SIGNPOST_RASA_VENV),$(HOME)/.cache/signpost/rasa-venv)
RASA_HOME ?= $(or $(SIGNPOST_RASA_HOME),$(HOME)/.cache/signpost/rasa)
RASA_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python) \
	$(shell command -v python3.10))
RASA_PORT ?= 5005

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml nlu/encoder.requirements.txt
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps --require-hashes -r nlu/encoder.requirements.txt
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
	$(BIN)/python benchmarks/bench_assess.py --save
	$(BIN)/python benchmarks/bench_dialogue.py --save
	$(BIN)/python benchmarks/bench_telegram.py --workers 2 --sweep 50 100 400 --sweep-messages 2 --save
	$(BIN)/python benchmarks/bench_helplines.py
	$(BIN)/python benchmarks/bench_ops.py
	$(BIN)/python benchmarks/render.py

$(RASA_VENV)/bin/rasa:
	@test -n "$(RASA_PYTHON)" || { echo "Rasa 3.6 needs Python 3.10 (pyenv install 3.10.13)"; exit 1; }
	$(RASA_PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet "pip<24.1"
	$(RASA_VENV)/bin/pip install --quiet "rasa==3.6.*"

rasa: install $(RASA_VENV)/bin/rasa
	$(BIN)/python tools/rasa_project.py $(RASA_HOME)/project
	cd $(RASA_HOME)/project && $(RASA_VENV)/bin/rasa data validate \
		--domain domain.yml --data data --config config.yml
	cd $(RASA_HOME)/project && $(RASA_VENV)/bin/rasa train nlu --nlu data --config config.yml \
		--domain domain.yml --out $(RASA_HOME)/models --fixed-model-name signpost

rasa-serve: rasa
	$(RASA_VENV)/bin/rasa run --enable-api -i 127.0.0.1 -p $(RASA_PORT) \
		-m $(RASA_HOME)/models/signpost.tar.gz

rasa-compare: install $(RASA_VENV)/bin/rasa
	$(BIN)/python benchmarks/rasa_compare.py --rasa-venv $(RASA_VENV) --work $(RASA_HOME)/compare \
		$(RASA_COMPARE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
