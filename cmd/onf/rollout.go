package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rollout"
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
These commands show and steer that for local networks and, with the cluster flags, for
SubstrateNetworks in a cluster, where the operator moves a group's image the same way
(docs/rollout.md).`,
		Example: `  onf up -f network.yaml && onf rollout status dev --wait
  onf rollout pause dev --group rpc
  onf rollout resume dev
  onf rollout abort dev
  onf rollout undo dev --group rpc
  onf rollout status -n chains relay --wait --timeout 20m`,
	}
	rollout.PersistentFlags().StringVarP(&file, "file", "f", "", "network spec (YAML or JSON)")
	rootCmd.AddCommand(rollout)

	var (
		group   string
		wait    bool
		timeout time.Duration
		output  string
		where   clusterFlags
	)
	status := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show each group's rollout; exit non-zero when one was rolled back or aborted",
		Long: `status prints each group's rollout: its phase, step, the binaries it moves between and,
after a rollback, the gate that failed with the value it measured. It exits with status 0 when
every rollout succeeded or runs, and non-zero when one was rolled back or aborted. With --wait
it first waits until the supervisor (or the operator) has applied the latest spec and no
rollout progresses any more, and a paused rollout is an error: the form a CI job runs after
'onf up' (or a kubectl apply) to gate on the rollout's outcome.`,
		Example: `  onf rollout status dev
  onf rollout status dev --group rpc -o json
  onf up -f network.yaml && onf rollout status dev --wait --timeout 15m   # in a CI job
  kubectl apply -f relay.yaml && onf rollout status -n chains relay --wait`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			b, name, err := rolloutTarget(c.Context(), &where, args, file)
			if err != nil {
				return err
			}
			deadline := time.Now().Add(timeout)
			for {
				st, err := b.rollouts(c.Context(), name)
				if err != nil {
					return err
				}
				shown := pickRollouts(st.rollouts, group)
				busy := !st.applied || anyPhase(shown, v1alpha1.RolloutProgressing)
				if !wait || !busy {
					return reportRollouts(c.OutOrStdout(), name, shown, output, wait)
				}
				if st.stopped {
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
	addClusterFlags(status, &where)

	steer := func(use, short, long, example string, act func(b rolloutBackend, ctx context.Context, name, group string) error) {
		var (
			group string
			where clusterFlags
		)
		cmd := &cobra.Command{
			Use: use + " [NAME]", Short: short, Long: long, Example: example,
			Args: cobra.MaximumNArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				b, name, err := rolloutTarget(c.Context(), &where, args, file)
				if err != nil {
					return err
				}
				return act(b, c.Context(), name, group)
			},
		}
		cmd.Flags().StringVar(&group, "group", "", "only this group (default: every group with spec.groups[].upgrade)")
		addClusterFlags(cmd, &where)
		rollout.AddCommand(cmd)
	}
	setPaused := func(paused bool) func(rolloutBackend, context.Context, string, string) error {
		return func(b rolloutBackend, ctx context.Context, name, group string) error {
			return b.setPaused(ctx, name, group, paused)
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
		`abort sends the nodes a running rollout upgraded back to the previous binary (image, in a
cluster) and marks it Aborted; nothing more is upgraded until the spec changes (or undo makes
the spec agree with what runs). In a cluster it annotates the SubstrateNetwork with the
request (onf.dinfra.dev/rollout-abort), naming the newest rollout running; the operator
aborts that rollout and any started before it, never a later one.`,
		"  onf rollout abort dev\n  onf rollout abort dev --group rpc\n  onf rollout abort -n chains relay",
		func(b rolloutBackend, ctx context.Context, name, group string) error {
			return b.abort(ctx, name, group)
		})
	steer("undo", "Set a group's binary in the spec back to the one before its last rollout",
		`undo applies the network's spec with each group's binary set back to its last rollout's
previous binary. After a successful rollout that is a canary rollout back to the old binary;
after a rollback or an abort the spec agrees again with what runs.`,
		"  onf rollout undo dev\n  onf rollout undo dev --group rpc\n  onf rollout undo -n chains relay --group rpc",
		func(b rolloutBackend, ctx context.Context, name, group string) error {
			return b.undo(ctx, name, group)
		})
}

// rolloutState is what `onf rollout status` reads of a network.
type rolloutState struct {
	rollouts []v1alpha1.RolloutStatus
	// applied: the supervisor or the operator has applied the spec's latest generation.
	applied bool
	// stopped: a local network whose supervisor does not run (nothing will move).
	stopped bool
}

// rolloutBackend is where `onf rollout` finds and steers a network's rollouts: the local
// supervisor or the operator; the verbs mean the same in both.
type rolloutBackend interface {
	rollouts(ctx context.Context, name string) (rolloutState, error)
	setPaused(ctx context.Context, name, group string, paused bool) error
	abort(ctx context.Context, name, group string) error
	undo(ctx context.Context, name, group string) error
}

func rolloutTarget(ctx context.Context, where *clusterFlags, args []string, file string) (rolloutBackend, string, error) {
	b, name, err := target(ctx, where, args, file)
	if err != nil {
		return nil, "", err
	}
	if c, ok := b.(*cluster.Client); ok {
		return clusterRollouts{c}, name, nil
	}
	return localRollouts{b.(localBackend).rt}, name, nil
}

type localRollouts struct{ rt *local.Runtime }

func (l localRollouts) rollouts(_ context.Context, name string) (rolloutState, error) {
	st, err := l.rt.Rollouts(name)
	if err != nil {
		return rolloutState{}, err
	}
	return rolloutState{rollouts: st.Rollouts, applied: st.Applied, stopped: st.Supervisor == 0}, nil
}

func (l localRollouts) setPaused(ctx context.Context, name, group string, paused bool) error {
	_, err := l.rt.SetRolloutPaused(ctx, name, group, paused)
	return err
}

func (l localRollouts) abort(_ context.Context, name, group string) error {
	return l.rt.AbortRollout(name, group)
}

func (l localRollouts) undo(ctx context.Context, name, group string) error {
	_, err := l.rt.UndoRollout(ctx, name, group)
	return err
}

type clusterRollouts struct{ c *cluster.Client }

func (k clusterRollouts) rollouts(ctx context.Context, name string) (rolloutState, error) {
	rs, applied, err := k.c.Rollouts(ctx, name)
	return rolloutState{rollouts: rs, applied: applied}, err
}

func (k clusterRollouts) setPaused(ctx context.Context, name, group string, paused bool) error {
	return k.c.SetRolloutPaused(ctx, name, group, paused)
}

func (k clusterRollouts) abort(ctx context.Context, name, group string) error {
	return k.c.AbortRollout(ctx, name, group)
}

func (k clusterRollouts) undo(ctx context.Context, name, group string) error {
	return k.c.UndoRollout(ctx, name, group)
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
			fmt.Fprintln(out, rollout.Line(r))
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
