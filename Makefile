# The README's two quick-start commands are `make up` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin

.PHONY: build up down test test-short fuzz generate tools

build:
	$(GO) build -o $(BIN)/ ./cmd/...

tools:
	@scripts/tools.sh env

# Builds the container images with podman (onf, gossamer, pause; scripts/images.sh) and
# imports them into containerd for the real-pod tests. Needs scripts/cluster-host.sh once.
images:
	scripts/images.sh import onf gossamer pause

# Regenerates deepcopy code, the CRD, RBAC and the JSON Schema from api/v1alpha1.
generate:
	scripts/generate.sh

# Brings up the example dev network (one validator, a boot node, an RPC node), waits until
# every node has imported block #3 and prints the status table.
up: build
	$(BIN)/onf up -f examples/dev-network.yaml --binary "$$(scripts/tools.sh gossamer)" --until-block 3

down: build
	$(BIN)/onf down -f examples/dev-network.yaml

# Runs every test, unit and integration, against real components built by scripts/tools.sh:
# one package at a time in two lanes side by side (see scripts/test.sh).
test:
	scripts/test.sh

test-short:
	$(GO) test -short ./...

# Runs every fuzz target for a bounded time (FUZZTIME, default 20s each); CI runs it after the tests.
fuzz:
	scripts/fuzz.sh
