package controller

import (
	"log/slog"

	"github.com/go-logr/logr"
)

// logrFrom gives controller-runtime the operator's slog logger.
func logrFrom(l *slog.Logger) logr.Logger {
	if l == nil {
		l = slog.Default()
	}
	return logr.FromSlogHandler(l.Handler())
}
