# Two entry points on a fresh machine: `make demo` and `make test`.
# Both create ./.venv (Python 3.11+) and install the project into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The tests that run a second time on PostgreSQL (a throwaway local cluster, see tests/pgserver.py):
# the store, data import and update, every CLI command, the paper ledger and the reports.
PG_TESTS := tests/allocator/test_store.py tests/allocator/data tests/app/cli \
	tests/engine/research/test_research_cli.py tests/data tests/sources tests/paper tests/app/test_scheduler.py \
	tests/reports/test_reports.py tests/reports/test_push.py tests/allocator/test_freshness.py tests/app/test_next_month.py

.PHONY: demo test test-sqlite test-postgres postgres-server bench venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/allocator demo

# The server first, so the PostgreSQL-only tests of the SQLite pass (COPY upserts, URL masking) run too.
test: postgres-server test-sqlite test-postgres

postgres-server:
	scripts/ensure-postgres

test-sqlite: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-postgres: $(STAMP) postgres-server
	$(BIN)/python -m pytest --db-backend postgresql $(PG_TESTS)

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
