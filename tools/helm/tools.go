//go:build tools

// Package tools pins helm, used to lint and template the operator chart in tests.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
