package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/chainspec"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
)

func init() { rootCmd.AddCommand(newRenderCmd()) }

func newRenderCmd() *cobra.Command {
	var file, namespace, keysDir string
	var opts kube.Options
	c := &cobra.Command{
		Use:   "render -f SPEC",
		Short: "Print the Kubernetes manifests of a network (for GitOps)",
		Long: `render prints, as a multi-document YAML stream, the Kubernetes objects the operator would
create for a SubstrateNetwork: per group a StatefulSet, a headless Service, Secrets with the
node keys, a PodDisruptionBudget and a NetworkPolicy; RPC Services for rpc, full and archive
groups; per-pod P2P Services for exposed groups; a HorizontalPodAutoscaler for autoscaled rpc
groups; ConfigMaps for chain specs read from local files; for spec.gateway the RPC gateway's
Deployment, Service, ConfigMap and NetworkPolicy; with --service-monitor or spec.monitoring the
Prometheus Operator's ServiceMonitors (or PodMonitors: spec.monitoring.kind), and a
PrometheusRule with the alert rules of monitoring/rules scoped to the network
(docs/monitoring.md).

Node keys give the nodes their peer IDs, which boot node addresses name, so they must stay the
same from one render to the next: they are kept as files (0600) in --node-keys and generated
there once; a group with its own node key Secret (p2p.nodeKeySecret) needs its keys there
already (the Secret's key N as the file GROUP-N), which render never generates. They are the
only thing render writes, and only for a spec that is valid and
renders completely: a spec with any problem writes nothing. New keys are reported on standard
error. The output holds them in Secrets: encrypt it (SOPS, Sealed Secrets) before it goes
into a repository. Objects carry no owner reference; deleting them is up to you.`,
		Example: `  onf render -f examples/polkadot-parachain.yaml -n chains > rococo.yaml
  onf render -f spec.yaml --node-keys ./keys --service-monitor --prometheus-rule | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			data, err := readSpec(c.InOrStdin(), file)
			if err != nil {
				return err
			}
			n, err := network.Parse(data)
			if err != nil {
				return err
			}
			if namespace != "" {
				n.Namespace = namespace
			}
			if n.Namespace == "" {
				n.Namespace = "default"
			}
			// The namespace names the default key directory: a name, never a path.
			if errs := validation.IsDNS1123Label(n.Namespace); len(errs) > 0 {
				return fmt.Errorf("metadata.namespace (or --namespace) %q: %s", n.Namespace, strings.Join(errs, "; "))
			}
			if keysDir == "" {
				keysDir = filepath.Join(".onf", "node-keys", n.Namespace, n.Name)
			}
			opts.ReadFile = readChainFile
			// Build everything once with placeholder keys first: what the cluster builders
			// refuse (no image, a chain source they cannot mount) must not leave key files.
			placeholders, err := kube.PlaceholderKeys(n)
			if err != nil {
				return err
			}
			if _, err := kube.Desired(n, placeholders, opts); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			keys, err := renderKeys(c.ErrOrStderr(), keysDir, kube.KeyNames(n), ownKeys(n))
			if err != nil {
				return err
			}
			objs, err := kube.Desired(n, keys, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			return kube.WriteYAML(c.OutOrStdout(), objs)
		},
	}
	addSpecFlag(c, &file, true)
	c.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the objects (default: the spec's, else default)")
	c.Flags().StringVar(&keysDir, "node-keys", "", "directory of the node key files (default .onf/node-keys/NAMESPACE/NAME)")
	c.Flags().StringVar(&opts.ClusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	c.Flags().StringVar(&opts.GatewayImage, "gateway-image", "", "the onf image that runs spec.gateway when the spec names none")
	c.Flags().BoolVar(&opts.ServiceMonitor, "service-monitor", false, "add the Prometheus Operator's ServiceMonitors (spec.monitoring adds them, or PodMonitors, without this flag)")
	c.Flags().BoolVar(&opts.PrometheusRule, "prometheus-rule", false, "add a Prometheus Operator PrometheusRule with the network's alert rules")
	return c
}

// renderKeys reads the node keys kept in dir and creates the missing ones, saying how many it
// created: render's only writes. The keys of nodes in own (groups with their own node key
// Secret) are never created: a missing one fails before any key is written.
func renderKeys(stderr io.Writer, dir string, names []string, own map[string]string) (kube.NodeKeys, error) {
	for _, name := range names {
		if field, ok := own[name]; ok {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("%s: node %s's key: %w (render reads the keys of a group with its own node key Secret from --node-keys, the Secret's key %s as the file %s, and never generates them)",
					field, name, err, name[strings.LastIndex(name, "-")+1:], name)
			}
		}
	}
	keys := kube.NodeKeys{}
	created := 0
	for _, name := range names {
		file := filepath.Join(dir, name)
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			created++
		}
		k, err := nodekey.LoadOrCreate(file)
		if err != nil {
			return nil, err
		}
		keys[name] = k
	}
	if created > 0 {
		fmt.Fprintf(stderr, "onf render: created %d node keys in %s\n", created, dir)
	}
	return keys, nil
}

// ownKeys maps the nodes (<group>-<index>) of groups with their own node key Secret to that
// field's path.
func ownKeys(n *v1alpha1.SubstrateNetwork) map[string]string {
	own := map[string]string{}
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if g.P2P == nil || g.P2P.NodeKeySecret == "" {
			continue
		}
		for r := range kube.KeyedReplicas(g) {
			own[fmt.Sprintf("%s-%d", g.Name, r)] = fmt.Sprintf("spec.groups[%d].p2p.nodeKeySecret", i)
		}
	}
	return own
}

// readChainFile reads a chain.file for ConfigMaps: a regular file holding a chain spec (never
// whatever the path names, /etc/shadow included) of at most chainspec's cap; one over the
// API server's 1 MiB ConfigMap limit is packed across several (kube's chainMounts).
func readChainFile(path string) ([]byte, error) {
	return chainspec.ReadFile(path, chainspec.Options{})
}
