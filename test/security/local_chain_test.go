package security

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// localChainSpec writes a one-validator network whose chain comes from chain (a YAML flow
// mapping such as `{file: /etc/shadow}`).
func localChainSpec(t *testing.T, name, chain string) string {
	t.Helper()
	spec := fmt.Sprintf(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: %s}
spec:
  chain: %s
  node: {flavor: gossamer, binary: gossamer, image: example.org/gossamer:v0.9.0}
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`, name, chain)
	file := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// localChainServer serves h on loopback.
func localChainServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// TestLocalChainSourcesRefusedBeforeAnythingStarts plays a spec author pointing chain.file at
// secrets, directories and devices, and chain.url at servers that stall, refuse or answer
// something else. Before chain sources were checked, `onf up` accepted them: the supervisor
// started and the validator crash-looped until the timeout, a silent URL hung `onf up` past
// --timeout, and a refused URL left a half-made state directory behind. Now each is refused
// within seconds, naming the field, and leaves no state, no port and no supervisor.
func TestLocalChainSourcesRefusedBeforeAnythingStarts(t *testing.T) {
	c := newOnfCLI(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("SECRET-TOKEN=hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notSpec := filepath.Join(dir, "config.json")
	if err := os.WriteFile(notSpec, []byte(`{"listen":"0.0.0.0:80"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 65<<20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	silent := localChainServer(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	html := localChainServer(t, func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>maintenance</html>")) })
	redirect := localChainServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	refused := fmt.Sprintf("http://127.0.0.1:%d/spec.json", testenv.FreePort(t)) // nothing listens there

	type refusal struct{ chain, want string }
	cases := []refusal{
		{"{file: " + secret + "}", "spec.chain.file: " + secret + ": not a chain spec"},
		{"{file: " + dir + "}", "spec.chain.file: " + dir + ": not a regular file"},
		{"{file: " + filepath.Join(dir, "missing.json") + "}", "spec.chain.file: open " + filepath.Join(dir, "missing.json") + ": no such file"},
		{"{file: /dev/zero}", "spec.chain.file: /dev/zero: not a regular file"},
		{"{file: " + fifo + "}", "not a regular file"},
		{"{file: " + notSpec + "}", `not a chain spec: no ["name" "id" "genesis" object]`},
		{"{file: " + huge + "}", "larger than the chain spec size limit"},
		{"{url: '" + silent + "/spec.json'}", "spec.chain.url: fetch chain spec " + silent + "/spec.json: context deadline exceeded"},
		{"{url: '" + refused + "'}", "spec.chain.url: fetch chain spec " + refused + ": dial tcp"},
		{"{url: '" + html + "/spec.json'}", "not a chain spec"},
		{"{url: '" + redirect + "/spec.json'}", "302 Found: redirects are not followed"},
	}
	if localChainHasShadow() {
		cases = append(cases, refusal{"{file: /etc/shadow}", "spec.chain.file: /etc/shadow: not a chain spec"})
	}
	for i, tc := range cases {
		name := fmt.Sprintf("chain%d", i)
		spec := localChainSpec(t, name, tc.chain)
		out, err, took := c.run(30*time.Second, "up", "-f", spec, "--binary", "/bin/true", "--timeout", "3s")
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("up with chain %s: err %v, want %q\n%s", tc.chain, err, tc.want, out)
		}
		if took > 10*time.Second {
			t.Errorf("up with chain %s took %s", tc.chain, took)
		}
		if strings.Contains(out, "hunter2") {
			t.Errorf("up printed the file's content:\n%s", out)
		}
		localChainNothingLeft(t, c, name)
	}
	// Nothing half-made breaks status: there is simply no network.
	if out, _, _ := c.run(10*time.Second, "status"); !strings.Contains(out, "local networks: []") {
		t.Errorf("status after refused ups:\n%s", out)
	}
}

// localChainNothingLeft checks that a refused network has no state, no ports and no supervisor.
func localChainNothingLeft(t *testing.T, c *onfCLI, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(c.home, "networks", name)); !os.IsNotExist(err) {
		t.Errorf("network %s: state left behind (%v)", name, err)
	}
	var reg struct {
		Networks map[string][]int `json:"networks"`
	}
	if data, err := os.ReadFile(filepath.Join(c.home, "ports.json")); err == nil {
		if err := json.Unmarshal(data, &reg); err != nil {
			t.Fatal(err)
		}
	}
	if ports := reg.Networks[name]; len(ports) > 0 {
		t.Errorf("network %s: ports %v still registered", name, ports)
	}
	if out, _, _ := c.run(10*time.Second, "status", name); !strings.Contains(out, "no applied spec") {
		t.Errorf("network %s: status says\n%s", name, out)
	}
}

// TestLocalChainFileNotEmbeddedByRender: `onf render` put whatever chain.file named into a
// ConfigMap, /etc/shadow included. Only a chain spec is embedded now.
func TestLocalChainFileNotEmbeddedByRender(t *testing.T) {
	c := newOnfCLI(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(secret, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "chain.json")
	if err := os.WriteFile(good, []byte(`{"name":"Local","id":"local","genesis":{"raw":{"top":{}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	files := []string{secret}
	if localChainHasShadow() {
		files = append(files, "/etc/shadow")
	}
	for _, file := range files {
		out, err, _ := c.run(30*time.Second, "render", "-f", localChainSpec(t, "render", "{file: "+file+"}"), "--node-keys", keys)
		if err == nil || !strings.Contains(out, "spec.chain.file: "+file+": not a chain spec") {
			t.Errorf("render with chain.file %s: err %v\n%s", file, err, out)
		}
		if strings.Contains(out, "SECRET") || strings.Contains(out, "root:") || strings.Contains(out, "ConfigMap") {
			t.Errorf("render with chain.file %s embedded it:\n%s", file, out)
		}
	}
	out, err, _ := c.run(30*time.Second, "render", "-f", localChainSpec(t, "render", "{file: "+good+"}"), "--node-keys", keys)
	if err != nil || !strings.Contains(out, `"id":"local"`) {
		t.Errorf("render with a chain spec file: %v\n%s", err, out)
	}
}

// localChainHasShadow says whether this machine has /etc/shadow to aim at (minimal containers
// may not).
func localChainHasShadow() bool {
	_, err := os.Stat("/etc/shadow")
	return err == nil
}
