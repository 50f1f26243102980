package hatest

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

var fakeNode struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// FakeSDKNode builds the FAKE polkadot-sdk node once per test process and returns its path.
func FakeSDKNode(t testing.TB) string {
	t.Helper()
	fakeNode.once.Do(func() {
		dir, err := os.MkdirTemp("", "fakesdknode-")
		if err != nil {
			fakeNode.err = err
			return
		}
		fakeNode.bin = filepath.Join(dir, "polkadot-fake")
		cmd := exec.Command("go", "build", "-o", fakeNode.bin, "github.com/dinfra/stack/internal/ha/hatest/fakesdknode")
		fakeNode.out, fakeNode.err = cmd.CombinedOutput()
	})
	if fakeNode.err != nil {
		t.Fatalf("building the fake polkadot-sdk node: %v\n%s", fakeNode.err, fakeNode.out)
	}
	return fakeNode.bin
}
