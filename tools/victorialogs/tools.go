//go:build tools

// Package tools pins VictoriaLogs (Apache-2.0), a log store that accepts the Loki push API:
// the tests push a network's node logs to it and query them back. scripts/tools.sh builds it.
package tools

import _ "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
