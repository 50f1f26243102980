#!/usr/bin/env bash
# The README's test command (make test): builds the real components (scripts/tools.sh,
# scripts/images.sh), then runs every package's tests against them.
#
# Packages run one at a time (-p 1): real nodes, control planes and load tests whose timing
# should not depend on which other package shares a small machine's cores. The one
# exception is the real-pod cluster tests (test/cluster), the longest package, which spend
# most of their time waiting for pods to start and blocks to come: they run beside the rest.
#
#   scripts/test.sh                  # everything
#   scripts/test.sh -run TestFoo     # extra go test flags, passed to both runs
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/tools.sh env)"
eval "$(scripts/images.sh env)"

cluster=./test/cluster
go test -count=1 -timeout 60m "$@" "$cluster" &
cluster_pid=$!
status=0
go test -p 1 -count=1 -timeout 60m "$@" $(go list ./... | grep -vx "github.com/dinfra/stack/${cluster#./}") || status=$?
wait "$cluster_pid" || status=$?
exit "$status"
