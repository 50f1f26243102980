package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/rollout"
)

// The exit status a CI job gates on: success and running rollouts pass, a rollback or an abort
// fails, and so does a pause once the caller waited.
func TestReportRolloutsExitStatus(t *testing.T) {
	ok := v1alpha1.RolloutStatus{Group: "rpc", Phase: v1alpha1.RolloutSucceeded, From: "old", To: "new", Steps: []int32{1, 2}, Step: 2, Upgraded: 2}
	back := ok
	back.Phase, back.Step, back.Upgraded = v1alpha1.RolloutRolledBack, 1, 0
	back.Failure = &v1alpha1.RolloutFailure{Gate: "running", Node: "rpc-0", Value: "exit code 3", Want: "keeps running"}
	paused := ok
	paused.Phase = v1alpha1.RolloutPaused
	for _, c := range []struct {
		rs     []v1alpha1.RolloutStatus
		waited bool
		fails  bool
	}{
		{nil, true, false},
		{[]v1alpha1.RolloutStatus{ok}, true, false},
		{[]v1alpha1.RolloutStatus{ok, back}, false, true},
		{[]v1alpha1.RolloutStatus{paused}, false, false},
		{[]v1alpha1.RolloutStatus{paused}, true, true},
	} {
		var out bytes.Buffer
		if err := reportRollouts(&out, "dev", c.rs, "table", c.waited); (err != nil) != c.fails {
			t.Errorf("%+v waited=%t: err %v, want failure %t", c.rs, c.waited, err, c.fails)
		}
	}
	want := "rollout rpc: RolledBack at step 1 of 2, 0 of 2 nodes on new (from old); gate running failed on rpc-0: exit code 3 (want keeps running)"
	if got := rollout.Line(back); got != want {
		t.Errorf("line:\n%s\nwant:\n%s", got, want)
	}
	var out bytes.Buffer
	if err := reportRollouts(&out, "dev", nil, "json", true); err != nil || strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("json of none: %q %v", out.String(), err)
	}
}
