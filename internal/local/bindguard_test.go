package local

import (
	"strings"
	"testing"
)

// Where no bind guard runs, nodes start only when the user opts in, and the refusal names
// the platform and the way to opt in.
func TestUnguardedNodesNeedOptIn(t *testing.T) {
	err := unguardedRefusal("darwin", "")
	if err == nil {
		t.Fatal("nodes may start without a bind guard and without opting in")
	}
	for _, want := range []string{"no bind guard on darwin", AllowUnguardedEnv + "=1", "docs/security.md"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if err := unguardedRefusal("darwin", "yes"); err == nil {
		t.Errorf("%s=yes opted in; only 1 does", AllowUnguardedEnv)
	}
	if err := unguardedRefusal("darwin", "1"); err != nil {
		t.Errorf("opted in, still refused: %v", err)
	}
	if bindGuardAvailable {
		if err := checkBindGuard(); err != nil {
			t.Errorf("refused where the bind guard runs: %v", err)
		}
	}
}
