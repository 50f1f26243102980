package rollout

import (
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
)

func TestRolloutLifecycle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	steps := []int32{1, 4}
	if st := Next(nil, "rpc", "", "v2", steps, false, t0); st != nil {
		t.Errorf("a group with no running node needs no rollout: %+v", st)
	}
	if st := Next(nil, "rpc", "v2", "v2", steps, false, t0); st != nil {
		t.Errorf("the running version needs no rollout: %+v", st)
	}
	st := Next(nil, "rpc", "v1", "v2", steps, false, t0)
	if st.Phase != v1alpha1.RolloutProgressing || st.From != "v1" || st.To != "v2" || st.Step != 1 || st.Upgraded != 1 {
		t.Fatalf("new rollout: %+v", st)
	}
	if Version(st, 0) != "v2" || Version(st, 1) != "v1" || Version(st, 3) != "v1" {
		t.Errorf("step 1 upgrades node 0 only")
	}
	st = Next(st, "rpc", "ignored", "v2", steps, true, t0.Add(time.Second))
	if st.Phase != v1alpha1.RolloutPaused || Version(st, 0) != "v2" || Version(st, 1) != "v1" {
		t.Errorf("paused keeps the step: %+v", st)
	}
	st = Next(st, "rpc", "ignored", "v2", steps, false, t0.Add(2*time.Second))
	if st.Phase != v1alpha1.RolloutProgressing || !st.StepStarted.Time.Equal(t0.Add(2*time.Second)) {
		t.Errorf("resumed restarts the step's checks: %+v", st)
	}
	Advance(st, t0.Add(3*time.Second))
	if st.Step != 2 || st.Upgraded != 4 || Version(st, 3) != "v2" {
		t.Errorf("step 2 upgrades all: %+v", st)
	}
	Advance(st, t0.Add(4*time.Second))
	if st.Phase != v1alpha1.RolloutSucceeded || st.Finished == nil || Version(st, 2) != "v2" {
		t.Errorf("after the last step: %+v", st)
	}
	if again := Next(st, "rpc", "", "v2", steps, false, t0); again.Phase != v1alpha1.RolloutSucceeded {
		t.Errorf("the same spec keeps the outcome: %+v", again)
	}

	// v3 rolls out from v2, fails, and stays rolled back until the spec changes.
	st = Next(st, "rpc", "", "v3", steps, false, t0)
	if st.From != "v2" || st.To != "v3" || st.Phase != v1alpha1.RolloutProgressing {
		t.Fatalf("v3 after v2: %+v", st)
	}
	RollBack(st, &v1alpha1.RolloutFailure{Gate: "running"})
	for i := range 4 {
		if Version(st, i) != "v2" {
			t.Errorf("rolled back: node %d runs %s", i, Version(st, i))
		}
	}
	if again := Next(st, "rpc", "", "v3", steps, false, t0); again.Phase != v1alpha1.RolloutRolledBack || Version(again, 0) != "v2" {
		t.Errorf("a rolled-back version is not tried again: %+v", again)
	}
	if Abort(st) {
		t.Errorf("nothing to abort after a rollback")
	}
	if again := Next(st, "rpc", "", "v2", steps, false, t0); again != nil {
		t.Errorf("undo to the version that runs: %+v", again)
	}
	st = Next(st, "rpc", "", "v4", []int32{1, 2, 3}, false, t0)
	if st.From != "v2" || !Abort(st) || st.Phase != v1alpha1.RolloutAborted || Version(st, 0) != "v2" {
		t.Errorf("abort: %+v", st)
	}
}

func TestNextClampsToFewerReplicas(t *testing.T) {
	st := Next(nil, "rpc", "v1", "v2", []int32{1, 2, 8}, false, time.Unix(0, 0))
	Advance(st, time.Unix(1, 0))
	Advance(st, time.Unix(2, 0))
	st = Next(st, "rpc", "", "v2", []int32{1, 2}, false, time.Unix(3, 0))
	if st.Step != 2 || st.Upgraded != 2 {
		t.Errorf("scaled down mid-rollout: %+v", st)
	}
}

// An abort request aborts the rollouts that started before it, of its group or of every group.
func TestAbortRequested(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		value, group string
		want         bool
	}{
		{AbortRequest("rpc", started.Add(time.Minute)), "rpc", true},
		{AbortRequest("", started.Add(time.Minute)), "rpc", true},
		{AbortRequest("rpc", started.Add(300*time.Millisecond)), "rpc", true}, // status times are whole seconds
		{AbortRequest("rpc", started.Add(-time.Minute)), "rpc", false},        // made before this rollout
		{AbortRequest("full", started.Add(time.Minute)), "rpc", false},
		{"rpc", "rpc", false},
		{"rpc@yesterday", "rpc", false},
		{"", "rpc", false},
	} {
		if got := AbortRequested(c.value, c.group, started); got != c.want {
			t.Errorf("AbortRequested(%q, %q) = %v, want %v", c.value, c.group, got, c.want)
		}
	}
}

// A validator group's new rollout waits while another signing group's rollout progresses;
// rpc groups and paused or finished rollouts hold nothing.
func TestHeld(t *testing.T) {
	signing := map[string]bool{"validator-a": true, "validator-b": true}
	run := func(g string, p v1alpha1.RolloutPhase) v1alpha1.RolloutStatus {
		return v1alpha1.RolloutStatus{Group: g, Phase: p}
	}
	for _, c := range []struct {
		group string
		rs    []v1alpha1.RolloutStatus
		want  string
	}{
		{"validator-b", []v1alpha1.RolloutStatus{run("validator-a", v1alpha1.RolloutProgressing)}, "validator-a"},
		{"validator-b", []v1alpha1.RolloutStatus{run("validator-a", v1alpha1.RolloutSucceeded), run("rpc", v1alpha1.RolloutProgressing)}, ""},
		{"validator-b", []v1alpha1.RolloutStatus{run("validator-a", v1alpha1.RolloutPaused)}, ""},
		{"validator-b", []v1alpha1.RolloutStatus{run("validator-b", v1alpha1.RolloutProgressing)}, ""},
		{"rpc", []v1alpha1.RolloutStatus{run("validator-a", v1alpha1.RolloutProgressing)}, ""},
	} {
		if got := Held(c.group, signing, c.rs); got != c.want {
			t.Errorf("Held(%s, %+v) = %q, want %q", c.group, c.rs, got, c.want)
		}
	}
}
