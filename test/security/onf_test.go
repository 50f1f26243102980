package security

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// builds holds the commands built for this test run, built once each (see build).
var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// build builds a command of this module once per test run and returns its path.
func build(t testing.TB, pkg string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bins[pkg]; ok {
		return bin
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "security-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.bins = dir, map[string]string{}
	}
	bin := filepath.Join(builds.dir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	builds.bins[pkg] = bin
	return bin
}

// onfCLI runs the built onf binary as a user would, with a private state home and working
// directory (relative paths such as render's key directory land there).
type onfCLI struct {
	t         testing.TB
	bin, home string
	cwd       string
}

func newOnfCLI(t testing.TB) *onfCLI {
	t.Helper()
	root := t.TempDir()
	cwd := filepath.Join(root, "cwd")
	if err := os.Mkdir(cwd, 0o700); err != nil {
		t.Fatal(err)
	}
	return &onfCLI{t: t, bin: build(t, "github.com/dinfra/stack/cmd/onf"), home: filepath.Join(root, "home"), cwd: cwd}
}

// run runs onf with a deadline and returns its output, its error and how long it took.
func (c *onfCLI) run(timeout time.Duration, args ...string) (string, error, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--home", c.home}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Dir = &out, &out, c.cwd
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return out.String(), err, time.Since(start)
}

// must runs onf (within 5 minutes) and fails the test if it fails.
func (c *onfCLI) must(args ...string) string {
	c.t.Helper()
	out, err, _ := c.run(5*time.Minute, args...)
	if err != nil {
		c.t.Fatalf("onf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
