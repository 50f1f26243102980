package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExampleDefaults loads the documented example and compares the defaulted result with a
// golden file (go test ./internal/gateway/config -update to refresh).
func TestExampleDefaults(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(c, "", "  ")
	golden := filepath.Join("testdata", "gateway.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != string(got) {
		t.Fatalf("defaulted config differs from %s (run with -update):\n%s", golden, got)
	}
}

func TestRejects(t *testing.T) {
	base := "upstreams: [{ws: 'ws://127.0.0.1:9944'}]\nauth: {apiKeys: {file: k}}\n"
	tests := []struct {
		name, doc, field string
	}{
		{"no upstreams", "auth: {apiKeys: {file: k}}", "upstreams"},
		{"bad upstream scheme", "upstreams: [{http: 'ftp://x'}]\nauth: {apiKeys: {file: k}}", "upstreams[0].http"},
		{"upstream without host", "upstreams: [{ws: 'ws://'}]\nauth: {apiKeys: {file: k}}", "upstreams[0].ws"},
		{"duplicate upstream", "upstreams: [{name: a, ws: 'ws://h:1'}, {name: a, ws: 'ws://h:2'}]\nauth: {apiKeys: {file: k}}", "upstreams[1].name"},
		{"no auth", "upstreams: [{ws: 'ws://h:1'}]", "auth"},
		{"bad listen", base + "listen: nope", "listen"},
		{"jwt without keys", base + "auth: {jwt: {issuer: x}}", "auth.jwt"},
		{"bad role pattern", base + "roles: {r: {allow: ['a*b']}}", "roles.r"},
		{"public unknown role", base + "public: [{path: /p, role: nobody}]", "public[0].role"},
		{"public on /", base + "public: [{path: /, role: default}]", "public[0].path"},
		{"negative limit", base + "limits: {perKey: {burst: -1}}", "limits.perKey.burst"},
		{"tiny request limit", base + "limits: {maxRequestBytes: 10}", "limits.maxRequestBytes"},
		{"timeout over interval", base + "healthCheck: {interval: 1s, timeout: 2s}", "healthCheck.timeout"},
		{"bad duration", base + "healthCheck: {interval: soon}", "invalid duration"},
		{"unknown field", base + "listn: x", `unknown field "listn"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %v, want one naming %s", err, tt.field)
			}
			if problem.Of(err) != nil && !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("problem list does not start a line with the field path: %v", err)
			}
		})
	}
}

func TestDerivedURLs(t *testing.T) {
	c, err := Parse([]byte("upstreams: [{http: 'https://rpc.example.org'}, {ws: 'ws://127.0.0.1:9944'}]\nauth: {apiKeys: {file: k}}"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Upstreams[0].WS != "wss://rpc.example.org" || c.Upstreams[1].HTTP != "http://127.0.0.1:9944" {
		t.Fatalf("derived %+v", c.Upstreams)
	}
}

func TestLoadFor(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(file, []byte("auth: {apiKeys: {file: keys.yaml}}\nlisten: 127.0.0.1:9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFor(file, []Upstream{{Name: "rpc-0", HTTP: "http://127.0.0.1:9933", WS: "ws://127.0.0.1:9944"}})
	if err != nil || c.Listen != "127.0.0.1:9000" || len(c.Upstreams) != 1 || c.Upstreams[0].Name != "rpc-0" {
		t.Fatalf("%+v, %v", c, err)
	}
	if _, err := LoadFor(file, nil); err == nil || !strings.Contains(err.Error(), "upstreams") {
		t.Fatalf("no upstreams: %v", err)
	}
	if err := os.WriteFile(file, []byte("upstreams: [{ws: 'ws://elsewhere:1'}]\nauth: {apiKeys: {file: k}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFor(file, []Upstream{{HTTP: "http://127.0.0.1:1"}}); err == nil {
		t.Fatal("a config naming its own upstreams was accepted")
	}
}
