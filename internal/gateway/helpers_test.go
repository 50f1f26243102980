package gateway

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(t *testing.T, path string) *http.Request {
	t.Helper()
	return httptest.NewRequest(http.MethodGet, path, nil)
}

func writeFile(file, content string) error { return os.WriteFile(file, []byte(content), 0o600) }
