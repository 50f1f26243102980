package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/local/localgateway"
	"github.com/dinfra/stack/internal/netstatus"
)

// homeFlag is the root of local network state, shared by every local command.
var homeFlag string

func init() {
	rootCmd.PersistentFlags().StringVar(&homeFlag, "home", "", "state directory of local networks (default $ONF_HOME or ~/.local/state/onf)")
}

func localRuntime() (*local.Runtime, error) {
	home := homeFlag
	if home == "" {
		home = local.Home()
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &local.Runtime{Home: home, Supervisor: []string{self, "supervise"}, Gateways: localgateway.Gateways{}}, nil
}

// localNetwork is the runtime and the local network a command is about: the NAME argument,
// the name in the -f spec, or the only local network there is.
func localNetwork(args []string, specFile string) (*local.Runtime, string, error) {
	b, name, err := target(context.Background(), &clusterFlags{}, args, specFile)
	if err != nil {
		return nil, "", err
	}
	return b.(localBackend).rt, name, nil
}

// onlyNetwork is the network a command is about when none is named: the only one there is.
func onlyNetwork(ctx context.Context, b backend) (string, error) {
	names, err := b.Networks(ctx)
	if err != nil {
		return "", err
	}
	if len(names) != 1 {
		where := "local networks"
		if c, ok := b.(*cluster.Client); ok {
			where = "SubstrateNetworks in namespace " + c.Namespace
		}
		return "", fmt.Errorf("name the network (%s: %v)", where, names)
	}
	return names[0], nil
}

func addSpecFlag(c *cobra.Command, target *string, required bool) {
	c.Flags().StringVarP(target, "file", "f", "", "network spec (YAML or JSON)")
	if required {
		_ = c.MarkFlagRequired("file")
	}
}

// localBackend runs the day-2 commands on local networks.
type localBackend struct{ rt *local.Runtime }

func (l localBackend) Networks(context.Context) ([]string, error) { return l.rt.Networks() }

func (l localBackend) Status(ctx context.Context, name string) (*netstatus.Network, error) {
	return l.rt.Status(ctx, name)
}

func (l localBackend) Scale(ctx context.Context, name, group string, replicas int, timeout time.Duration) error {
	return l.rt.Scale(ctx, name, group, replicas, local.UpOptions{Timeout: timeout})
}

func (l localBackend) Restart(ctx context.Context, name, node string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return l.rt.Restart(ctx, name, node)
}

// Logs copies the node's log file; follow polls it for more until ctx ends.
func (l localBackend) Logs(ctx context.Context, name, node string, follow bool, out io.Writer) error {
	file, err := l.rt.LogFile(name, node)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("node %s of network %s: %w", node, name, err)
	}
	defer f.Close()
	for {
		if _, err := io.Copy(out, f); err != nil || !follow {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ForwardRPC is the node's own RPC URL: local nodes listen on loopback already.
func (l localBackend) ForwardRPC(ctx context.Context, name, node string) (string, func(), error) {
	info, err := l.node(ctx, name, node)
	if err != nil {
		return "", nil, err
	}
	return info.RPC, func() {}, nil
}

// Exec runs argv on this machine with the node's endpoints in its environment.
func (l localBackend) Exec(ctx context.Context, name, node string, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	info, err := l.node(ctx, name, node)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Env = append(os.Environ(), "ONF_NODE="+info.Name, "ONF_RPC_URL="+info.RPC,
		"ONF_WS_URL="+info.WS, "ONF_METRICS_URL="+info.Metrics)
	return cmd.Run()
}

func (l localBackend) node(ctx context.Context, name, node string) (*local.NodeInfo, error) {
	st, err := l.rt.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	for i := range st.Nodes {
		if st.Nodes[i].Name == node {
			return &st.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("network %s has no node %q", name, node)
}
