package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFiles writes files (a path under dir: its content) into dir, making the folders on the
// way; everything is private to the user (0600 files, 0700 folders), as node data is.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
