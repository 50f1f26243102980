package main

import (
	"strings"
	"testing"
)

// Every day-2 command takes kubectl's cluster flags, explains the local-or-cluster rule and
// shows a cluster example in --help.
func TestDay2CommandsTakeClusterFlags(t *testing.T) {
	for _, name := range []string{"status", "scale", "logs", "rpc", "exec"} {
		c, _, err := rootCmd.Find([]string{name})
		if err != nil || c.Name() != name {
			t.Fatalf("command %s: %v", name, err)
		}
		for _, flag := range []string{"cluster", "kubeconfig", "context", "namespace"} {
			if c.Flags().Lookup(flag) == nil {
				t.Errorf("onf %s has no --%s", name, flag)
			}
		}
		if f := c.Flags().Lookup("namespace"); f == nil || f.Shorthand != "n" {
			t.Errorf("onf %s: --namespace has no -n", name)
		}
		if !strings.Contains(c.Long, "Local or cluster") || !strings.Contains(c.Example, " -n ") {
			t.Errorf("onf %s --help lacks the local-or-cluster rule or a cluster example", name)
		}
	}
}

func TestClusterSelected(t *testing.T) {
	for f, want := range map[clusterFlags]bool{
		{}:                            false,
		{cluster: true}:               true,
		{kubeconfig: "/k"}:            true,
		{context: "prod"}:             true,
		{namespace: "chains"}:         true,
		{cluster: true, context: "x"}: true,
	} {
		if got := f.selected(); got != want {
			t.Errorf("%+v selected = %t, want %t", f, got, want)
		}
	}
}

// A cluster that cannot be reached is an error naming the kubeconfig, not a local network.
func TestClusterKubeconfigMissing(t *testing.T) {
	_, _, err := target(t.Context(), &clusterFlags{kubeconfig: "/nonexistent/kubeconfig"}, []string{"relay"}, "")
	if err == nil || !strings.Contains(err.Error(), "kubeconfig") || !strings.Contains(err.Error(), "/nonexistent/kubeconfig") {
		t.Errorf("missing kubeconfig: %v", err)
	}
}
