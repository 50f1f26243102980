// Package site holds the console's sites: the local home, read through the local runtime as
// `onf status` reads it, and a cluster context, read from the SubstrateNetworks' status and
// pods (never from the nodes). Scaling is the same call `onf scale` makes.
package site

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/netstatus"
)

// Local is the networks under an ONF home.
type Local struct {
	Runtime      *local.Runtime
	ScaleTimeout time.Duration
}

// Poll is `onf status` of every local network. A network whose state cannot be read is
// listed with the reason instead of failing the whole site.
func (l Local) Poll(ctx context.Context) ([]console.Network, error) {
	names, err := l.Runtime.Networks()
	if err != nil {
		return nil, err
	}
	out := make([]console.Network, 0, len(names))
	for _, name := range names {
		st, err := l.Runtime.Status(ctx, name)
		if err != nil {
			st = &netstatus.Network{Network: name, State: "unknown", Error: err.Error(), Nodes: []netstatus.Node{}}
		}
		out = append(out, console.Network{Chain: l.chain(name), Status: st})
	}
	return out, nil
}

// chain reads only spec.chain of the applied spec: the rest (keys among it) stays unread.
func (l Local) chain(name string) string {
	dir, err := l.Runtime.Dir(name)
	if err != nil {
		return ""
	}
	data, err := os.ReadFile(dir.Spec())
	if err != nil {
		return ""
	}
	var spec struct {
		Spec struct {
			Chain v1alpha1.Chain `json:"chain"`
		} `json:"spec"`
	}
	if json.Unmarshal(data, &spec) != nil {
		return ""
	}
	return ChainName(spec.Spec.Chain)
}

// Scale is `onf scale` of a local network.
func (l Local) Scale(ctx context.Context, _, name, group string, replicas int) error {
	return l.Runtime.Scale(ctx, name, group, replicas, local.UpOptions{Timeout: l.ScaleTimeout})
}

// Cluster is the SubstrateNetworks of a cluster: every namespace when the client's Namespace
// is empty.
type Cluster struct {
	Client       *cluster.Client
	ScaleTimeout time.Duration
}

// Poll reads every network's status and pods with two list calls.
func (c Cluster) Poll(ctx context.Context) ([]console.Network, error) {
	nets, sts, err := c.Client.Statuses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]console.Network, len(nets))
	for i := range nets {
		out[i] = console.Network{Chain: ChainName(nets[i].Spec.Chain), Status: sts[i]}
	}
	return out, nil
}

// Scale is `onf scale -n NAMESPACE` of a network in the cluster.
func (c Cluster) Scale(ctx context.Context, namespace, name, group string, replicas int) error {
	in := *c.Client
	in.Namespace = namespace
	return in.Scale(ctx, name, group, replicas, c.ScaleTimeout)
}

// ChainName is how the console names a chain: the builtin name, the spec file's or URL's last
// element, or the ConfigMap holding it.
func ChainName(c v1alpha1.Chain) string {
	switch {
	case c.Builtin != "":
		return c.Builtin
	case c.File != "":
		return path.Base(c.File)
	case c.URL != "":
		return path.Base(c.URL)
	case c.ConfigMap != nil:
		return "configmap " + c.ConfigMap.Name
	}
	return ""
}
