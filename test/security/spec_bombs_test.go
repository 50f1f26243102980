package security

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Spec bombs (issue 11, item 7): documents made to exhaust memory, time or disk, given to the
// built onf binary's validate, render and up as a user would. Each must be refused with its
// field path and reason, quickly, within bounded memory, and without writing a file: before,
// replicas: 100000000 OOM-killed onf validate and onf render wrote a million node key files.

// specBombsHead is a network that renders and runs except for what each bomb adds.
const specBombsHead = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: bomb}
spec:
  chain: {builtin: westend-dev}
  node: {image: "example.org/gossamer:v0.9.0"}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`

// Limits every refusal must stay within. Peak RSS (measured by testdata/peakrss, so that this
// test process's own size does not count) includes onf's own start (about 35 MiB);
// the worst bomb, a 1 MiB array, peaked at 76 MiB when measured.
const (
	specBombsMaxRSS  = 160 << 20
	specBombsMaxTime = 20 * time.Second // generous: CI machines are shared
)

func TestSpecBombs(t *testing.T) {
	onf := build(t, "github.com/dinfra/stack/cmd/onf")
	peakRSS := build(t, "github.com/dinfra/stack/test/security/testdata/peakrss")
	specs := t.TempDir()
	bombs := []struct {
		name, doc, want string
	}{
		{"a hundred million replicas", specBombsHead + "  - {name: rpc, role: rpc, replicas: 100000000}\n",
			"spec.groups[1].replicas: must be <= 1000, got 100000000"},
		{"an autoscaler of a hundred million", specBombsHead + "  - {name: rpc, role: rpc, autoscaling: {minReplicas: 1, maxReplicas: 100000000}}\n",
			"spec.groups[1].autoscaling.maxReplicas: must be <= 1000, got 100000000"},
		{"six groups of a thousand nodes", specBombsHead + specBombsRepeat(6, "  - {name: full-%d, role: full, replicas: 1000}\n"),
			"spec.groups: must have at most 5000 nodes"},
		{"five thousand groups", specBombsHead + specBombsRepeat(5000, "  - {name: full-%d, role: full}\n"),
			"spec.groups: must have at most 100 items, got 5001"},
		{"a huge array", specBombsHead + "  - {name: rpc, role: rpc, args: [" + strings.Repeat(`"-x",`, 150000) + "]}\n",
			"spec.groups[1].args: must have at most 100 items, got 150000"},
		{"a huge string", specBombsHead + "  - {name: rpc, role: rpc, args: [" + strings.Repeat("x", 1000000) + "]}\n",
			"spec.groups[1].args[0]: must be at most 4096 characters long, got 1000000"},
		{"deep nesting", specBombsHead + "  - {name: rpc, role: rpc, args: " + strings.Repeat("[", 300000) + strings.Repeat("]", 300000) + "}\n",
			"(document): not valid YAML or JSON: yaml: line 9: exceeded max depth of 10000"},
		{"YAML aliases", specBombsHead + "metadata:\n  annotations:\n    a: &a [x, x, x, x, x, x, x, x, x]\n    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n    f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
			"(document): not valid YAML or JSON: yaml: document contains excessive aliasing"},
		{"a document over 1 MiB", specBombsHead + "# " + strings.Repeat("x", 2<<20) + "\n",
			"(document): larger than the limit of 1048576 bytes (1 MiB)"},
	}
	for _, b := range bombs {
		file := filepath.Join(specs, strings.ReplaceAll(b.name, " ", "-")+".yaml")
		if err := os.WriteFile(file, []byte(b.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range specBombsCommands(file) {
			t.Run(b.name+"/"+cmd[0], func(t *testing.T) { specBombsRefused(t, peakRSS, onf, cmd, b.want) })
		}
	}
	// An endless document: onf reads 1 MiB and stops.
	for _, cmd := range specBombsCommands("/dev/zero") {
		t.Run("endless document/"+cmd[0], func(t *testing.T) {
			specBombsRefused(t, peakRSS, onf, cmd, "(document): larger than the limit of 1048576 bytes (1 MiB)")
		})
	}
}

// specBombsCommands are the onf commands that read a spec file, as a user runs them.
func specBombsCommands(file string) [][]string {
	return [][]string{
		{"validate", "-f", file},
		{"render", "-f", file},
		{"up", "-f", file, "--timeout", "10s"},
	}
}

// specBombsRefused runs onf in an empty working directory and home, and checks that it
// failed naming want, in time and memory, leaving both directories empty.
func specBombsRefused(t *testing.T, peakRSS, onf string, args []string, want string) {
	work, home := t.TempDir(), t.TempDir()
	rssFile := filepath.Join(t.TempDir(), "rss")
	c := exec.Command(peakRSS, append([]string{onf}, args...)...)
	c.Dir = work
	c.Env = append(os.Environ(), "HOME="+home, "ONF_HOME="+filepath.Join(home, "onf"), "PEAKRSS_OUT="+rssFile)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	start := time.Now()
	err := c.Run()
	took := time.Since(start)
	if err == nil {
		t.Fatalf("onf %s accepted the spec:\n%s", args[0], specBombsHeadOf(out.String()))
	}
	if !strings.Contains(out.String(), want) {
		t.Errorf("onf %s output lacks %q:\n%s", args[0], want, specBombsHeadOf(out.String()))
	}
	kib, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("peak RSS of onf %s: %v", args[0], err)
	}
	rss, err := strconv.ParseInt(string(kib), 10, 64)
	if err != nil {
		t.Fatalf("peak RSS of onf %s: %v", args[0], err)
	}
	rss <<= 10
	t.Logf("onf %s: refused in %v, peak RSS %d MiB", args[0], took.Round(time.Millisecond), rss>>20)
	if took > specBombsMaxTime {
		t.Errorf("onf %s took %v to refuse, want under %v", args[0], took, specBombsMaxTime)
	}
	if rss > specBombsMaxRSS {
		t.Errorf("onf %s peaked at %d MiB, want under %d MiB", args[0], rss>>20, specBombsMaxRSS>>20)
	}
	for _, dir := range []string{work, home} {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("onf %s wrote %s into %s", args[0], entries[0].Name(), dir)
		}
	}
}

func specBombsRepeat(n int, format string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// specBombsHeadOf shortens output that may echo a huge document.
func specBombsHeadOf(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}
