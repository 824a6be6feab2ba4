# Two commands do everything on a fresh clone:
#   make briefing   - set up the venv and render the weekly briefing (2026-W05) from the embedded sample
#   make test       - set up the venv and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WEEK ?= 2026-W05
STAMP := $(VENV)/.installed
# pytest-xdist workers: one per core plus one, because the CLI, daemon and lock tests spend part of their time
# waiting on other processes and a core would idle meanwhile (2 cores: 3 workers took 658 s wall at 1.89 cores busy,
# 2 workers 786 s at 1.63). TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

.PHONY: briefing test lint setup dev backfill bench clean-state site

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# An older venv may still hold opencc-python-reimplemented (dropped): it shares the 'opencc' folder with the
	# maintained OpenCC, so removing it deletes OpenCC's files too; reinstall OpenCC after removing it.
	if $(BIN)/python -m pip show --quiet opencc-python-reimplemented >/dev/null 2>&1; then \
	  $(BIN)/python -m pip uninstall --quiet --yes opencc-python-reimplemented && \
	  $(BIN)/python -m pip install --quiet --force-reinstall --no-deps OpenCC; fi
	touch $(STAMP)

setup: $(STAMP)

briefing: $(STAMP)
	DAGSTER_HOME=$(CURDIR) $(BIN)/trade-pipeline briefing $(WEEK)

# lint and format check first (ruff, settings in pyproject.toml): CI runs `make test`, so it runs both
lint: $(STAMP)
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .

test: $(STAMP) lint
	DAGSTER_HOME= $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 1; fi; exit $$rc

site: $(STAMP)
	$(BIN)/trade-pipeline site

dev: $(STAMP)
	DAGSTER_HOME=$(CURDIR) $(BIN)/dagster dev -w workspace.yaml

backfill: $(STAMP)
	DAGSTER_HOME=$(CURDIR) $(BIN)/trade-pipeline backfill $(FROM) $(TO)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-state:
	rm -rf data/dagster data/warehouse.duckdb data/cache .tmp_dagster_home_*
