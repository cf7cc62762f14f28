# cachemesh — `make up` deploys the dev stack, `make test` runs the tests. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
# CI points VENV at a fresh directory; locally it is the .venv Pulumi.yaml names.
VENV ?= .venv
STACK ?= dev
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
# The dev stack's published passphrase, for the dev stack only: any other stack needs its own
# PULUMI_CONFIG_PASSPHRASE(_FILE) (scripts/up.sh refuses to run one without).
ifeq ($(STACK),dev)
export PULUMI_CONFIG_PASSPHRASE ?= cachemesh-dev
endif
# YES=1: deploy without asking (CI); the stack must then set kubernetes:context (scripts/up.sh).
YES ?=

.PHONY: e2e-tools e2e-tools-smoke e2e up preview preview-policies destroy outputs test lint format policy-venv clean ignite docs docs-build docs-gen

# Apache Ignite for the real-node tests (tests/ignite_nodes.py), resolved by Maven from
# tools/ignite/pom.xml into a cache keyed by version; a second `make ignite` does nothing.
IGNITE_VERSION := 2.16.0
CACHEMESH_CACHE ?= $(HOME)/.cache/cachemesh
IGNITE_DIR := $(CACHEMESH_CACHE)/ignite-$(IGNITE_VERSION)

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
## Prints the target context, shows the preview and asks (YES=1: no question, explicit context).
up: $(VENV)/.runtime-installed
	scripts/up.sh $(STACK) $(if $(filter 1 true yes,$(YES)),--yes)

preview: $(VENV)/.runtime-installed
	scripts/up.sh $(STACK) --preview

preview-policies: $(VENV)/.runtime-installed policies/venv/.installed
	scripts/up.sh $(STACK) --preview --policy-pack policies

outputs:
	pulumi stack output --json --stack $(STACK)

destroy:
	pulumi destroy --stack $(STACK)

## Install Apache Ignite 2.16.0 (node libs and control utility) for the real-node tests.
ignite: $(IGNITE_DIR)/.installed

$(IGNITE_DIR)/.installed: tools/ignite/pom.xml
	rm -rf $(IGNITE_DIR)/libs $(IGNITE_DIR)/control-utility
	mvn -q -B -f tools/ignite/pom.xml package -Dignite.dir=$(IGNITE_DIR)
	rm -rf tools/ignite/target
	touch $@

## Build the e2e tier's real tools (pulumi CLI, providers, etcd, kube-apiserver, …) from Go modules
## into $(CACHEMESH_CACHE)/e2e-tools/<name>-<version>/; what is already there is not built again.
## Cold: about 1.5 hours on 2 cores (docs/how-it-works/real-engine-tools.md).
e2e-tools:
	CACHEMESH_CACHE=$(CACHEMESH_CACHE) e2e/tools/build.sh

## Prove the built tools: a tiny program (tls key + cert, a local command) up, preview with a
## policy pack, destroy, with the real CLI on a local backend in a temporary directory.
e2e-tools-smoke: $(VENV)/.dev-installed
	CACHEMESH_CACHE=$(CACHEMESH_CACHE) e2e/tools/smoke.sh $(VENV)

## Run the test suite (no cluster, no Pulumi CLI needed).
test: $(VENV)/.dev-installed
	$(VENV)/bin/python -m pytest -q

## The e2e tier (e2e/, docs/how-it-works/e2e.md): the real Pulumi CLI and providers against a
## throwaway loopback cluster (etcd, kube-apiserver, controllers, kwok). Needs the tools
## `make e2e-tools` builds; one worker, the scenarios of a module share one stack in order.
e2e: $(VENV)/.dev-installed policies/venv/.installed
	$(VENV)/bin/python -m pytest e2e -m e2e -n 0 -q

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
