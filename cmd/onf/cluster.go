package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/network"
)

// backend is where a network runs: the local runtime or a cluster. The day-2 commands
// (status, scale, restart, logs, rpc, exec) go through it only, so a verb means the same thing in both.
type backend interface {
	Networks(ctx context.Context) ([]string, error)
	Status(ctx context.Context, name string) (*netstatus.Network, error)
	Scale(ctx context.Context, name, group string, replicas int, timeout time.Duration) error
	// Restart stops a node and starts it again with its data and keys, and waits until it
	// answers (locally) or its new pod is Ready (in a cluster).
	Restart(ctx context.Context, name, node string, timeout time.Duration) error
	Logs(ctx context.Context, name, node string, follow bool, out io.Writer) error
	// ForwardRPC is a URL on this machine that reaches the node's RPC port until stop.
	ForwardRPC(ctx context.Context, name, node string) (url string, stop func(), err error)
	// Exec runs argv with ONF_NODE, ONF_RPC_URL, ONF_WS_URL and ONF_METRICS_URL set to the
	// node's endpoints: on this machine for a local node, in the node's container in a cluster.
	Exec(ctx context.Context, name, node string, argv []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var _ backend = (*cluster.Client)(nil)

// clusterFlags select a cluster instead of local networks, named as kubectl names them.
type clusterFlags struct {
	cluster    bool
	kubeconfig string
	context    string
	namespace  string
}

// clusterHelp is the rule, appended to each day-2 command's --help.
const clusterHelp = `

Local or cluster: the command works on a local network (onf up) unless --cluster,
--kubeconfig, --context or --namespace is given; then it works on a SubstrateNetwork in the
cluster the kubeconfig names ($KUBECONFIG or ~/.kube/config, its current context and that
context's namespace unless the flags say otherwise). Node names are the same in both:
<group>-<index>, the suffix of the node's pod name.`

func addClusterFlags(c *cobra.Command, f *clusterFlags) {
	c.Long += clusterHelp
	c.Flags().BoolVar(&f.cluster, "cluster", false, "work on a SubstrateNetwork in a cluster (the kubeconfig's current context)")
	c.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster (implies --cluster)")
	c.Flags().StringVar(&f.context, "context", "", "kubeconfig context (implies --cluster)")
	c.Flags().StringVarP(&f.namespace, "namespace", "n", "", "namespace of the SubstrateNetwork (implies --cluster; default: the given spec's, else the context's, else default)")
}

func (f *clusterFlags) selected() bool {
	return f.cluster || f.kubeconfig != "" || f.context != "" || f.namespace != ""
}

// target is the backend and the network a day-2 command is about: the NAME argument (args,
// at most one), the name in the specFile, or the only network there is.
func target(ctx context.Context, f *clusterFlags, args []string, specFile string) (backend, string, error) {
	var spec string
	var specNamespace string
	if len(args) == 0 && specFile != "" {
		n, err := network.Load(specFile)
		if err != nil {
			return nil, "", err
		}
		spec, specNamespace = n.Name, n.Namespace
	}
	var b backend
	if f.selected() {
		c, err := cluster.New(cluster.Options{Kubeconfig: f.kubeconfig, Context: f.context, Namespace: f.namespace})
		if err != nil {
			return nil, "", err
		}
		if f.namespace == "" && specNamespace != "" {
			c.Namespace = specNamespace
		}
		b = c
	} else {
		rt, err := localRuntime()
		if err != nil {
			return nil, "", err
		}
		b = localBackend{rt}
	}
	switch {
	case len(args) > 0:
		return b, args[0], nil
	case spec != "":
		return b, spec, nil
	}
	name, err := onlyNetwork(ctx, b)
	return b, name, err
}
