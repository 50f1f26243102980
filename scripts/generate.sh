#!/usr/bin/env bash
# Regenerates the code and manifests derived from the SubstrateNetwork Go type (api/v1alpha1):
#   api/v1alpha1/zz_generated.deepcopy.go         deepcopy functions (controller-gen object)
#   config/crd/bases/onf.dinfra.dev_substratenetworks.yaml   the CRD (controller-gen crd)
#   charts/onf-operator/crds/                     the same CRD, shipped with the Helm chart
#   api/v1alpha1/substratenetwork.schema.json     the JSON Schema `onf validate` checks specs against (embedded; docs/schema links to it)
# Run it after changing the types and commit the result; tests fail when the files are stale.
#
#   scripts/generate.sh            # regenerate everything
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

CONTROLLER_GEN="${CONTROLLER_GEN_BIN:-$(scripts/tools.sh controller-gen)}"

"$CONTROLLER_GEN" \
  object paths=./api/... \
  crd:crdVersions=v1 output:crd:artifacts:config=config/crd/bases paths=./api/...

crd=config/crd/bases/onf.dinfra.dev_substratenetworks.yaml
if [[ -d charts/onf-operator ]]; then
  mkdir -p charts/onf-operator/crds
  cp "$crd" charts/onf-operator/crds/
fi
# docs/schema/substratenetwork.schema.json is a symlink to this file: the docs publish what the code embeds.
go run ./scripts/crdschema "$crd" api/v1alpha1/substratenetwork.schema.json
