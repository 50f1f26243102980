#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each (FUZZTIME, default 20s), so
# the hand-written parsers (gateway HTTP head, WebSocket frames, JSON scan) and spec parsing are
# fuzzed in every CI run, not only their seed corpora. A crasher fails the run and leaves its
# input under the package's testdata/fuzz/ for `go test -run` to replay.
#
#   scripts/fuzz.sh                 # every target, 20s each
#   FUZZTIME=2m scripts/fuzz.sh ./internal/gateway/...
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-20s}
pkgs=("${@:-./...}")

# Every "func FuzzX(" in a _test.go file of the packages asked for, as "dir target" pairs.
mapfile -t targets < <(go list -f '{{.Dir}}' "${pkgs[@]}" | while read -r dir; do
  grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed "s|^func |$dir |" || true
done)

if ((${#targets[@]} == 0)); then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
  read -r dir name <<<"$t"
  echo "fuzz: $name in ${dir#"$PWD"/} for $fuzztime"
  # One target per invocation: go test -fuzz takes a single target per package. A failure is
  # run once more: a real crasher is saved under testdata/fuzz and fails again at once as a
  # seed, while a failure of the fuzzing machinery itself (seen once on a loaded machine)
  # does not come back. The whole output is shown only when the target fails.
  fuzz() { (cd "$dir" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" . >"$log" 2>&1); }
  if ! fuzz; then
    cat "$log"
    echo "fuzz: $name failed; running it once more"
    if ! fuzz; then
      cat "$log"
      exit 1
    fi
  fi
  tail -1 "$log"
done
