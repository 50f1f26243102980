// Package gatewaytest holds what tests of the gateway share, inside the package and from
// outside it (test/security).
package gatewaytest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Post sends a JSON-RPC body to url with a bearer credential (none if empty) and returns the
// status and the answer.
func Post(t testing.TB, url, credential, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
