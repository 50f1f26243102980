package hatest

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// FakeStart is what the FAKE polkadot-sdk node (fakesdknode) records of each start: one
// JSON line in FakeStartsFile(base path).
type FakeStart struct {
	PID       int               `json:"pid"`
	Args      []string          `json:"args"`
	Authority bool              `json:"authority"`          // started with --validator or --collator
	Keystore  map[string]string `json:"keystore,omitempty"` // its --keystore-path: file name -> content
	Modes     map[string]string `json:"modes,omitempty"`    // file name -> permission bits
}

// FakeStartsFile is where a fake node with this base path records its starts.
func FakeStartsFile(base string) string { return filepath.Join(base, "fake-node-starts.jsonl") }

// FakeStarts reads a fake node's starts so far (none when it never started).
func FakeStarts(t testing.TB, base string) []FakeStart {
	t.Helper()
	f, err := os.Open(FakeStartsFile(base))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []FakeStart
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s FakeStart
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("%s: %v", FakeStartsFile(base), err)
		}
		out = append(out, s)
	}
	return out
}

// FakeSDKNode builds the FAKE polkadot-sdk node into the test's temporary directory and
// returns its path (the build is cached by go: about a second).
func FakeSDKNode(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "polkadot-fake")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/dinfra/stack/internal/ha/hatest/fakesdknode").CombinedOutput()
	if err != nil {
		t.Fatalf("building the fake polkadot-sdk node: %v\n%s", err, out)
	}
	return bin
}
