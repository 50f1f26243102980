package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// runMainEnv makes the test binary run main() instead of the tests, so a test can check the
// real exit status of a command.
const runMainEnv = "ONF_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const badSpec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev}
spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, replicas: 2, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, args: ["--node-key=0123"]}
`

var badSpecProblems = []string{
	"spec.groups: a gossamer network supports at most one validator node (two gossamer validators fork and never finalise), got 2",
	"spec.groups[0].keys: keys for 1 of 2 replicas: every replica needs its own key",
	"spec.groups[1].args[0]: --node-key is not allowed: would put a secret key on the command line",
}

const goodSpec = "../../examples/dev-network.yaml"

func writeSpec(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// execute runs a fresh validate command with args and standard input, silenced like rootCmd.
func execute(t *testing.T, stdin string, args ...string) (stdout string, err error) {
	t.Helper()
	c := newValidateCmd()
	c.SilenceUsage, c.SilenceErrors = rootCmd.SilenceUsage, rootCmd.SilenceErrors
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetIn(strings.NewReader(stdin))
	c.SetArgs(args)
	err = c.Execute()
	return out.String(), err
}

func TestValidateText(t *testing.T) {
	bad := writeSpec(t, badSpec)
	cases := []struct {
		name    string
		stdin   string
		args    []string
		wantOut []string
		wantErr string
	}{
		{"every problem, one per line", "", []string{"-f", bad}, badSpecProblems, bad + ": 3 problems"},
		{"standard input", badSpec, []string{"-f", "-"}, badSpecProblems, "-: 3 problems"},
		{"valid", "", []string{"-f", goodSpec}, []string{goodSpec + ": valid: network dev, 3 nodes in 3 groups"}, ""},
		{"schema problem", "", []string{"-f", writeSpec(t, strings.Replace(badSpec, "role: rpc", "role: king", 1))},
			[]string{`spec.groups[1].role: must be one of "validator", "collator", "full", "archive", "rpc", "bootnode", got "king"`}, "1 problem"},
		{"missing file", "", []string{"-f", "no-such-spec.yaml"}, nil, "read network spec: open no-such-spec.yaml: no such file or directory"},
		{"bad output format", "", []string{"-f", goodSpec, "-o", "yaml"}, nil, `--output "yaml": want text or json`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := execute(t, tc.stdin, tc.args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if got := nonEmptyLines(out); !slices.Equal(got, tc.wantOut) {
				t.Errorf("output:\n%s\nwant:\n%s", out, strings.Join(tc.wantOut, "\n"))
			}
		})
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestValidateJSON(t *testing.T) {
	out, err := execute(t, "", "-f", writeSpec(t, badSpec), "-o", "json")
	if err == nil {
		t.Fatal("a bad spec passed")
	}
	var got problem.List
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not a JSON list of problems: %v\n%s", err, out)
	}
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	if !slices.Equal(lines, badSpecProblems) {
		t.Errorf("problems %q, want %q", lines, badSpecProblems)
	}

	out, _ = execute(t, "", "-f", writeSpec(t, strings.Replace(badSpec, "role: rpc", "role: rpc, replicas: -1", 1)), "-o", "json")
	if !strings.Contains(out, `"reason": "must be >= 0, got -1"`) {
		t.Errorf("want the reason unescaped in:\n%s", out)
	}

	out, err = execute(t, "", "-f", goodSpec, "-o", "json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("valid spec: output %q, error %v; want [] and no error", out, err)
	}
}

// The binary itself: problems on stdout, a summary on stderr, exit status 1; 0 when valid.
func TestValidateExitStatus(t *testing.T) {
	bad := writeSpec(t, badSpec)
	for _, tc := range []struct {
		file       string
		wantStatus int
		wantStderr string
	}{
		{bad, 1, "error: " + bad + ": 3 problems\n"},
		{goodSpec, 0, ""},
	} {
		cmd := exec.Command(os.Args[0], "validate", "-f", tc.file)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		status := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			status = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != tc.wantStatus || stderr.String() != tc.wantStderr {
			t.Errorf("onf validate -f %s: status %d, stderr %q; want %d, %q", tc.file, status, stderr.String(), tc.wantStatus, tc.wantStderr)
		}
		if tc.wantStatus != 0 && !slices.Equal(nonEmptyLines(stdout.String()), badSpecProblems) {
			t.Errorf("onf validate -f %s: stdout\n%s", tc.file, stdout.String())
		}
	}
}

func TestValidateHelp(t *testing.T) {
	out, err := execute(t, "", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Examples:", "onf validate -f examples/dev-network.yaml", "-o, --output"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}
