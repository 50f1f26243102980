package chainspec

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const minimalSpec = `{"name":"Development","id":"dev","chainType":"Development","genesis":{"raw":{"top":{}}}}`

func TestCheck(t *testing.T) {
	h, err := Check([]byte(minimalSpec))
	if err != nil || h.Name != "Development" || h.ID != "dev" || h.ChainType != "Development" {
		t.Fatalf("Check(minimal) = %+v, %v", h, err)
	}
	for _, tc := range []struct{ name, data, want string }{
		{"shadow file", "root:*:19000:0:99999:7:::\n", "not a chain spec: invalid character"},
		{"empty", "", "not a chain spec: unexpected end of JSON input"},
		{"array", `[1,2]`, "not a chain spec: array where a chain spec has an object"},
		{"no name", `{"id":"x","genesis":{}}`, `no ["name"]`},
		{"everything missing", `{}`, `no ["name" "id" "genesis" object]`},
		{"genesis not an object", `{"name":"a","id":"b","genesis":"raw"}`, `no ["genesis" object]`},
		{"name not a string", `{"name":1,"id":"b","genesis":{}}`, "number where a chain spec has"},
		{"truncated", minimalSpec[:40], "unexpected end of JSON input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Check([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check(%q) = %v, want an error containing %q", tc.data, err, tc.want)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", minimalSpec)
	if data, err := ReadFile(good, Options{}); err != nil || string(data) != minimalSpec {
		t.Fatalf("ReadFile(good) = %q, %v", data, err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(link, Options{}); err != nil {
		t.Errorf("ReadFile(symlink to a chain spec) = %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "missing.json"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"fifo (would block)", fifo, "not a regular file"},
		{"device", "/dev/zero", "not a regular file"},
		{"not a chain spec", write("passwd", "root:x:0:0:root:/root:/bin/bash\n"), "not a chain spec"},
		{"too large", good, "larger than the chain spec size limit of 10 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.name == "too large" {
				opts.MaxBytes = 10
			}
			data, err := ReadFile(tc.path, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || data != nil {
				t.Errorf("ReadFile(%s) = %d bytes, %v; want an error containing %q", tc.path, len(data), err, tc.want)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	for _, seed := range []string{minimalSpec, `{}`, `[]`, `{"name":"a","id":"b","genesis":[]}`, "root:*:1::\n", `{"genesis":{"raw":{}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Check(data)
		if err == nil && (h.Name == "" || h.ID == "") {
			t.Fatalf("Check accepted %q without name or id", data)
		}
	})
}
