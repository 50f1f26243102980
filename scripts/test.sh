#!/usr/bin/env bash
# The README's test command (make test): builds the real components (scripts/tools.sh,
# scripts/images.sh), then runs every package's tests against them.
#
# Packages run one at a time (-p 1) in two lanes side by side. The containers lane holds the
# packages whose tests spend most of their time waiting for containers: pods on the real
# cluster (test/cluster, whose subtests also run side by side) and podman machines booting
# cloud-init (test/machines, test/dinfra). The other lane holds everything else: real nodes,
# control planes and load tests whose timing should not depend on a second busy package.
#
#   scripts/test.sh                  # everything
#   scripts/test.sh -run TestFoo     # extra go test flags, passed to both lanes
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/tools.sh env)"
eval "$(scripts/images.sh env)"

module=$(go list -m)
containers=("$module/test/cluster" "$module/test/machines" "$module/test/dinfra")
mapfile -t rest < <(go list ./... | grep -vxF "$(printf '%s\n' "${containers[@]}")")

go test -p 1 -count=1 -timeout 60m "$@" "${containers[@]}" &
containers_pid=$!
status=0
go test -p 1 -count=1 -timeout 60m "$@" "${rest[@]}" || status=$?
wait "$containers_pid" || status=$?
exit "$status"
