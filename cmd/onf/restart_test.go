package main

import (
	"bytes"
	"strings"
	"testing"
)

// onf restart names what it cannot restart instead of touching anything.
func TestRestartRefusesUnknownNetwork(t *testing.T) {
	t.Setenv("ONF_HOME", t.TempDir())
	resetFlags(t, "restart")
	rootCmd.SetOut(&bytes.Buffer{})
	rootCmd.SetErr(&bytes.Buffer{})
	rootCmd.SetArgs([]string{"restart", "nosuch", "rpc-0"})
	err := rootCmd.Execute()
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("onf restart nosuch rpc-0: %v, want an error naming the network", err)
	}
}
