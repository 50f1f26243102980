//go:build tools

// Package tools pins controller-gen (controller-tools v0.21.0, built against k8s.io v0.36),
// which generates the deepcopy functions and the CRD of api/v1alpha1.
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
