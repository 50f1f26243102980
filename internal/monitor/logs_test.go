package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLevel(t *testing.T) {
	for line, want := range map[string]string{
		"2026-12-05T11:06:20Z INFO     initialising node with name Gossamer\tpkg=dot":      "info",
		"2026-12-05T11:06:20Z EROR     failed to handle slot\tpkg=babe":                    "error",
		"2026-12-05T11:06:20Z WARN     peer disconnected":                                  "warn",
		"2024-01-01 12:00:00 WARN tokio-runtime-worker sync: Reputation change":            "warn", // polkadot-sdk
		"2024-01-01 12:00:00.123 ERROR main sc_cli: Essential task failed":                 "error",
		"2026/12/05 11:06:28 [JOB 1] WAL file 000002.log stopped reading":                  "unknown",
		"panic: runtime error: invalid memory address INFO (a level word past the fourth)": "unknown",
	} {
		if got := Level(line); got != want {
			t.Errorf("Level(%q) = %s, want %s", line, got, want)
		}
	}
}

// TestReadLines: only complete lines are shipped (the node may be mid-write), and a file that
// shrank (replaced) is read again from its start.
func TestReadLines(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rpc-0.log")
	if err := os.WriteFile(file, []byte("one\ntwo\nthr"), 0o600); err != nil {
		t.Fatal(err)
	}
	lines, next, err := readLines(file, 0, 1<<20)
	if err != nil || strings.Join(lines, ",") != "one,two" || next != 8 {
		t.Fatalf("got %q, next %d, %v", lines, next, err)
	}
	if lines, _, _ := readLines(file, next, 1<<20); len(lines) != 0 {
		t.Fatalf("a partial line was read: %q", lines)
	}
	if lines, _, _ := readLines(file, 4, 5); strings.Join(lines, ",") != "two" {
		t.Fatalf("batch of 5 bytes from offset 4: %q", lines)
	}
	if err := os.WriteFile(file, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if lines, next, _ := readLines(file, 8, 1<<20); strings.Join(lines, ",") != "new" || next != 4 {
		t.Fatalf("replaced file: %q, next %d", lines, next)
	}
}
