//go:build tools

// Package tools pins kwok, the fake kubelet that turns scheduled Pods Ready in tests.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
