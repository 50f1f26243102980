package gateway

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/dinfra/stack/internal/gateway/auth"
)

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(t *testing.T, path string) *http.Request {
	t.Helper()
	return httptest.NewRequest(http.MethodGet, path, nil)
}

func hashOf(k string) string { return auth.HashKey(k) }

func writeFile(file, content string) error { return os.WriteFile(file, []byte(content), 0o600) }
