package main

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
	"github.com/dinfra/stack/internal/reactor/cloudstack/cloudstackfake"
)

// TestReactorServeRefusesABadChainNet: a provider's allow-list of private ranges is checked
// before the reactor starts.
func TestReactorServeRefusesABadChainNet(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runDinfra(t, "", "reactor", "serve", "--token-file", token, "--state-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--chain-url-allow-net", "10.0.0.0/99")
	if err == nil || !strings.Contains(err.Error(), `--chain-url-allow-net "10.0.0.0/99"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestCloudStackDriverFromFlags: the cloudstack driver built from serve's flags (against the
// fake CloudStack API) passes `dinfra reactor conformance`, its Failed check included
// (--failing-descriptor: an image whose template is deleted after the start); credentials
// others may read are refused, and a zone the API does not know names the flag's value.
func TestCloudStackDriverFromFlags(t *testing.T) {
	fake := cloudstackfake.Start(t)
	fake.JobPolls = 0 // jobs end at their first poll: the CLI's poll interval is 2 s
	dir := t.TempDir()
	creds := filepath.Join(dir, "cloudstack.json")
	if err := os.WriteFile(creds, []byte(`{"apiKey":"`+fake.APIKey+`","secretKey":"`+fake.SecretKey+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f := serveFlags{driver: "cloudstack", capacity: 2, machineUnit: cloudinit.DefaultUnit(), readyWait: 10 * time.Second,
		csURL: fake.URL, csCredentials: creds, csZone: "zone-1", csOfferings: []string{"small"},
		csTemplates: []string{"debian-12=debian-12-template", "debian-gone=debian-11-template"}}
	if _, err := newDriver(f); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("credentials of mode 0644: %v", err)
	}
	if err := os.Chmod(creds, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := f
	bad.csZone = "zone-9"
	if _, err := newDriver(bad); err == nil || !strings.Contains(err.Error(), `zone "zone-9"`) {
		t.Fatalf("unknown zone: %v", err)
	}
	d, err := newDriver(f)
	if err != nil {
		t.Fatal(err)
	}
	fake.DeleteTemplate("debian-11-template")
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := reactor.New(reactor.Config{Driver: d, Registry: reg, Auth: reactor.Auth{Token: "t0ken"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	token, failing := filepath.Join(dir, "token"), filepath.Join(dir, "failing.json")
	if err := os.WriteFile(token, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(failing, []byte(`{"name":"failing","image":"debian-gone","cpus":1,"memoryMiB":512,"diskGiB":5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runDinfra(t, "", "reactor", "conformance", "--url", hs.URL, "--token-file", token, "--timeout", "10s",
		"--failing-descriptor", "cloud-init/v1="+failing)
	if err != nil || !strings.Contains(out, "all 15 checks passed (0 skipped)") {
		t.Fatalf("conformance: %v\n%s", err, out)
	}
	if _, _, err := runDinfra(t, "", "reactor", "conformance", "--url", hs.URL, "--failing-descriptor", failing); err == nil || !strings.Contains(err.Error(), "want TYPE=FILE") {
		t.Fatalf("--failing-descriptor without a type: %v", err)
	}
}
