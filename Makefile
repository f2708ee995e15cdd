# Signet developer entry points. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo
TOOLS := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(HOME)/.cargo/bin:$(PATH)
export SIGNET_TOOLS := $(TOOLS)
export SIGNET_GO ?= $(CURDIR)/.tools/go/go/bin/go

.PHONY: help tools build test lint fmt crds demo e2e bench docker-build

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

tools: ## Install the test peers (docker-registry, cosign, oras, helm, @sigstore/mock); idempotent
	@bash scripts/install-tools.sh

build: ## Build the binaries (debug)
	$(CARGO) build --workspace --bins

test: tools ## Run every test (installs what the tests need first)
	$(CARGO) test --workspace --no-fail-fast

lint: ## rustfmt check and clippy with warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

crds: ## Regenerate crds/ from the Rust types
	$(CARGO) run -q --bin signet -- crd > crds/signet.dev_signedchartreleases.yaml

demo: tools ## The main job: local registry, package, push, pull, inspect
	@bash scripts/demo.sh

e2e: tools ## Run the e2e checks and stories against the cluster named by KUBECONFIG
	@bash e2e/run.sh
	@bash e2e/stories.sh
	@bash e2e/stories-hooks.sh

bench: ## Run the benchmarks and print their figures
	$(CARGO) bench --workspace

docker-build: ## Build the controller image (needs a Docker engine)
	docker build -t signet-controller:dev .
