// Package testenv gives tests the real external components they run against (gossamer,
// kube-apiserver, etcd, real sockets, ...). Binaries are found through environment variables that
// `make test` and .ci/run set from scripts/tools.sh. Outside CI a missing binary skips the
// test; in CI (CI=true) it fails it, so a broken install step can never pass silently.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// Binary returns the path held by the environment variable env, or the first of the
// fallback command names found on PATH.
func Binary(t testing.TB, env string, fallbacks ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	for _, name := range fallbacks {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "set "+env+" (run `eval \"$(scripts/tools.sh env)\"`)")
	return ""
}

// Value returns the value of the environment variable env, such as an image name that
// scripts/images.sh exported (GOSSAMER_IMAGE), or reports it missing.
func Value(t testing.TB, env, how string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		Missing(t, "set "+env+" ("+how+")")
	}
	return v
}

// Missing skips the test locally and fails it in CI, where every component must be present.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("required test component missing in CI: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

// Short skips slow integration tests under `go test -short`.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped with -short")
	}
}

// TCPPair returns both ends of a connected loopback TCP connection, closed when the test ends.
func TCPPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}
