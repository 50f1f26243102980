// Package site holds the console's sites: the local home, read through the local runtime as
// `onf status` reads it, and a cluster context, read from the SubstrateNetworks' status and
// pods (never from the nodes). Actions are the same calls the CLI verbs make: `onf scale`,
// `onf backup create`, `onf restart`.
package site

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/sessionkeys"
)

// Local is the networks under an ONF home.
type Local struct {
	Runtime      *local.Runtime
	ScaleTimeout time.Duration
	// Backups is the backup destination `onf backup` uses (its --dest): the last backups
	// shown and where a backup from the console goes.
	Backups *backup.Store
	// listed keeps the destination's last listing; nil lists it on every poll.
	listed *listing
}

// NewLocal is the local site with its backup destination listed at most once a minute
// (listing reads every manifest: an s3:// destination's requests add up), and at once after
// a backup from the console.
func NewLocal(rt *local.Runtime, scaleTimeout time.Duration, backups *backup.Store) Local {
	return Local{Runtime: rt, ScaleTimeout: scaleTimeout, Backups: backups, listed: &listing{every: time.Minute}}
}

// listing is the last listing of a backup destination and when it was made.
type listing struct {
	every time.Duration
	mu    sync.Mutex
	at    time.Time
	list  []backup.Manifest
	err   error
}

// backups lists the destination, or returns the last listing while it is fresh.
func (l Local) backups(ctx context.Context) ([]backup.Manifest, error) {
	if l.listed == nil {
		return l.Backups.List(ctx, "")
	}
	c := l.listed
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || time.Since(c.at) >= c.every {
		c.list, c.err = l.Backups.List(ctx, "")
		c.at = time.Now()
	}
	return c.list, c.err
}

// Poll is `onf status` of every local network, with the alerts its monitoring stack's
// Alertmanager holds (what `onf status` prints under the table), its last backups and the
// session keys `onf keys` recorded for its validators. A network whose state cannot be read
// is listed with the reason instead of failing the whole site; alerts, backups or keys that
// cannot be read are noted on the network.
func (l Local) Poll(ctx context.Context) ([]console.Network, error) {
	names, err := l.Runtime.Networks()
	if err != nil {
		return nil, err
	}
	var backups []backup.Manifest
	var backupErr error
	if l.Backups != nil && len(names) > 0 {
		backups, backupErr = l.backups(ctx) // one listing for every network
	}
	out := make([]console.Network, 0, len(names))
	for _, name := range names {
		st, err := l.Runtime.Status(ctx, name)
		if err != nil {
			st = &netstatus.Network{Network: name, State: "unknown", Error: err.Error(), Nodes: []netstatus.Node{}}
		}
		chain, gw, gwErr := l.applied(name)
		n := console.Network{Chain: chain, Status: st}
		if gwErr != nil {
			n.Notes = append(n.Notes, "gateway: "+gwErr.Error())
		} else if gw != "" {
			if n.Gateway, err = GatewayCounts(ctx, http.DefaultClient, gw); err != nil {
				n.Notes = append(n.Notes, "gateway metrics: "+err.Error())
			}
		}
		if n.Alerts, err = FiringAlerts(ctx, l.Runtime.Home, name); err != nil {
			n.Notes = append(n.Notes, "alerts: "+err.Error())
		}
		if backupErr != nil {
			n.Notes = append(n.Notes, "backups: "+backupErr.Error())
		}
		if dir, err := l.Runtime.Dir(name); err == nil {
			if n.SessionKeys, err = RecordedKeys(dir, st.Nodes); err != nil {
				n.Notes = append(n.Notes, "session keys: "+err.Error())
			}
		}
		var mine []backup.Manifest
		for _, m := range backups {
			if m.Network == name {
				mine = append(mine, m)
			}
		}
		n.Backups = backup.Newest(mine)
		out = append(out, n)
	}
	return out, nil
}

// RecordedKeys are the session keys `onf keys` recorded, by node, for a local network's
// validators and collators: those it last found registered on chain and held by the node
// (sessionkeys.Keystore.Record), as status.nodes[].sessionKeys holds them in a cluster.
func RecordedKeys(dir local.Dir, nodes []netstatus.Node) (map[string]*v1alpha1.RegisteredKeys, error) {
	var out map[string]*v1alpha1.RegisteredKeys
	var errs []error
	for _, n := range nodes {
		if n.Role != v1alpha1.RoleValidator && n.Role != v1alpha1.RoleCollator {
			continue
		}
		r, err := sessionkeys.Keystore(dir.Keystore(n.Name)).Registered()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.Name, err))
		}
		if r == nil {
			continue
		}
		if out == nil {
			out = map[string]*v1alpha1.RegisteredKeys{}
		}
		out[n.Name] = r
	}
	return out, errors.Join(errs...)
}

// FiringAlerts are the alerts of a local network's Alertmanager (`onf monitor up`) as `onf
// status` prints them: active, neither silenced nor inhibited. None without a running stack.
func FiringAlerts(ctx context.Context, home, name string) ([]monitor.Alert, error) {
	st, ok, err := monitor.Load(home, name)
	if err != nil || !ok || !st.Alertmanager.Running() {
		return nil, err
	}
	alerts, err := monitor.Notified(ctx, st.Alertmanager.URL())
	if err != nil {
		return nil, fmt.Errorf("alertmanager %s: %w", st.Alertmanager.URL(), err)
	}
	return alerts, nil
}

// Backup is `onf backup create` of a local node into the console's destination.
func (l Local) Backup(ctx context.Context, _, name, node string) (*backup.Manifest, error) {
	if l.Backups == nil {
		return nil, fmt.Errorf("no backup destination: %w", console.ErrUnsupported)
	}
	m, err := l.Runtime.Backup(ctx, name, node, l.Backups)
	if l.listed != nil {
		l.listed.mu.Lock()
		l.listed.at = time.Time{} // the next poll lists the new backup
		l.listed.mu.Unlock()
	}
	return m, err
}

// applied reads spec.chain and spec.gateway of the applied spec (the rest, keys among it,
// stays unread): the chain's name and the gateway's metrics address, "" when it serves none.
func (l Local) applied(name string) (chain, gatewayMetrics string, err error) {
	dir, err := l.Runtime.Dir(name)
	if err != nil {
		return "", "", nil
	}
	data, err := os.ReadFile(dir.Spec())
	if err != nil {
		return "", "", nil
	}
	var n v1alpha1.SubstrateNetwork
	var spec struct {
		Spec struct {
			Chain   v1alpha1.Chain    `json:"chain"`
			Gateway *v1alpha1.Gateway `json:"gateway"`
		} `json:"spec"`
	}
	if json.Unmarshal(data, &spec) != nil {
		return "", "", nil
	}
	n.Spec.Gateway = spec.Spec.Gateway
	gatewayMetrics, err = monitor.GatewayMetrics(&n)
	return ChainName(spec.Spec.Chain), gatewayMetrics, err
}

// Scale is `onf scale` of a local network.
func (l Local) Scale(ctx context.Context, _, name, group string, replicas int) error {
	return l.Runtime.Scale(ctx, name, group, replicas, local.UpOptions{Timeout: l.ScaleTimeout})
}

// Restart is `onf restart` of a local node.
func (l Local) Restart(ctx context.Context, _, name, node string) error {
	return l.Runtime.Restart(ctx, name, node)
}

// Cluster is the SubstrateNetworks of a cluster: every namespace when the client's Namespace
// is empty.
type Cluster struct {
	Client       *cluster.Client
	ScaleTimeout time.Duration
	// Alertmanager is the URL of the Alertmanager the cluster's Prometheus sends to; its
	// alerts labelled with a network (and its namespace) are that network's. "": none.
	Alertmanager string
}

// Poll reads every network's status and pods with two list calls. The registered session
// keys are those `onf keys` recorded and the operator copied into status.nodes[].sessionKeys;
// the last backups are those the backup Job pods still report.
func (c Cluster) Poll(ctx context.Context) ([]console.Network, error) {
	views, err := c.Client.Statuses(ctx)
	if err != nil {
		return nil, err
	}
	var alerts []monitor.Alert
	var alertErr error
	if c.Alertmanager != "" {
		if alerts, alertErr = monitor.Notified(ctx, c.Alertmanager); alertErr != nil {
			alertErr = fmt.Errorf("alertmanager %s: %w", c.Alertmanager, alertErr)
		}
	}
	out := make([]console.Network, len(views))
	for i, v := range views {
		n := &v.Network
		out[i] = console.Network{Chain: ChainName(n.Spec.Chain), Status: v.Status, SessionKeys: sessionKeys(n),
			Alerts: alertsOf(alerts, n.Namespace, n.Name), Backups: v.Backups}
		if alertErr != nil {
			out[i].Notes = append(out[i].Notes, "alerts: "+alertErr.Error())
		}
	}
	return out, nil
}

// alertsOf are the alerts labelled with the network, and with its namespace where they carry
// one.
func alertsOf(alerts []monitor.Alert, namespace, name string) []monitor.Alert {
	var out []monitor.Alert
	for _, a := range alerts {
		if a.Labels["network"] == name && (a.Labels["namespace"] == "" || a.Labels["namespace"] == namespace) {
			out = append(out, a)
		}
	}
	return out
}

// sessionKeys are the registered keys in status.nodes by node name (GROUP-INDEX); the
// status names nodes by pod (kube.PodName: NETWORK-GROUP-INDEX).
func sessionKeys(n *v1alpha1.SubstrateNetwork) map[string]*v1alpha1.RegisteredKeys {
	var out map[string]*v1alpha1.RegisteredKeys
	for _, ns := range n.Status.Nodes {
		node, ok := strings.CutPrefix(ns.Name, n.Name+"-")
		if ns.SessionKeys == nil || !ok {
			continue
		}
		if out == nil {
			out = map[string]*v1alpha1.RegisteredKeys{}
		}
		out[node] = ns.SessionKeys
	}
	return out
}

// Backup is `onf backup create -n NAMESPACE` of a network in the cluster: a Job from the
// network's backup CronJob (spec.backup), waited for; its manifest is the backup made.
func (c Cluster) Backup(ctx context.Context, namespace, name, node string) (*backup.Manifest, error) {
	out, err := c.in(namespace).BackupNow(ctx, name, node, c.ScaleTimeout)
	if err != nil {
		return nil, err
	}
	var m backup.Manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("the backup Job's manifest: %w", err)
	}
	return &m, nil
}

// in is the client in the network's namespace.
func (c Cluster) in(namespace string) *cluster.Client {
	in := *c.Client
	in.Namespace = namespace
	return &in
}

// Scale is `onf scale -n NAMESPACE` of a network in the cluster.
func (c Cluster) Scale(ctx context.Context, namespace, name, group string, replicas int) error {
	return c.in(namespace).Scale(ctx, name, group, replicas, c.ScaleTimeout)
}

// Restart is `onf restart -n NAMESPACE` of a node in the cluster: its pod deleted and made
// anew by the StatefulSet, waited for until Ready.
func (c Cluster) Restart(ctx context.Context, namespace, name, node string) error {
	return c.in(namespace).Restart(ctx, name, node, c.ScaleTimeout)
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
