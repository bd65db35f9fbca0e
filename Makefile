# The user's entry point. Needs only Python 3.11 and make; everything else is installed from the lock.
#   make run        simulate deliveries if the landing folder is empty, then materialize every asset
#   make test       run the test suite (CI then runs make test-spark: the pipeline on Spark against DuckDB)
#   make ui         the Dagster UI on workspace.yaml (http://127.0.0.1:3000)
#   make simulate   write simulated deliveries into LANDING
#   make bench      stage times against a scan of the inputs, new-year run, pandas reference, at SCALES
# Override: make run LANDING=/secure/deliveries WAREHOUSE=/data/w.duckdb REPORTS=/out SCALE=0.1 SEED=7 ENGINE=spark

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin

LANDING ?= $(CURDIR)/data/landing
WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
REPORTS ?= $(CURDIR)/reports
# 0.1 (about 550,000 residents): study cells large enough to pass the disclosure gate; 0.01 is the tests' size
SCALE ?= 0.1
SEED ?= 20261122
FIRST_YEAR ?= 1990
LAST_YEAR ?= 2023
PORT ?= 3000
PYTEST_ARGS ?= -m "not slow and not spark"
# the engine that builds the dbt layer: duckdb, or spark (local session, Java 17; models_py/engine.py)
ENGINE ?= duckdb
SCALES ?= 0.1
BENCH_OUT ?= $(CURDIR)/data/benchmark

export REGISTER_LANDING := $(abspath $(LANDING))
export REGISTER_WAREHOUSE := $(abspath $(WAREHOUSE))
export REGISTER_REPORTS := $(abspath $(REPORTS))
export REGISTER_ENGINE := $(ENGINE)
export DAGSTER_HOME := $(CURDIR)/dagster_home
export PYTHONPATH := $(CURDIR)
export PATH := $(BIN):$(PATH)

.PHONY: install browser lint run test test-unit ui simulate lock prepare clean bench

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync --python $(BIN)/python requirements.lock
	touch $@

install: $(VENV)/.installed

lock:
	$(BIN)/uv pip compile pyproject.toml --extra test --extra spark --python-version 3.11 -o requirements.lock

prepare: install
	$(BIN)/python -m dagster_project.prepare

simulate: install
	$(BIN)/python -m models_py.simulator --out "$(REGISTER_LANDING)" --scale $(SCALE) --seed $(SEED) \
		--first-year $(FIRST_YEAR) --last-year $(LAST_YEAR)

run: install
	@if [ -z "$$(ls -A "$(REGISTER_LANDING)" 2>/dev/null)" ]; then $(MAKE) --no-print-directory simulate; fi
	$(BIN)/python -m dagster_project.run

# The report's browser test needs Chromium and its driver (Debian packages; browsers cannot be downloaded here).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "note: chromium/chromedriver missing and not root: the browser test will be skipped"; fi; }

# ruff: lint and format check (configuration in pyproject.toml)
# ruff (Python) and sqlfluff (the dbt models as dbt compiles them, DuckDB dialect; rules in .sqlfluff).
# sqlfluff's dbt templater only compiles: it gets a throw-away warehouse path, never the real one.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	REGISTER_WAREHOUSE=$(CURDIR)/dbt/target/sqlfluff.duckdb $(BIN)/sqlfluff lint dbt/models dbt/tests

# --durations: the slowest tests at the end of every run, to see where CI time goes
test: install browser lint
	$(BIN)/python -m pytest --durations=15 $(PYTEST_ARGS)

# the unit layer only (no dbt build, no Dagster run, no browser): a few minutes
test-unit: install lint
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/pipeline_benchmark.py --scales $(SCALES) --seed $(SEED) --out "$(BENCH_OUT)"

ui: prepare
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(PORT)

# make withdraw YEAR=2031: remove a register year whose folder is gone from the landing (rows, quarantine,
# partition; logged in raw.revision_log). The next `make run` publishes without it.
withdraw: install
	@test -n "$(YEAR)" || { echo "usage: make withdraw YEAR=<register year>" >&2; exit 2; }
	$(BIN)/python -m models_py.withdraw --year $(YEAR)

clean:
	rm -rf data reports dbt/target dbt/logs

# make test-spark (run by CI after make test): the whole pipeline on one small seeded simulation, with the dbt
# layer built and tested on DuckDB and on local Spark (Java 17 and the `spark` extra); every dbt relation and
# every published exhibit compared (tests/integration/test_spark_run.py; skipped with the reason where Java is
# missing). make test-spark-parity: the dbt layer alone, seed, run and test as separate steps, so that a model
# failing on one engine does not hide the others' errors (tests/integration/test_spark_parity.py; the place to
# look when test-spark fails). REGISTER_SPARK_PARITY_DIR=/some/dir keeps its run folder for inspection.
.PHONY: test-spark test-spark-parity
test-spark: install
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python -m pytest tests/integration/test_spark_run.py -m spark -v -s -p no:cacheprovider

test-spark-parity: install
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python -m pytest tests/integration/test_spark_parity.py -m spark -v -s -p no:cacheprovider
