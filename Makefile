# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser libraries the gateway serves (echarts, Swagger UI), pinned by ui/package-lock.json;
# no install scripts (Swagger UI's dependency @scarf/scarf would report the install).
UI_STAMP := ui/node_modules/.installed

.PHONY: run test install bench clean fuzz reliability

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Reinstalled whenever the lock file changes; `make install` (and so `run`, `test`) always checks it.
$(UI_STAMP): ui/package-lock.json
	npm ci --prefix ui --no-audit --no-fund --ignore-scripts
	touch $(UI_STAMP)

install: $(STAMP) $(UI_STAMP)

# `make run PORT_BASE=9000`: the gateway on 9000, the services on 9001-9004.
PORT_BASE ?= 8000

run: $(STAMP) $(UI_STAMP)
	$(BIN)/csloop up --port-base $(PORT_BASE)

# The survey page script's condition tests first (node:test, no npm package), then the Python
# suite, whose result is the last word.
test: $(STAMP) $(UI_STAMP)
	node --test tests/contracts/
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# Schemathesis over every operation of the merged OpenAPI, 100 generated cases each, every phase.
fuzz: $(STAMP)
	CSLOOP_FUZZ_EXAMPLES=100 CSLOOP_FUZZ_PHASES=examples,coverage,fuzzing CSLOOP_FUZZ_TIMEOUT=3600 \
		$(BIN)/pytest -q tests/reliability/test_schemathesis.py

# Mixed load with faults (kill -9 of each service, one PostgreSQL restart), then the exactly-once audit.
reliability: $(STAMP)
	$(BIN)/python -m bench.faults

clean:
	rm -rf $(VENV) data test-artifacts ui/node_modules
