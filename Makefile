# cachemesh — `make up` deploys the dev stack, `make test` runs the tests. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
# CI points VENV at a fresh directory; locally it is the .venv Pulumi.yaml names.
VENV ?= .venv
STACK ?= dev
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
# The dev stack's documented default passphrase; set your own for anything that matters.
export PULUMI_CONFIG_PASSPHRASE ?= cachemesh-dev

.PHONY: up preview preview-policies destroy outputs test lint format policy-venv clean docs docs-build docs-gen

$(VENV)/.runtime-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt policies/requirements.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

policies/venv/.installed: policies/requirements.txt
	$(PYTHON) -m venv policies/venv
	policies/venv/bin/pip install --quiet -r policies/requirements.txt
	touch $@

policy-venv: policies/venv/.installed

## Deploy the dev stack: venv, local state, stack, a kind cluster if there is no kube context.
up: $(VENV)/.runtime-installed
	scripts/up.sh $(STACK)

preview: $(VENV)/.runtime-installed
	scripts/up.sh $(STACK) --preview

preview-policies: $(VENV)/.runtime-installed policies/venv/.installed
	scripts/up.sh $(STACK) --preview --policy-pack policies

outputs:
	pulumi stack output --json --stack $(STACK)

destroy:
	pulumi destroy --stack $(STACK)

## Run the test suite (no cluster, no Pulumi CLI needed).
test: $(VENV)/.dev-installed
	$(VENV)/bin/python -m pytest -q

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy policies/__main__.py  # the pack's entry point: a second `__main__`

## The docs site (mkdocs.yml): `make docs` serves it on http://127.0.0.1:8000 and rebuilds on
## change; `make docs-build` builds it as CI does (--strict: a missing page or broken link fails);
## `make docs-gen` rewrites the generated pages (docs/reference/, docs/schema/) from the code.
docs: $(VENV)/.dev-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

docs-build: $(VENV)/.dev-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-gen: $(VENV)/.dev-installed
	$(VENV)/bin/python scripts/gen_docs.py

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) policies/venv .pytest_cache .ruff_cache .mypy_cache site
