package security

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree lists every path under root with its size, to see that nothing changed.
func lifecycleTree(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p+" "+strconv.FormatInt(fi.Size(), 10))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// TestLocalPathTraversalInNames plays a user (or a script fed untrusted names) passing paths
// as NAME to every onf command that takes one. Before names were checked, `onf down .. --purge`
// deleted every network's state, `onf down ../../victim --purge` deleted a directory outside
// the home, `onf down ../../decoy` signalled whatever pid a file there named, `onf logs` read
// any *.log file and `onf supervise` made directories outside the home. Every such call must
// fail with the name rule and touch nothing.
func TestLocalPathTraversalInNames(t *testing.T) {
	c := newOnfCLI(t)
	root := filepath.Dir(c.home)
	write := func(p, content string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A network with state, a victim directory beside the home, and a decoy whose files name
	// the pid of an innocent process (in its own process group, as a node would be).
	write(filepath.Join(c.home, "networks", "dev", "spec.json"), `{"metadata":{"name":"dev"}}`)
	write(filepath.Join(c.home, "networks", "dev", "facts.json"), `{"ports":{}}`)
	write(filepath.Join(root, "victim", "precious.log"), "SECRET-CONTENT\n")
	innocent := exec.Command("sleep", "300")
	innocent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := innocent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { innocent.Process.Kill(); innocent.Wait() })
	pid := strconv.Itoa(innocent.Process.Pid)
	write(filepath.Join(root, "decoy", "supervisor.pid"), pid)
	write(filepath.Join(root, "decoy", "status.json"), `{"nodes":{"n":{"pid":`+pid+`,"running":true}}}`)
	before := lifecycleTree(t, root)

	victim := filepath.Join(root, "victim")
	names := []string{"..", ".", "../../victim", "../../decoy", victim, "a/b", "dev/..", "Dev", "dev_", ""}
	var calls [][]string
	for _, name := range names {
		calls = append(calls,
			[]string{"down", name}, []string{"down", name, "--purge"},
			[]string{"status", name}, []string{"status", name, "-o", "json"},
			[]string{"logs", name, "validator-0"}, []string{"rpc", name, "validator-0", "system_health"},
			[]string{"exec", name, "validator-0", "--", "true"}, []string{"scale", name, "rpc=2"},
			[]string{"supervise", name})
	}
	// A node name is a path component too.
	for _, node := range []string{"../../../victim/precious", victim + "/precious", "../spec"} {
		calls = append(calls, []string{"logs", "dev", node})
	}
	for _, args := range calls {
		out, err, _ := c.run(30*time.Second, args...)
		if err == nil || !strings.Contains(out, "must be a name of 1 to 42 lowercase letters") {
			t.Errorf("onf %q: err %v, want the name rule\n%s", args, err, out)
		}
		if strings.Contains(out, "SECRET-CONTENT") {
			t.Errorf("onf %q printed a file outside the home:\n%s", args, out)
		}
	}
	if after := lifecycleTree(t, root); !slices.Equal(before, after) {
		t.Errorf("files changed:\nbefore %q\nafter  %q", before, after)
	}
	if err := syscall.Kill(innocent.Process.Pid, 0); err != nil {
		t.Errorf("the innocent process named by the decoy's files was killed: %v", err)
	}
}

// TestLocalRenderNamespaceIsAName: `onf render` keeps node keys under
// .onf/node-keys/NAMESPACE/NAME by default, and took the namespace from the spec as it was, so
// a spec with `namespace: ../../../x` made key files wherever it pointed.
func TestLocalRenderNamespaceIsAName(t *testing.T) {
	c := newOnfCLI(t)
	root := filepath.Dir(c.cwd)
	spec := func(namespace string) string {
		file := filepath.Join(t.TempDir(), "spec.yaml")
		err := os.WriteFile(file, []byte(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev, namespace: "`+namespace+`"}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: gossamer, binary: gossamer, image: example.org/gossamer:v0.9.0}
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
`), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		return file
	}
	before := lifecycleTree(t, root)
	for _, ns := range []string{"../../escape", "a/b", "..", "/abs"} {
		for _, args := range [][]string{{"render", "-f", spec(ns)}, {"render", "-f", spec("chains"), "-n", ns}} {
			out, err, _ := c.run(30*time.Second, args...)
			if err == nil || !strings.Contains(out, "metadata.namespace (or --namespace)") {
				t.Errorf("onf %q: %v\n%s", args, err, out)
			}
		}
	}
	if after := lifecycleTree(t, root); !slices.Equal(before, after) {
		t.Errorf("files changed:\nbefore %q\nafter  %q", before, after)
	}
	// A namespace that is a name renders, keys under the working directory.
	if out, err, _ := c.run(30*time.Second, "render", "-f", spec("chains")); err != nil {
		t.Errorf("render with namespace chains: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(c.cwd, ".onf", "node-keys", "chains", "dev", "validator-0")); err != nil {
		t.Errorf("node key of a good render: %v", err)
	}
}
