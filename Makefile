# The two commands in the README are the whole set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

WEB := src/futago/web
DASHBOARD := $(WEB)/dist/index.html

.PHONY: demo test lint typecheck install clean bench system-deps web

# Each stage says what it does before it starts (pip and npm are quiet, and the first run takes minutes).
$(BIN)/python:
	@echo "==> creating the virtual environment $(VENV)"
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# ngsildclient, the published NGSI-LD client the tests drive the broker with, pins httpx<0.24 and rich<13, which
# futago has outgrown; its code runs on the newer ones (tests/ngsild/test_smart_data_models.py), so it and its own
# small dependencies are installed without its pins rather than declared in pyproject (pip would refuse them).
NGSILD_CLIENT := 'ngsildclient==0.5.2' 'aiofiles>=0.8' 'scalpl>=0.4.2' 'multipledispatch>=0.6' 'isodate>=0.6.1' 'geojson>=2.5' 'networkx>=2.8'

$(STAMP): pyproject.toml Makefile | $(BIN)/python
	@echo "==> installing futago and its Python packages into $(VENV) (a few minutes the first time)"
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps $(NGSILD_CLIENT)
	touch $(STAMP)

# The dashboard: npm ci from the committed lockfile, then esbuild bundles it into $(WEB)/dist (not committed).
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	@echo "==> installing the dashboard's JavaScript packages (npm ci)"
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error

$(DASHBOARD): $(WEB)/node_modules/.package-lock.json $(wildcard $(WEB)/src/*) $(WEB)/index.html $(WEB)/build.mjs
	@echo "==> building the dashboard into $(WEB)/dist"
	cd $(WEB) && npm run --silent build

web: $(DASHBOARD)

install: $(STAMP) $(DASHBOARD)

# make demo PORT=8001: another port (the default is 8000, or FUTAGO_PORT / futago.toml).
demo: install system-deps
	@echo "==> starting the demo: it says each stage, then serves the dashboard at / and the API at /docs"
	$(BIN)/futago demo$(if $(PORT), --port $(PORT))

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache  # the layers of docs/architecture.md, contracts in .importlinter

typecheck: install
	$(BIN)/mypy

system-deps:
	@echo "==> checking the Debian packages the tests and the scenarios' brokers use"
	bash scripts/install-system-deps.sh

test: lint typecheck system-deps
	$(BIN)/pytest -q

bench: install
	$(BIN)/futago bench core --json

clean:
	rm -rf $(VENV) build dist *.egg-info $(WEB)/dist $(WEB)/node_modules
