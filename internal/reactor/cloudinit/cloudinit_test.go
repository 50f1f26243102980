package cloudinit_test

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/reactor/cloudinit"
)

func TestEndpointURLRoundTrip(t *testing.T) {
	const fp = "SHA256:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg"
	u := cloudinit.EndpointURL("127.0.0.1", 40022, fp)
	if strings.ContainsAny(u[len("ssh://"):], "+/, ") || !strings.HasPrefix(u, "ssh://127.0.0.1:40022?fingerprint=SHA256%3A") {
		t.Fatalf("url %s", u)
	}
	addr, got, err := cloudinit.ParseEndpoint(u)
	if err != nil || addr != "127.0.0.1:40022" || got != fp {
		t.Fatalf("%s %s %v", addr, got, err)
	}
	if _, _, err := cloudinit.ParseEndpoint("ssh://127.0.0.1:22"); err == nil {
		t.Fatal("an endpoint without a fingerprint was accepted")
	}
}
