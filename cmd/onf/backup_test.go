package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func runOnf(args ...string) (string, error) {
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	return out.String(), err
}

// The backup commands refuse bad input before touching any network or destination, with
// a reason; every verb has help with examples.
func TestBackupCommandRefusals(t *testing.T) {
	t.Setenv("ONF_HOME", t.TempDir())
	dest := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "verify", "../../etc", "--dest", dest}, "not an id made by onf backup create"},
		{[]string{"backup", "verify", "dev-20261205t101500.000z", "--dest", dest}, "not found"},
		{[]string{"backup", "restore", "dev", "rpc-0", "dev-20261205t101500.000z", "--dest", dest}, `network "dev"`},
		{[]string{"backup", "create", "dev", "rpc-0", "--dest", "s3://id:secret@bucket"}, "credentials do not belong in the URL"},
		{[]string{"backup", "create", "../x", "rpc-0", "--dest", dest}, "network name"},
		{[]string{"backup", "restore", "rpc-0"}, "accepts between 2 and 3 arg(s)"},
		// On a cluster too, a bad ID is refused before any cluster is reached (the
		// kubeconfig named does not exist).
		{[]string{"backup", "restore", "--kubeconfig", filepath.Join(dest, "none"), "dev", "rpc-0", "../x"}, "not an id made by onf backup create"},
		{[]string{"backup", "restore", "--kubeconfig", filepath.Join(dest, "none"), "dev", "rpc-0", "dev-20261205t101500.000z"}, "kubeconfig"},
	} {
		out, err := runOnf(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("onf %s: %v\n%s\nwant an error with %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
		if strings.Contains(out+err.Error(), "secret@") {
			t.Errorf("onf %s echoed the credentials", strings.Join(tc.args, " "))
		}
	}
	// Flags keep their values between runs in one process: back to local networks.
	if _, err := runOnf("backup", "restore", "--kubeconfig=", "--help"); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"create", "list", "verify", "restore", "prune"} {
		out, err := runOnf("backup", verb, "--help")
		if err != nil || !strings.Contains(out, "Examples:") {
			t.Errorf("onf backup %s --help: %v\n%s", verb, err, out)
		}
	}
}
