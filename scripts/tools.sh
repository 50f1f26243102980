#!/usr/bin/env bash
# Builds the external tools the project runs (real nodes, real control planes) from the
# wrapper modules under tools/, into a cache keyed by tool and version, and prints the path
# of each binary. A warm cache makes this a no-op.
#
#   scripts/tools.sh gossamer          # prints the gossamer binary path
#   scripts/tools.sh env               # prints export lines for every tool (eval "$(...)")
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${DINFRA_TOOLS_CACHE:-$HOME/.cache/dinfra-stack/tools}"

# build NAME VERSION PACKAGE [ldflags]: builds PACKAGE from tools/NAME into CACHE/NAME-VERSION/NAME.
build() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:-}
  local out="$CACHE/$name-$version/$name"
  if [[ ! -x "$out" ]]; then
    echo "building $name $version (cached in $CACHE)" >&2
    mkdir -p "$(dirname "$out")"
    (cd "$ROOT/tools/$name" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

gossamer() {
  local bin
  bin=$(build gossamer v0.9.0 github.com/ChainSafe/gossamer/cmd/gossamer)
  # The westend chain specs ship inside the gossamer module; keep them beside the binary.
  local chains="$(dirname "$bin")/chain"
  if [[ ! -d "$chains" ]]; then
    local dir
    dir=$(cd "$ROOT/tools/gossamer" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/ChainSafe/gossamer)
    mkdir -p "$chains.tmp"
    cp -r "$dir/chain/westend-dev" "$dir/chain/westend-local" "$chains.tmp/"
    chmod -R u+w "$chains.tmp"
    mv "$chains.tmp" "$chains"
  fi
  echo "$bin"
}

# --- DINFRA reactor: IPFS node for the descriptor store, OpenAPI code generator ---------------
KUBO_VERSION=v0.43.0
OAPI_CODEGEN_VERSION=v2.5.1

kubo() {
  build kubo "$KUBO_VERSION" github.com/ipfs/kubo/cmd/ipfs "-s -w"
}

oapi_codegen() {
  build oapi-codegen "$OAPI_CODEGEN_VERSION" github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen "-s -w"
}

case "${1:-}" in
  gossamer) gossamer ;;
  kubo) kubo ;;
  oapi-codegen) oapi_codegen ;;
  env)
    echo "export GOSSAMER_BIN=$(gossamer)"
    echo "export KUBO_BIN=$(kubo)"
    ;;
  *) echo "usage: $0 gossamer|kubo|oapi-codegen|env" >&2; exit 2 ;;
esac
