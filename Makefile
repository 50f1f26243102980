# The README's two quick-start commands are `make up` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin

.PHONY: build up down test test-short bench tools

build:
	$(GO) build -o $(BIN)/ ./cmd/...

tools:
	@scripts/tools.sh env

# Brings up the example dev network (one validator, a boot/full node, an RPC node) and shows
# it producing blocks.
up: build
	eval "$$(scripts/tools.sh env)" && $(BIN)/onf up -f examples/dev-network.yaml --binary "$$GOSSAMER_BIN" && $(BIN)/onf status -f examples/dev-network.yaml --watch-blocks 3

down: build
	$(BIN)/onf down -f examples/dev-network.yaml

# Runs every test, unit and integration, against real components built by scripts/tools.sh.
test:
	eval "$$(scripts/tools.sh env)" && $(GO) test -count=1 -timeout 45m ./...

test-short:
	$(GO) test -short ./...
