package monitor

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/monitoring"
)

// levelSamples are node log lines of both flavors and their levels.
var levelSamples = map[string]string{
	"2026-12-05T11:06:20Z INFO     initialising node with name Gossamer\tpkg=dot":      "info",
	"2026-12-05T11:06:20Z EROR     failed to handle slot\tpkg=babe":                    "error",
	"2026-12-05T11:06:20Z WARN     peer disconnected":                                  "warn",
	"2024-01-01 12:00:00 WARN tokio-runtime-worker sync: Reputation change":            "warn", // polkadot-sdk
	"2024-01-01 12:00:00.123 ERROR main sc_cli: Essential task failed":                 "error",
	"2026/12/05 11:06:28 [JOB 1] WAL file 000002.log stopped reading":                  "unknown",
	"panic: runtime error: invalid memory address INFO (a level word past the fourth)": "unknown",
}

func TestLevel(t *testing.T) {
	for line, want := range levelSamples {
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

// TestFluentBitConfig holds the cluster collector config (monitoring/logs/fluent-bit.yaml)
// to the local shipper: the same stream labels, read from the labels the operator puts on
// every pod, and the same level for every line (its regex and level mapping, applied here
// with Go's regexp, against Level). Fluent Bit itself does not run here.
func TestFluentBitConfig(t *testing.T) {
	var cfg struct {
		Parsers  []map[string]string `json:"parsers"`
		Pipeline struct {
			Inputs, Filters, Outputs []map[string]string
		} `json:"pipeline"`
	}
	if err := yaml.Unmarshal(monitoring.FluentBit, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Parsers) != 1 || cfg.Parsers[0]["name"] != "onf-level" {
		t.Fatalf("parsers: %v", cfg.Parsers)
	}
	re, err := regexp.Compile(cfg.Parsers[0]["regex"])
	if err != nil {
		t.Fatal(err)
	}
	mapped, fallback, parsed, onfPods := map[string]string{}, "", false, false
	for _, f := range cfg.Pipeline.Filters {
		switch f["name"] {
		case "parser":
			parsed = f["parser"] == "onf-level" && f["key_name"] == "log" && f["reserve_data"] == "true"
		case "grep":
			onfPods = f["regex"] == "$kubernetes['labels']['"+kube.LabelNetwork+"'] .+"
		case "modify":
			set, ok := strings.CutPrefix(f["set"], "level ")
			switch cond := f["condition"]; {
			case !ok:
				t.Errorf("modify filter sets %q", f["set"])
			case cond == "key_does_not_exist level":
				fallback = set
			case strings.HasPrefix(cond, "key_value_equals level "):
				mapped[strings.TrimPrefix(cond, "key_value_equals level ")] = set
			default:
				t.Errorf("modify filter condition %q", cond)
			}
		}
	}
	if !parsed || !onfPods {
		t.Errorf("filters: the level parser on the log key (%v), only onf pods (%v)", parsed, onfPods)
	}
	if !maps.Equal(mapped, levels) || fallback != "unknown" {
		t.Errorf("level mapping %v (else %q), the shipper's %v (else unknown)", mapped, fallback, levels)
	}
	level := func(line string) string {
		m := re.FindStringSubmatch(line)
		if m == nil {
			return fallback
		}
		return mapped[m[re.SubexpIndex("level")]]
	}
	lines := slices.Collect(maps.Keys(levelSamples))
	for word := range levels {
		lines = append(lines, "2026-12-05T11:06:20Z "+word+" a message", "2024-01-01 12:00:00 "+word+" main sc_cli: x", "x"+word+" y", word)
	}
	for _, line := range lines {
		if got, want := level(line), Level(line); got != want {
			t.Errorf("%q: Fluent Bit's level %q, the shipper's %q", line, got, want)
		}
	}

	if len(cfg.Pipeline.Outputs) != 1 || cfg.Pipeline.Outputs[0]["name"] != "loki" {
		t.Fatalf("outputs: %v", cfg.Pipeline.Outputs)
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(cfg.Pipeline.Outputs[0]["labels"], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		labels[k] = v
	}
	want := map[string]string{
		"network": "$kubernetes['labels']['" + kube.LabelNetwork + "']",
		"group":   "$kubernetes['labels']['" + kube.LabelGroup + "']",
		"node":    "$kubernetes['pod_name']",
		"level":   "$level",
	}
	if !maps.Equal(labels, want) {
		t.Errorf("loki labels %v, want %v", labels, want)
	}
	local := slices.Sorted(maps.Keys(streamLabels("dev", "rpc", "rpc-0", "info")))
	if got := slices.Sorted(maps.Keys(labels)); !slices.Equal(got, local) {
		t.Errorf("cluster stream labels %v, local %v", got, local)
	}
}
