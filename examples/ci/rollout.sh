#!/bin/sh
# A CI/CD deploy step (docs/rollout.md): apply the spec with the new node binary, then let the
# canary rollout decide the job's outcome. `onf rollout status --wait` exits 0 once every step
# passed its gates and non-zero when a gate failed and the nodes were rolled back.
#   SPEC=network.yaml NETWORK=dev examples/ci/rollout.sh
set -eu
onf up -f "$SPEC" --until-block 0 --timeout 10m
onf rollout status "$NETWORK" --wait --timeout 20m
