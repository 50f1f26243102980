#!/usr/bin/env bash
# The README's test command (make test): builds the real components (scripts/tools.sh,
# scripts/images.sh), then runs every package's tests against them.
#
# Packages run one at a time (-p 1) in two lanes side by side, each about half of the time.
# The second lane holds long packages whose checks are about outcomes, not timing, and which
# spend most of their time waiting for pods, podman machines booting cloud-init or blocks:
# test/cluster (whose subtests also run side by side on the one real cluster), test/machines,
# test/dinfra, test/templates, test/backup and test/keys. The first lane holds everything
# else, including the tests that measure time (failover gaps, rollback and alert latency,
# rate limits, page render time), which should not depend on a busy neighbour.
#
#   scripts/test.sh                  # everything
#   scripts/test.sh -run TestFoo     # extra go test flags, passed to both lanes
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/tools.sh env)"
eval "$(scripts/images.sh env)"

module=$(go list -m)
second=()
for pkg in cluster machines dinfra templates backup keys; do second+=("$module/test/$pkg"); done
mapfile -t first < <(go list ./... | grep -vxF "$(printf '%s\n' "${second[@]}")")

go test -p 1 -count=1 -timeout 60m "$@" "${second[@]}" &
second_pid=$!
status=0
go test -p 1 -count=1 -timeout 60m "$@" "${first[@]}" || status=$?
wait "$second_pid" || status=$?
exit "$status"
