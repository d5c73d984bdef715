# charthouse: every target sets up what it needs on first run (venv, Python
# dependencies, Go-built tools), so `make test` and `make release` work on a
# fresh clone. Tools are cached under $(CHARTHOUSE_HOME) by name and version.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
CHARTHOUSE_HOME ?= $(HOME)/.cache/charthouse
export CHARTHOUSE_HOME
TOOLS_BIN := $(CHARTHOUSE_HOME)/bin
export PATH := $(CURDIR)/$(VENV)/bin:$(TOOLS_BIN):$(PATH)
CH := $(VENV)/bin/charthouse
STAMP := .make/venv-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
PYTEST_WORKERS ?= auto
# Integration tests mostly wait on the API server, so more workers than cores pay off.
INTEGRATION_WORKERS ?= 4
# Extra pytest arguments for both integration runs (e.g. -k name, -x). The main run
# prints its 10 slowest test phases (a setup phase's time is mostly the exclusive lock).
PYTEST_EXTRA ?=

.PHONY: help setup tools tools-core tools-judges lint test test-unit test-contract test-images \
        test-integration release serve \
        cluster-up cluster-down bench fuzz validate docs clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "charthouse: $(PYTHON) not found: install Python >= 3.11" >&2; exit 2; }
	@echo "charthouse: creating $(VENV) and installing Python dependencies" >&2
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev,fast]'
	@rm -rf .make && mkdir -p .make && touch $@

venv: $(STAMP)

setup: $(STAMP) ## create the venv and build every pinned tool (cached)
	@$(CH) tools install

tools-core: $(STAMP)
	@$(CH) tools install helm3 helm4 ct

# The chart judges of `charthouse judge` (ci/tools.yaml; rejected checks in ci/judges.yaml).
tools-judges: $(STAMP)
	@$(CH) tools install kubeconform kube-score checkov pluto ah actionlint

lint: tools-core tools-judges ## ruff, mypy --strict, yamllint, ct lint, docs, schemas, chart judges
	ruff check scripts tests bench
	ruff format --check scripts tests bench
	mypy --strict scripts
	cd tests && mypy --strict --config-file ../pyproject.toml --cache-dir ../.mypy_cache \
	  -p integration -p support -p unit
	yamllint -c ci/lintconf.yaml charts ct.yaml ci
	ct lint --config ct.yaml --all
	$(CH) docs --check
	$(CH) schemas --check
	$(CH) judge

validate: tools-core ## charthouse validate over every chart, scenario, k8s version, helm 3+4
	$(CH) validate

docs: $(STAMP) ## regenerate chart READMEs' values tables and values.schema.json files
	$(CH) schemas
	$(CH) docs

test: setup ## unit + contract + image + integration tests (what .ci/run runs)
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-contract
	$(MAKE) --no-print-directory test-images
	$(MAKE) --no-print-directory test-integration

test-unit: tools-core ## offline render/validate/policy/release tests
	@$(CH) tools host-packages scripts
	pytest -m "not integration and not images" -n $(PYTEST_WORKERS) tests/unit

test-contract: tools-core ## the repository's promises: make release on a fresh clone, CI files
	pytest -n $(PYTEST_WORKERS) tests/contract

test-images: setup ## build the test images (cached) and run each one with runc, no cluster
	pytest -m images -p no:randomly tests/images

test-integration: setup ## install/upgrade/test every chart on a real node (containers run)
	pytest -m "integration and node_lifecycle" -p no:randomly $(PYTEST_EXTRA) tests/integration
	pytest -m "integration and not node_lifecycle" -n $(INTEGRATION_WORKERS) -p no:randomly \
	  --durations=10 $(PYTEST_EXTRA) tests/integration

release: tools-core ## version, package, sign, index changed charts into dist/repo
	$(CH) release

serve: $(STAMP) ## serve dist/repo at http://127.0.0.1:8879
	$(CH) serve dist/repo

cluster-up: setup ## start a test cluster (kind if Docker works, else embedded)
	$(CH) cluster up

cluster-down: $(STAMP) ## stop the test cluster, leaving no process behind
	$(CH) cluster down

bench: setup ## benchmarks: ratios against baselines run in the same process
	python bench/render.py
	@[ ! -f bench/release.py ] || python bench/release.py
	@[ ! -f bench/cluster.py ] || python bench/cluster.py

fuzz: tools-core ## a larger schema-fuzz run than make test's, on new random examples
	CHARTHOUSE_FUZZ_EXAMPLES=2000 CHARTHOUSE_FUZZ_RANDOM=1 pytest -m "not integration" \
	  -n $(PYTEST_WORKERS) tests/unit/test_schema_fuzz.py

clean: ## remove the venv and build outputs (keeps the tool cache)
	rm -rf $(VENV) .make dist charts/*/charts/*.tgz
