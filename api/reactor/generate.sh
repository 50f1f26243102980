#!/usr/bin/env bash
# Regenerates the Chain Reactor API's Go server and client from openapi.yaml with the pinned
# oapi-codegen (tools/oapi-codegen). Run after editing openapi.yaml and commit the result.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$("$here/../../scripts/tools.sh" oapi-codegen)"
cd "$here"
"$bin" -config oapi-codegen.yaml openapi.yaml
gofmt -l . | (! grep .) || { echo "generated code is not gofmt-clean" >&2; exit 1; }
