package main

import (
	"bytes"
	"strings"
	"testing"
)

// A replica count past 32 bits is refused, not wrapped around: 4294967297 must not become 1.
func TestScaleRefusesOverflowingCount(t *testing.T) {
	t.Setenv("ONF_HOME", t.TempDir())
	for _, count := range []string{"4294967297", "2147483648", "-1", "many"} {
		rootCmd.SetOut(&bytes.Buffer{})
		rootCmd.SetErr(&bytes.Buffer{})
		rootCmd.SetArgs([]string{"scale", "dev", "rpc=" + count})
		err := rootCmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "want GROUP=REPLICAS with 0 <= REPLICAS <= 1000") {
			t.Errorf("onf scale dev rpc=%s: %v, want the count refused", count, err)
		}
	}
}
