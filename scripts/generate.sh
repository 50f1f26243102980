#!/usr/bin/env bash
# Regenerates the code and manifests derived from the SubstrateNetwork Go type (api/v1alpha1):
#   api/v1alpha1/zz_generated.deepcopy.go         deepcopy functions (controller-gen object)
#   config/crd/bases/onf.dinfra.dev_substratenetworks.yaml   the CRD (controller-gen crd)
#   config/rbac/role.yaml                         the operator's ClusterRole, from the
#                                                 +kubebuilder:rbac markers of internal/kube/controller
#   charts/onf-operator/crds/, files/rules.yaml   the same CRD and rules, shipped with the Helm chart
#   api/v1alpha1/substratenetwork.schema.json     the JSON Schema `onf validate` checks specs against (embedded; docs/schema links to it)
# Run it after changing the types and commit the result; tests fail when the files are stale.
#
#   scripts/generate.sh            # regenerate everything
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

CONTROLLER_GEN="${CONTROLLER_GEN_BIN:-$(scripts/tools.sh controller-gen)}"

"$CONTROLLER_GEN" \
  object crd:crdVersions=v1 rbac:roleName=onf-operator \
  output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac \
  paths=./api/... paths=./internal/kube/controller/...

crd=config/crd/bases/onf.dinfra.dev_substratenetworks.yaml
mkdir -p charts/onf-operator/crds charts/onf-operator/files
cp "$crd" charts/onf-operator/crds/
sed -n '/^rules:/,$p' config/rbac/role.yaml > charts/onf-operator/files/rules.yaml
# docs/schema/substratenetwork.schema.json is a symlink to this file: the docs publish what the code embeds.
# The pod fields that hold Kubernetes core types are left opaque there (scripts/crdschema).
go run ./scripts/crdschema -opaque scripts/crdschema/opaque.txt "$crd" api/v1alpha1/substratenetwork.schema.json
