package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/local"
)

func init() {
	var file string
	rollout := &cobra.Command{
		Use:   "rollout",
		Short: "Watch and steer canary rollouts of new node binaries (spec.groups[].upgrade)",
		Long: `A group with spec.groups[].upgrade moves to a changed binary step by step: the first
step's nodes restart on it, and only once they pass every health gate (running, RPC, blocks,
peers, finality) for the bake time does the next step start. A failing gate rolls the upgraded
nodes back to the previous binary, and the rollout stays rolled back until the spec changes.
These commands show and steer that for local networks (docs/rollout.md).`,
		Example: `  onf up -f network.yaml && onf rollout status dev --wait
  onf rollout pause dev --group rpc
  onf rollout resume dev
  onf rollout abort dev
  onf rollout undo dev --group rpc`,
	}
	rollout.PersistentFlags().StringVarP(&file, "file", "f", "", "network spec (YAML or JSON)")
	rootCmd.AddCommand(rollout)

	var (
		group   string
		wait    bool
		timeout time.Duration
		output  string
	)
	status := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show each group's rollout; exit non-zero when one was rolled back or aborted",
		Long: `status prints each group's rollout: its phase, step, the binaries it moves between and,
after a rollback, the gate that failed with the value it measured. It exits with status 0 when
every rollout succeeded or runs, and non-zero when one was rolled back or aborted. With --wait
it first waits until the supervisor has applied the latest spec and no rollout progresses any
more, and a paused rollout is an error: the form a CI job runs after 'onf up' to gate on the
rollout's outcome.`,
		Example: `  onf rollout status dev
  onf rollout status dev --group rpc -o json
  onf up -f network.yaml && onf rollout status dev --wait --timeout 15m   # in a CI job`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args, file)
			if err != nil {
				return err
			}
			deadline := time.Now().Add(timeout)
			for {
				st, err := rt.Rollouts(name)
				if err != nil {
					return err
				}
				shown := pickRollouts(st.Rollouts, group)
				busy := !st.Applied || anyPhase(shown, v1alpha1.RolloutProgressing)
				if !wait || !busy {
					return reportRollouts(c.OutOrStdout(), name, shown, output, wait)
				}
				if st.Supervisor == 0 {
					return fmt.Errorf("network %s is not running", name)
				}
				if time.Now().After(deadline) {
					_ = reportRollouts(c.OutOrStdout(), name, shown, output, false)
					return fmt.Errorf("rollout of network %s still in progress after %s", name, timeout)
				}
				select {
				case <-c.Context().Done():
					return c.Context().Err()
				case <-time.After(time.Second):
				}
			}
		},
	}
	status.Flags().StringVar(&group, "group", "", "only this group's rollout")
	status.Flags().BoolVar(&wait, "wait", false, "wait until no rollout progresses; exit non-zero on a rollback, an abort or a pause")
	status.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "with --wait, give up after this long")
	status.Flags().StringVarP(&output, "output", "o", "table", "table or json")

	steer := func(use, short, long, example string, act func(rt *local.Runtime, c *cobra.Command, name, group string) error) {
		var group string
		cmd := &cobra.Command{
			Use: use + " [NAME]", Short: short, Long: long, Example: example,
			Args: cobra.MaximumNArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				rt, name, err := localNetwork(args, file)
				if err != nil {
					return err
				}
				return act(rt, c, name, group)
			},
		}
		cmd.Flags().StringVar(&group, "group", "", "only this group (default: every group with spec.groups[].upgrade)")
		rollout.AddCommand(cmd)
	}
	setPaused := func(paused bool) func(*local.Runtime, *cobra.Command, string, string) error {
		return func(rt *local.Runtime, c *cobra.Command, name, group string) error {
			_, err := rt.SetRolloutPaused(c.Context(), name, group, paused)
			return err
		}
	}
	rollout.AddCommand(status)
	steer("pause", "Hold rollouts at their current step",
		`pause sets spec.groups[].upgrade.paused in the network's applied spec: the nodes stay as they
are, upgraded or not, and no further step starts until resume.`,
		"  onf rollout pause dev\n  onf rollout pause dev --group rpc", setPaused(true))
	steer("resume", "Continue paused rollouts, checking the current step again from the start",
		`resume clears spec.groups[].upgrade.paused; the current step's gates are checked again for
a whole bake time before the next step.`,
		"  onf rollout resume dev\n  onf rollout resume dev --group rpc", setPaused(false))
	steer("abort", "Roll the upgraded nodes of a running rollout back to the previous binary",
		`abort sends the nodes a running rollout upgraded back to the previous binary and marks it
Aborted; nothing more is upgraded until the spec changes (or undo makes the spec agree with
what runs).`,
		"  onf rollout abort dev\n  onf rollout abort dev --group rpc",
		func(rt *local.Runtime, _ *cobra.Command, name, group string) error {
			return rt.AbortRollout(name, group)
		})
	steer("undo", "Set a group's binary in the spec back to the one before its last rollout",
		`undo applies the network's spec with each group's binary set back to its last rollout's
previous binary. After a successful rollout that is a canary rollout back to the old binary;
after a rollback or an abort the spec agrees again with what runs.`,
		"  onf rollout undo dev\n  onf rollout undo dev --group rpc",
		func(rt *local.Runtime, c *cobra.Command, name, group string) error {
			_, err := rt.UndoRollout(c.Context(), name, group)
			return err
		})
}

func pickRollouts(all []v1alpha1.RolloutStatus, group string) []v1alpha1.RolloutStatus {
	if group == "" {
		return all
	}
	var out []v1alpha1.RolloutStatus
	for _, r := range all {
		if r.Group == group {
			out = append(out, r)
		}
	}
	return out
}

func anyPhase(rs []v1alpha1.RolloutStatus, phases ...v1alpha1.RolloutPhase) bool {
	for _, r := range rs {
		for _, p := range phases {
			if r.Phase == p {
				return true
			}
		}
	}
	return false
}

// reportRollouts prints the rollouts and fails on a rollback or abort (and, when the caller
// waited, on a pause: a CI job must not pass a rollout nobody finished).
func reportRollouts(out io.Writer, name string, rs []v1alpha1.RolloutStatus, output string, waited bool) error {
	switch output {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if rs == nil {
			rs = []v1alpha1.RolloutStatus{}
		}
		if err := enc.Encode(rs); err != nil {
			return err
		}
	case "table":
		if len(rs) == 0 {
			fmt.Fprintf(out, "network %s: no rollouts\n", name)
		}
		for _, r := range rs {
			fmt.Fprintln(out, rolloutLine(r))
		}
	default:
		return fmt.Errorf("--output: want table or json, got %q", output)
	}
	var bad []string
	for _, r := range rs {
		if r.Phase == v1alpha1.RolloutRolledBack || r.Phase == v1alpha1.RolloutAborted || waited && r.Phase == v1alpha1.RolloutPaused {
			bad = append(bad, r.Group+" "+string(r.Phase))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("network %s: rollout %s", name, strings.Join(bad, ", "))
	}
	return nil
}

// rolloutLine is one rollout in a sentence, for `onf rollout status` and `onf status`.
func rolloutLine(r v1alpha1.RolloutStatus) string {
	s := fmt.Sprintf("rollout %s: %s at step %d of %d, %d of %d nodes on %s (from %s)", r.Group, r.Phase, r.Step, len(r.Steps),
		r.Upgraded, r.Steps[len(r.Steps)-1], r.To, r.From)
	if f := r.Failure; f != nil {
		s += fmt.Sprintf("; gate %s failed", f.Gate)
		if f.Node != "" {
			s += " on " + f.Node
		}
		s += fmt.Sprintf(": %s (want %s)", f.Value, f.Want)
	}
	return s
}
