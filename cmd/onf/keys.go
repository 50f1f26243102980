package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/sessionkeys"
)

// keysFlags are the flags the `onf keys` verbs share.
type keysFlags struct {
	spec, suriFile, validator, output string
	where                             clusterFlags
}

func init() {
	var f keysFlags
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Generate, register, rotate, check and migrate validator session keys",
		Long: `keys looks after a validator's session keys. Keys are made by onf (gossamer's
author_rotateKeys does nothing) from the system's random source and inserted with
author_insertKey over the node's own RPC, never through a gateway: on a local network its
loopback address, kept in the node's keystore directory apart from its chain data
(STATE/networks/NAME/keystore/NODE, 0700, one 0600 file per key); in a cluster (every
verb with --context/--namespace, as onf scale and onf exec take them) a port-forward to
the pod's RPC port, the seeds in this process's memory only until the node holds them (a
gossamer pod also keeps them in its keystore volume, 0400, written through exec's standard
input), the pending public keys in an annotation of the pod. They are registered on
chain with session.setKeys, signed by the validator's controller account, whose secret URI
is read from a 0600 file (--suri-file): never from arguments or the environment.
See docs/keys.md.`,
		Example: `  onf keys rotate dev validator-0 --suri-file ~/secrets/controller.suri
  onf keys check dev --validator 5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY
  onf keys rotate --context kind-dev -n chains relay validator-0 --suri-file controller.suri
  onf keys check -n chains relay validator-0 --suri-file controller.suri -o json`,
	}
	keys.PersistentFlags().StringVar(&f.spec, "spec", "", "network spec, to name the network")
	keys.PersistentFlags().StringVarP(&f.output, "output", "o", "", "json for scripts")

	suriFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&f.suriFile, "suri-file", "", "file (mode 0600) holding the controller account's secret URI")
		_ = c.MarkFlagRequired("suri-file")
	}
	generate := &cobra.Command{
		Use:   "generate [NETWORK] NODE",
		Short: "Make new session keys for a node and insert them into it (not yet registered)",
		Example: `  onf keys generate dev validator-0
  onf keys set dev validator-0 --suri-file controller.suri   # then register them
  onf keys generate -n chains relay validator-0              # a node in a cluster`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			return withCustodian(c, &f, args, func(ctx context.Context, k *keysNet, cu *sessionkeys.Custodian, node string) error {
				set, err := cu.Generate(ctx)
				if err != nil {
					return err
				}
				return printKeys(c.OutOrStdout(), f.output, []sessionkeys.Status{{Node: node, Pending: set.Encoded(), Result: "generated", Keys: set}})
			})
		},
	}
	set := &cobra.Command{
		Use:   "set [NETWORK] NODE --suri-file FILE",
		Short: "Register a node's generated keys on chain (session.setKeys) and wait for session.nextKeys",
		Example: `  onf keys set dev validator-0 --suri-file controller.suri
  onf keys set -n chains relay validator-0 --suri-file controller.suri`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			suri, err := readSURIFile(f.suriFile)
			if err != nil {
				return err
			}
			return withCustodian(c, &f, args, func(ctx context.Context, k *keysNet, cu *sessionkeys.Custodian, node string) error {
				pending, err := cu.Keystore.Pending()
				if err != nil {
					return err
				}
				if pending == nil {
					return fmt.Errorf("%s has no generated keys waiting to be registered: run onf keys generate (or rotate)", node)
				}
				if err := cu.Set(ctx, suri, pending); err != nil {
					return err
				}
				return k.reportCheck(ctx, c, &f, cu, node, suri)
			})
		},
	}
	suriFlag(set)
	rotate := &cobra.Command{
		Use:   "rotate [NETWORK] NODE --suri-file FILE",
		Short: "generate + set; run it again to finish a rotation that stopped half way",
		Long: `rotate makes new session keys on the node and registers them on chain. If an earlier
rotation stopped after generating keys and before session.nextKeys showed them, rotate
finishes that one (inserting its keys again, registering them) instead of making others.
It never registers keys the node does not hold (author_hasSessionKeys).`,
		Example: `  onf keys rotate dev validator-0 --suri-file controller.suri
  onf keys rotate --context prod -n chains relay validator-0 --suri-file controller.suri`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			suri, err := readSURIFile(f.suriFile)
			if err != nil {
				return err
			}
			return withCustodian(c, &f, args, func(ctx context.Context, k *keysNet, cu *sessionkeys.Custodian, node string) error {
				if _, err := cu.Rotate(ctx, suri); err != nil {
					return err
				}
				return k.reportCheck(ctx, c, &f, cu, node, suri)
			})
		},
	}
	suriFlag(rotate)
	check := &cobra.Command{
		Use:   "check [NETWORK] [NODE] (--validator ADDRESS | --suri-file FILE)",
		Short: "Per node: does it hold the keys the chain expects (session.nextKeys, queuedKeys) for the validator?",
		Long: `check reads session.nextKeys of the validator (its stash, or the stash its controller
stands for) and asks each node, or the one named, whether it holds those keys
(author_hasSessionKeys): match or mismatch. It also reports the keys queued for the next
session (session.queuedKeys) and whether the node holds them, and the session index. It
exits non-zero when no node matches.`,
		Example: `  onf keys check dev --validator 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
  onf keys check dev validator-0 --suri-file controller.suri -o json
  onf keys check -n chains relay --validator 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY`,
		Args: cobra.RangeArgs(0, 2),
		RunE: func(c *cobra.Command, args []string) error {
			var suri string
			switch {
			case f.validator != "" && f.suriFile != "":
				return fmt.Errorf("give --validator or --suri-file, not both")
			case f.suriFile != "":
				var err error
				if suri, err = readSURIFile(f.suriFile); err != nil {
					return err
				}
			case f.validator == "":
				return fmt.Errorf("name the validator: --validator ADDRESS (stash or controller) or --suri-file FILE (controller)")
			}
			k, err := keysTarget(c.Context(), &f, args)
			if err != nil {
				return err
			}
			nodes := k.signing
			if k.node != "" {
				nodes = []string{k.node}
			}
			var out []sessionkeys.Status
			matched := false
			for _, node := range nodes {
				err := k.custodian(c.Context(), node, func(ctx context.Context, cu *sessionkeys.Custodian) error {
					stash, err := cu.StashOf(suri, f.validator)
					if err != nil {
						return err
					}
					st, err := cu.Check(ctx, stash)
					st.Node = node
					out = append(out, st)
					matched = matched || st.Result == "match"
					if err != nil {
						return err
					}
					return k.record(ctx, st)
				})
				if err != nil {
					return err
				}
			}
			if err := printKeys(c.OutOrStdout(), f.output, out); err != nil {
				return err
			}
			if !matched {
				return fmt.Errorf("no node holds the keys the chain expects")
			}
			return nil
		},
	}
	check.Flags().StringVar(&f.suriFile, "suri-file", "", "file (mode 0600) holding the controller account's secret URI")
	check.Flags().StringVar(&f.validator, "validator", "", "the validator's stash or controller address (SS58)")
	migrate := &cobra.Command{
		Use:   "migrate [NETWORK] FROM TO --suri-file FILE",
		Short: "Move a validator to another node: fresh keys made on TO, registered, FROM's keystore removed",
		Long: `migrate rotates the validator to fresh keys made on node TO (so at no moment do two nodes
hold the same keys), waits until session.nextKeys shows them, then removes FROM's keystore.
FROM stops signing for the validator at the next session change: stop or restart it after
that. docs/keys.md describes the other way (stop the old node first, then move its keys).
In a cluster FROM and TO are pods of the same network (another group member, another
group); FROM's keystore is its pod's keystore volume, emptied through exec.`,
		Example: `  onf keys migrate dev validator-0 standby-0 --suri-file controller.suri
  onf keys migrate --context prod -n chains relay validator-0 validator-1 --suri-file controller.suri`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(c *cobra.Command, args []string) error {
			suri, err := readSURIFile(f.suriFile)
			if err != nil {
				return err
			}
			from, to := args[len(args)-2], args[len(args)-1]
			k, err := keysTarget(c.Context(), &f, args[:len(args)-2])
			if err != nil {
				return err
			}
			if from == to {
				return fmt.Errorf("FROM and TO are both %s", from)
			}
			return k.custodian(c.Context(), from, func(ctx context.Context, old *sessionkeys.Custodian) error {
				return k.custodian(ctx, to, func(ctx context.Context, cu *sessionkeys.Custodian) error {
					if _, err := sessionkeys.Migrate(ctx, old.Keystore, cu, suri); err != nil {
						return err
					}
					return k.reportCheck(ctx, c, &f, cu, to, suri)
				})
			})
		},
	}
	suriFlag(migrate)
	for _, c := range []*cobra.Command{generate, set, rotate, check, migrate} {
		addClusterFlags(c, &f.where)
	}
	keys.AddCommand(generate, set, rotate, check, migrate)
	rootCmd.AddCommand(keys)
}

// keysNet is the network, local or in a cluster, a keys command acts on.
type keysNet struct {
	b       backend
	name    string
	node    string   // the node named, if any
	signing []string // the network's validator and collator nodes
	// chainNode is the network's first running signing node: chain state is read and
	// extrinsics submitted there, so every node is judged against the block author's view
	// (a syncing full node lags; a gossamer full node does not pass transactions on).
	chainNode string
	// store is where custody keeps a node's generated keys: its keystore directory locally,
	// the pod in a cluster.
	store func(ctx context.Context, node string) (sessionkeys.Store, error)
}

// keysTarget resolves [NETWORK] [NODE] to the network (local, or in the cluster the
// cluster flags select) and the node named (if any).
func keysTarget(ctx context.Context, f *keysFlags, args []string) (*keysNet, error) {
	k := &keysNet{}
	var err error
	switch len(args) {
	case 2:
		k.node = args[1]
		k.b, k.name, err = target(ctx, &f.where, args[:1], f.spec)
	case 1: // NETWORK when there is a network by that name, else NODE
		if k.b, k.name, err = target(ctx, &f.where, args, f.spec); err == nil {
			if _, serr := k.b.Status(ctx, k.name); serr != nil {
				k.node = args[0]
				k.b, k.name, err = target(ctx, &f.where, nil, f.spec)
			}
		}
	default:
		k.b, k.name, err = target(ctx, &f.where, nil, f.spec)
	}
	if err != nil {
		return nil, err
	}
	st, err := k.b.Status(ctx, k.name)
	if err != nil {
		return nil, err
	}
	for _, n := range st.Nodes {
		if n.Role == v1alpha1.RoleValidator || n.Role == v1alpha1.RoleCollator {
			k.signing = append(k.signing, n.Name)
			if k.chainNode == "" && n.Running && n.RPC != "" {
				k.chainNode = n.Name
			}
		}
	}
	if k.chainNode == "" {
		return nil, fmt.Errorf("network %s has no running validator or collator to read the chain from (onf status %s)", k.name, k.name)
	}
	switch b := k.b.(type) {
	case localBackend:
		dir, err := local.NetworkDir(b.rt.Home, k.name)
		if err != nil {
			return nil, err
		}
		k.store = func(_ context.Context, node string) (sessionkeys.Store, error) {
			return sessionkeys.Keystore(dir.Keystore(node)), nil // created by the first key generated
		}
	case *cluster.Client:
		k.store = func(ctx context.Context, node string) (sessionkeys.Store, error) {
			return podKeys(ctx, b, k.name, node)
		}
	}
	return k, nil
}

// podKeys keeps custody's state of a node in a pod: the seeds of the keys this command
// generates in its memory until they are inserted into the node's own keystore (and, for a
// node that keeps it in memory, written into the pod's keystore volume through exec's
// standard input, never an argument), the pending public keys in an annotation of the pod.
func podKeys(ctx context.Context, c *cluster.Client, name, node string) (*sessionkeys.InPod, error) {
	restoreDir, err := c.PodAnnotation(ctx, name, node, kube.AnnotationKeystoreRestore)
	if err != nil {
		return nil, err
	}
	inPod := func(stdin io.Reader, script string, args ...string) error {
		var stderr strings.Builder
		argv := append([]string{"/bin/sh", "-c", script, "sh"}, args...)
		if err := c.Exec(ctx, name, node, argv, stdin, io.Discard, &stderr); err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	p := &sessionkeys.InPod{
		Clear: func() error {
			return inPod(nil, `for f in "$1"/* "$1"/.[!.]*; do if [ -f "$f" ]; then rm -f "$f"; fi; done`, cmp.Or(restoreDir, kube.PodKeystoreDir))
		},
		Load: func() (sessionkeys.Set, error) {
			v, err := c.PodAnnotation(ctx, name, node, kube.AnnotationPendingKeys)
			if err != nil || v == "" {
				return nil, err
			}
			var set sessionkeys.Set
			if err := json.Unmarshal([]byte(v), &set); err != nil {
				return nil, fmt.Errorf("annotation %s: %w", kube.AnnotationPendingKeys, err)
			}
			return set, nil
		},
		Save: func(set sessionkeys.Set) error {
			v, err := annotationJSON(set, set == nil)
			if err != nil {
				return err
			}
			return c.AnnotatePod(ctx, name, node, kube.AnnotationPendingKeys, v)
		},
	}
	if restoreDir != "" {
		p.Keep = func(k sessionkeys.Key, req []byte) error {
			file := path.Join(restoreDir, k.Type+"-"+strings.TrimPrefix(k.Public, "0x")+".json")
			return inPod(bytes.NewReader(req), `rm -f "$1.tmp" && umask 277 && cat > "$1.tmp" && mv -f "$1.tmp" "$1"`, file)
		}
	}
	return p, nil
}

// withCustodian runs fn for the node named in args.
func withCustodian(c *cobra.Command, f *keysFlags, args []string, fn func(context.Context, *keysNet, *sessionkeys.Custodian, string) error) error {
	k, err := keysTarget(c.Context(), f, args)
	if err != nil {
		return err
	}
	if k.node == "" {
		return fmt.Errorf("name the node: [NETWORK] NODE")
	}
	return k.custodian(c.Context(), k.node, func(ctx context.Context, cu *sessionkeys.Custodian) error {
		return fn(ctx, k, cu, k.node)
	})
}

// custodian connects to the node's own RPC (a loopback address locally, a port-forward to the
// pod in a cluster; never a gateway) and to the chain through the first signing node's.
func (k *keysNet) custodian(ctx context.Context, node string, fn func(context.Context, *sessionkeys.Custodian) error) error {
	nodeURL, stopNode, err := k.b.ForwardRPC(ctx, k.name, node)
	if err != nil {
		return err
	}
	defer stopNode()
	if nodeURL == "" {
		return fmt.Errorf("%s has no RPC endpoint (is it running? onf status %s)", node, k.name)
	}
	chainURL, stopChain, err := k.b.ForwardRPC(ctx, k.name, k.chainNode)
	if err != nil {
		return err
	}
	defer stopChain()
	client, err := rpc.Dial(ctx, nodeURL)
	if err != nil {
		return err
	}
	defer client.Close()
	chain, err := sessionkeys.Connect(chainURL)
	if err != nil {
		return err
	}
	defer chain.Close()
	store, err := k.store(ctx, node)
	if err != nil {
		return err
	}
	return fn(ctx, &sessionkeys.Custodian{Keystore: store, Node: client, Chain: chain})
}

// reportCheck prints the node's state after a change: the keys on chain and whether it holds them.
func (k *keysNet) reportCheck(ctx context.Context, c *cobra.Command, f *keysFlags, cu *sessionkeys.Custodian, node, suri string) error {
	stash, err := cu.StashOf(suri, "")
	if err != nil {
		return err
	}
	st, err := cu.Check(ctx, stash)
	if err != nil {
		return err
	}
	st.Node = node
	if err := k.record(ctx, st); err != nil {
		return err
	}
	return printKeys(c.OutOrStdout(), f.output, []sessionkeys.Status{st})
}

// record notes a node's registered public keys when the node holds what the chain expects,
// and removes them when it does not: in a cluster on its pod, for the operator's status
// (status.nodes[].sessionKeys) and its onf_session_keys_registered; locally in the node's
// keystore directory (sessionkeys.Keystore.Record), which onf console shows.
func (k *keysNet) record(ctx context.Context, st sessionkeys.Status) error {
	var reg *v1alpha1.RegisteredKeys
	if st.Result == "match" {
		reg = &v1alpha1.RegisteredKeys{Validator: st.Validator, Keys: st.NextKeys, Session: int64(st.Session)}
	}
	switch b := k.b.(type) {
	case localBackend:
		dir, err := local.NetworkDir(b.rt.Home, k.name)
		if err != nil {
			return err
		}
		return sessionkeys.Keystore(dir.Keystore(st.Node)).Record(reg)
	case *cluster.Client:
		v, err := annotationJSON(reg, reg == nil)
		if err != nil {
			return err
		}
		return b.AnnotatePod(ctx, k.name, st.Node, kube.AnnotationSessionKeys, v)
	}
	return nil
}

// annotationJSON is v as a pod annotation's JSON value; none is "", which removes it.
func annotationJSON(v any, none bool) (string, error) {
	if none {
		return "", nil
	}
	data, err := json.Marshal(v)
	return string(data), err
}

// readSURIFile reads a controller secret URI from a file only its owner can read.
func readSURIFile(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("--suri-file: required")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--suri-file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("--suri-file %s: mode %04o lets others read the secret; chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--suri-file: %w", err)
	}
	suri := strings.TrimSpace(string(data))
	if suri == "" {
		return "", fmt.Errorf("--suri-file %s: empty", path)
	}
	return suri, nil
}

func printKeys(w io.Writer, output string, sts []sessionkeys.Status) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sts)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tRESULT\tVALIDATOR\tSESSION\tNEXT KEYS\tQUEUED KEYS\tPENDING")
	for _, s := range sts {
		queued := short(s.QueuedKeys)
		if s.QueuedKeys != "" && s.HoldsQueued {
			queued += " (held)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Node, s.Result, dash(s.Validator), s.Session, short(s.NextKeys), queued, short(s.Pending))
	}
	return tw.Flush()
}

func short(hexKeys string) string {
	if len(hexKeys) > 20 {
		return hexKeys[:12] + "…" + hexKeys[len(hexKeys)-6:]
	}
	return dash(hexKeys)
}
