//go:build tools

// Package tools pins SeaweedFS, whose weed binary serves the real S3 API the backup
// package's s3:// tests run against (versitygw, the server first chosen, is not served by
// the Go module proxy here).
package tools

import _ "github.com/seaweedfs/seaweedfs/weed"
