package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records a failure instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.failed = strings.TrimSpace(fmt.Sprint(args...))
	panic(r) // stands for runtime.Goexit: Eventually must not go on after Fatal
}

// run calls Eventually and returns its failure message ("" when the condition held).
func run[C Condition](t *testing.T, timeout time.Duration, cond C) (msg string) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		msg = r.failed
	}()
	Eventually(r, timeout, "the thing", cond)
	return ""
}

func TestEventually(t *testing.T) {
	calls := 0
	start := time.Now()
	if msg := run(t, time.Second, func() bool { calls++; return calls == 5 }); msg != "" {
		t.Fatalf("a condition that holds on the 5th poll failed: %s", msg)
	}
	if calls != 5 {
		t.Errorf("polled %d times, want 5: it must stop once the condition holds", calls)
	}
	// 1+2+4+8 ms of waiting, not 4 fixed long intervals.
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("5 polls took %s: the first polls must follow each other quickly", d)
	}

	for _, c := range []struct {
		name string
		msg  string
	}{
		{"bool", run(t, 20*time.Millisecond, func() bool { return false })},
		{"string", run(t, 20*time.Millisecond, func() (bool, string) { return false, "phase Pending" })},
		{"error", run(t, 20*time.Millisecond, func() (bool, error) { return false, errors.New("connection refused") })},
	} {
		want := map[string]string{
			"bool":   "the thing: not within 20ms",
			"string": "the thing: not within 20ms (last seen: phase Pending)",
			"error":  "the thing: not within 20ms (last seen: connection refused)",
		}[c.name]
		if c.msg != want {
			t.Errorf("%s condition: failure %q, want %q", c.name, c.msg, want)
		}
	}
}

// Poll, for goroutines that must not end the test, returns what Eventually fails with.
func TestPoll(t *testing.T) {
	done := make(chan error, 2)
	go func() {
		calls := 0
		done <- Poll(time.Second, "the thing", func() bool { calls++; return calls == 3 })
		done <- Poll(20*time.Millisecond, "the thing", func() (bool, string) { return false, "phase Pending" })
	}()
	if err := <-done; err != nil {
		t.Errorf("a condition that holds on the 3rd poll: %v", err)
	}
	if err := <-done; err == nil || err.Error() != "the thing: not within 20ms (last seen: phase Pending)" {
		t.Errorf("a condition that never holds: %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	WriteFiles(t, dir, map[string]string{"a": "1", "b/c/d": "2"})
	for name, want := range map[string]string{"a": "1", "b/c/d": "2"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode(), err)
		}
	}
}

func TestFreePorts(t *testing.T) {
	ports := FreePorts(t, 20)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d handed out twice in %v", p, ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}
