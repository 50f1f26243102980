package gateway

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/gatewaytest"
	"github.com/dinfra/stack/internal/testenv"
)

// secretVolume is a directory laid out as the kubelet lays out a mounted Secret: each
// version of the data in a timestamped directory, a ..data symlink to the current one, and
// each key a symlink through ..data. An update writes a new version and swaps ..data with
// one rename, so readers see the old file or the new one, never a mix.
type secretVolume struct {
	t       *testing.T
	dir     string
	version int
}

func newSecretVolume(t *testing.T, file string, content []byte) *secretVolume {
	v := &secretVolume{t: t, dir: t.TempDir()}
	v.update(file, content)
	if err := os.Symlink(filepath.Join("..data", file), filepath.Join(v.dir, file)); err != nil {
		t.Fatal(err)
	}
	return v
}

// update swaps in a new version holding file, as the kubelet does, and removes the old one.
func (v *secretVolume) update(file string, content []byte) {
	v.t.Helper()
	old, _ := os.Readlink(filepath.Join(v.dir, "..data"))
	v.version++
	version := "..2026_12_05_08_00_00." + string(rune('0'+v.version))
	if err := os.Mkdir(filepath.Join(v.dir, version), 0o755); err != nil {
		v.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v.dir, version, file), content, 0o440); err != nil {
		v.t.Fatal(err)
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		v.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		v.t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(v.dir, old)); err != nil {
			v.t.Fatal(err)
		}
	}
}

func keyFileContent(t *testing.T, entries ...auth.KeyEntry) []byte {
	t.Helper()
	b, err := json.Marshal(auth.KeyFile{Keys: entries})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeysRotateInAMountedSecret: the gateway on Kubernetes reads its API keys from a Secret
// mounted as a directory (spec.gateway.keysSecret). When the Secret changes, the kubelet
// swaps the volume's ..data symlink; the running gateway must put the new keys in force
// and refuse the removed one, without a restart or a signal.
func TestKeysRotateInAMountedSecret(t *testing.T) { eachServer(t, testKeysRotateInAMountedSecret) }

func testKeysRotateInAMountedSecret(t *testing.T, srv Option) {
	const rotated = "onf_test-rotated-key-0123456789abcdefghijklmnop"
	vol := newSecretVolume(t, "keys.yaml", keyFileContent(t, auth.KeyEntry{ID: "reader", SHA256: auth.HashKey(readerKey)}))
	e := newEnv(t, func(c *config.Config) {
		c.Auth.APIKeys.File = filepath.Join(vol.dir, "keys.yaml")
		c.Auth.APIKeys.ReloadInterval = config.Duration(100 * time.Millisecond)
	}, srv)
	const call = `{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}`
	status := func(key string) int {
		code, _ := gatewaytest.Post(t, e.url, key, call)
		return code
	}
	if got := status(readerKey); got != http.StatusOK {
		t.Fatalf("the mounted key: status %d, want 200", got)
	}
	if got := status(rotated); got != http.StatusUnauthorized {
		t.Fatalf("a key not yet in the Secret: status %d, want 401", got)
	}

	vol.update("keys.yaml", keyFileContent(t, auth.KeyEntry{ID: "rotated", SHA256: auth.HashKey(rotated)}))
	testenv.Eventually(t, 5*time.Second, "the rotated key in force after the Secret changed", func() bool {
		return status(rotated) == http.StatusOK
	})
	if got := status(readerKey); got != http.StatusUnauthorized {
		t.Errorf("the key removed from the Secret: status %d, want 401", got)
	}
}
