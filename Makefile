# evmult developer entry points. Two commands do all set-up on a fresh clone:
#   make demo   -- create .venv, install, run the main job on the embedded sample
#   make test   -- create .venv if needed, install the dev extras, lint (ruff, mypy), tests, docs
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.evmult-installed
# The dev/CI environment pins the CPU torch wheel; the package itself declares torch>=2.1.
TORCH  := torch==2.13.0
DEMO   := demo-output

.PHONY: install test lint docs demo demo-sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check src processors tests examples benchmarks
	$(BIN)/ruff format --check src processors tests examples benchmarks
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest
	$(MAKE) docs

# The documentation site (Sphinx + MyST + furo), warnings as errors.
docs: install
	$(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html

# The whole job on the embedded sample: extract -> split -> train -> what its events are
# worth (recorded in the model file) -> multiply x10 into a NanoAOD-style ROOT file ->
# read it back with the unchanged zll processor -> validate (report with mplhep figures).
demo: install
	$(BIN)/evmult extract --channel zll examples/data/demo_zll.root -o $(DEMO)/zll.parquet --force
	$(BIN)/evmult summary $(DEMO)/zll.parquet -o $(DEMO)/summary
	$(BIN)/evmult split $(DEMO)/zll.parquet --fraction 0.5 --seed 1 \
		-o $(DEMO)/train.parquet --rest $(DEMO)/holdout.parquet --force
	$(BIN)/evmult train $(DEMO)/train.parquet -o $(DEMO)/zll.evmult --seed 1 --force
	$(BIN)/evmult worth $(DEMO)/zll.evmult --reference $(DEMO)/holdout.parquet \
		--train $(DEMO)/train.parquet -o $(DEMO)/worth --record --force
	$(BIN)/evmult multiply $(DEMO)/zll.evmult --factor 10 -o $(DEMO)/generated.root --seed 2 --force --quiet
	$(BIN)/evmult extract --channel zll $(DEMO)/generated.root -o $(DEMO)/generated.parquet --force
	$(BIN)/python examples/augmented_analysis.py $(DEMO)/generated.root -o $(DEMO)/mumu.png
	$(BIN)/evmult validate --real $(DEMO)/holdout.parquet --generated $(DEMO)/generated.parquet \
		--train $(DEMO)/train.parquet -o $(DEMO)/report --force
	@echo "open $(DEMO)/report/report.html"

# Regenerate the embedded demo sample (needs pythia8mc 8.317.2; ~2 minutes).
demo-sample: install
	$(BIN)/python -m pip install --quiet "pythia8mc==8.317.2"
	$(BIN)/python examples/make_demo_sample.py -o examples/data/demo_zll.root --force

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache docs/_build
