package main

import (
	"bytes"
	"strings"
	"testing"
)

// runDinfra runs the dinfra command line with args and returns stdout, stderr and the error.
func runDinfra(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetArgs(args)
	rootCmd.SetIn(strings.NewReader(stdin))
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	t.Cleanup(func() { rootCmd.SetArgs(nil); rootCmd.SetIn(nil); rootCmd.SetOut(nil); rootCmd.SetErr(nil) })
	err := rootCmd.Execute()
	return out.String(), errOut.String(), err
}

func TestDescriptorCommands(t *testing.T) {
	store := t.TempDir()
	const example = "../../examples/descriptors/dev-network.json"
	const exampleCID = "bafkreic2ciqjep5af3qa5fhcwom3cz5tc5y5tfr3645nzdnbim5ishyaxe"

	out, _, err := runDinfra(t, "", "descriptor", "validate", "-t", "substrate-network/v1alpha1", example)
	if err != nil || !strings.Contains(out, exampleCID) {
		t.Fatalf("validate: %v\n%s", err, out)
	}

	_, stderr, err := runDinfra(t, `{"name":"X","cpus":0,"image":"debian-12","memoryMiB":512,"diskGiB":1}`, "descriptor", "validate", "-t", "cloud-init/v1", "-")
	if err == nil || !strings.Contains(stderr, "cpus: must be >= 1, got 0") || !strings.Contains(stderr, `name: must match ^[a-z]`) {
		t.Fatalf("invalid descriptor: err %v, stderr:\n%s", err, stderr)
	}

	out, _, err = runDinfra(t, "", "descriptor", "put", "--store", store, "-t", "substrate-network/v1alpha1", example)
	if err != nil || strings.TrimSpace(out) != exampleCID {
		t.Fatalf("put: %v %q", err, out)
	}
	out, _, err = runDinfra(t, "", "descriptor", "get", "--store", store, exampleCID)
	if err != nil || !strings.Contains(out, `"kind": "SubstrateNetwork"`) {
		t.Fatalf("get: %v %q", err, out)
	}
	if _, _, err := runDinfra(t, "", "descriptor", "get", "--store", store, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"); err == nil || !strings.Contains(err.Error(), "raw codec") {
		t.Fatalf("get of a CIDv0: %v", err)
	}
	if _, _, err := runDinfra(t, `{}`, "descriptor", "put", "--store", store, "-t", "vm/v9", "-"); err == nil || !strings.Contains(err.Error(), "unknown descriptor type") {
		t.Fatalf("put of an unknown type: %v", err)
	}
}
