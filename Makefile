# Two commands for a fresh clone: `make demo` and `make test`. Both bootstrap .venv themselves, from uv.lock.
PYTHON ?= python3
UV_VERSION := 0.13.9
# uv lives in its own venv: `uv sync` removes from .venv whatever the lock does not list. Its stamp names the
# version, so changing UV_VERSION reinstalls it.
UV := .uv/bin/uv
UV_STAMP := .uv/installed-$(UV_VERSION)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export DO_NOT_TRACK := 1
# Only the machine's Python: no interpreter downloads.
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test lint format clean lock bench

$(UV_STAMP):
	rm -rf .uv
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@touch $@

# Reinstall when the lock or pyproject.toml changes; the stamp records the last install. --locked refuses a
# lock that no longer matches pyproject.toml (run `make lock`) instead of installing something else.
$(STAMP): uv.lock pyproject.toml | $(UV_STAMP)
	$(UV) sync --locked --extra dev --python $(PYTHON)
	@touch $(STAMP)

# Upgrade every pinned package to the newest release that pyproject.toml allows, then reinstall. One package:
# `make lock LOCK_ARGS="--upgrade-package prefect"`; after editing pyproject.toml, `make lock LOCK_ARGS=`
# records the change and keeps every other pin.
LOCK_ARGS ?= --upgrade
lock: $(UV_STAMP)
	$(UV) lock $(LOCK_ARGS)
	$(MAKE) $(STAMP)

demo: $(STAMP)
	$(BIN)/commhealth demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint transforms warehouse/sql digest/sql
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix transforms warehouse/sql digest/sql

clean:
	rm -rf $(VENV) .uv .prefect demo .pytest_cache .ruff_cache

# Scale benchmark (issue 16): 1M messages by default; e.g. `make bench BENCH_ARGS="--messages 5000000"`; the plain
# script it compares with is its longest step (`BENCH_ARGS="--no-naive"` skips it).
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Judgement figures (needs-reply, signals...) on labelled real messages: bench/results/eval-<date>.md
.PHONY: eval
eval: $(STAMP)
	$(BIN)/python -m bench.eval $(EVAL_ARGS)
