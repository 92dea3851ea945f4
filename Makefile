# Two commands for a fresh clone: `make demo` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export DO_NOT_TRACK := 1

.PHONY: demo test lint format clean

# Reinstall when pyproject.toml changes; the stamp records the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/commhealth demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .prefect demo .pytest_cache .ruff_cache

# Scale benchmark (issue 6): 1M messages by default; e.g. `make bench BENCH_ARGS="--messages 5000000"`.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Judgement figures (needs-reply, signals...) on labelled real messages: bench/results/eval-<date>.md
.PHONY: eval
eval: $(STAMP)
	$(BIN)/python -m bench.eval $(EVAL_ARGS)
