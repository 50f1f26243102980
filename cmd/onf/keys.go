package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/sessionkeys"
)

// keysFlags are the flags the `onf keys` verbs share.
type keysFlags struct {
	spec, suriFile, validator, output string
}

func init() {
	var f keysFlags
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Generate, register, rotate, check and migrate validator session keys (local networks)",
		Long: `keys looks after a validator's session keys on a local network. Keys are made by onf
(gossamer's author_rotateKeys does nothing) from the system's random source, kept in the
node's keystore directory apart from its chain data (STATE/networks/NAME/keystore/NODE,
0700, one 0600 file per key) and inserted with author_insertKey over the node's own
loopback RPC, never through a gateway. They are registered on chain with session.setKeys,
signed by the validator's controller account, whose secret URI is read from a 0600 file
(--suri-file): never from arguments or the environment. See docs/keys.md.`,
		Example: `  onf keys rotate dev validator-0 --suri-file ~/secrets/controller.suri
  onf keys check dev --validator 5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY`,
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
  onf keys set dev validator-0 --suri-file controller.suri   # then register them`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			return withCustodian(c, &f, args, func(ctx context.Context, cu *sessionkeys.Custodian, node string) error {
				set, err := cu.Generate(ctx)
				if err != nil {
					return err
				}
				return printKeys(c.OutOrStdout(), f.output, []sessionkeys.Status{{Node: node, Pending: set.Encoded(), Result: "generated", Keys: set}})
			})
		},
	}
	set := &cobra.Command{
		Use:     "set [NETWORK] NODE --suri-file FILE",
		Short:   "Register a node's generated keys on chain (session.setKeys) and wait for session.nextKeys",
		Example: `  onf keys set dev validator-0 --suri-file controller.suri`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			suri, err := readSURIFile(f.suriFile)
			if err != nil {
				return err
			}
			return withCustodian(c, &f, args, func(ctx context.Context, cu *sessionkeys.Custodian, node string) error {
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
				return reportCheck(ctx, c, &f, cu, node, suri)
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
		Example: `  onf keys rotate dev validator-0 --suri-file controller.suri`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			suri, err := readSURIFile(f.suriFile)
			if err != nil {
				return err
			}
			return withCustodian(c, &f, args, func(ctx context.Context, cu *sessionkeys.Custodian, node string) error {
				if _, err := cu.Rotate(ctx, suri); err != nil {
					return err
				}
				return reportCheck(ctx, c, &f, cu, node, suri)
			})
		},
	}
	suriFlag(rotate)
	check := &cobra.Command{
		Use:   "check [NETWORK] [NODE] (--validator ADDRESS | --suri-file FILE)",
		Short: "Per node: does it hold the keys the chain expects (session.nextKeys) for the validator?",
		Long: `check reads session.nextKeys of the validator (its stash, or the stash its controller
stands for) and asks each node, or the one named, whether it holds those keys
(author_hasSessionKeys): match or mismatch. It exits non-zero when no node matches.`,
		Example: `  onf keys check dev --validator 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
  onf keys check dev validator-0 --suri-file controller.suri -o json`,
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
					return err
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
that. docs/keys.md describes the other way (stop the old node first, then move its keys).`,
		Example: `  onf keys migrate dev validator-0 standby-0 --suri-file controller.suri`,
		Args:    cobra.RangeArgs(2, 3),
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
					if _, err := sessionkeys.Migrate(ctx, old, cu, suri); err != nil {
						return err
					}
					return reportCheck(ctx, c, &f, cu, to, suri)
				})
			})
		},
	}
	suriFlag(migrate)
	keys.AddCommand(generate, set, rotate, check, migrate)
	rootCmd.AddCommand(keys)
}

// keysNet is the local network a keys command acts on.
type keysNet struct {
	rt      *local.Runtime
	name    string
	node    string   // the node named, if any
	signing []string // the network's validator and collator nodes
	// chainURL is the RPC of the network's first running signing node: chain state is read
	// and extrinsics submitted there, so every node is judged against the block author's
	// view (a syncing full node lags; a gossamer full node does not pass transactions on).
	chainURL string
}

// keysTarget resolves [NETWORK] [NODE] to the local network and the node named (if any).
func keysTarget(ctx context.Context, f *keysFlags, args []string) (*keysNet, error) {
	rt, err := localRuntime()
	if err != nil {
		return nil, err
	}
	k := &keysNet{rt: rt}
	switch len(args) {
	case 2:
		k.name, k.node = args[0], args[1]
	case 1: // NETWORK when there is a network by that name, else NODE
		if _, err := rt.Status(ctx, args[0]); err == nil {
			k.name = args[0]
		} else {
			k.node = args[0]
		}
	}
	if k.name == "" {
		if _, k.name, err = localNetwork(nil, f.spec); err != nil {
			return nil, err
		}
	}
	st, err := rt.Status(ctx, k.name)
	if err != nil {
		return nil, err
	}
	for _, n := range st.Nodes {
		if n.Role == v1alpha1.RoleValidator || n.Role == v1alpha1.RoleCollator {
			k.signing = append(k.signing, n.Name)
			if k.chainURL == "" && n.Running && n.RPC != "" {
				k.chainURL = n.RPC
			}
		}
	}
	if k.chainURL == "" {
		return nil, fmt.Errorf("network %s has no running validator or collator to read the chain from (onf status %s)", k.name, k.name)
	}
	return k, nil
}

// withCustodian runs fn for the node named in args.
func withCustodian(c *cobra.Command, f *keysFlags, args []string, fn func(context.Context, *sessionkeys.Custodian, string) error) error {
	k, err := keysTarget(c.Context(), f, args)
	if err != nil {
		return err
	}
	if k.node == "" {
		return fmt.Errorf("name the node: [NETWORK] NODE")
	}
	return k.custodian(c.Context(), k.node, func(ctx context.Context, cu *sessionkeys.Custodian) error {
		return fn(ctx, cu, k.node)
	})
}

// custodian connects to the node's own loopback RPC (from the supervisor's status, never a
// gateway) and names its keystore directory.
func (k *keysNet) custodian(ctx context.Context, node string, fn func(context.Context, *sessionkeys.Custodian) error) error {
	info, err := localBackend{k.rt}.node(ctx, k.name, node)
	if err != nil {
		return err
	}
	if info.RPC == "" {
		return fmt.Errorf("%s has no RPC endpoint (is it running? onf status %s)", node, k.name)
	}
	dir, err := local.NetworkDir(k.rt.Home, k.name)
	if err != nil {
		return err
	}
	client, err := rpc.Dial(ctx, info.RPC)
	if err != nil {
		return err
	}
	defer client.Close()
	chain, err := sessionkeys.Connect(k.chainURL)
	if err != nil {
		return err
	}
	defer chain.Close()
	ks := sessionkeys.Keystore(dir.Keystore(node)) // created by the first key generated
	return fn(ctx, &sessionkeys.Custodian{Keystore: ks, Node: client, Chain: chain})
}

// reportCheck prints the node's state after a change: the keys on chain and whether it holds them.
func reportCheck(ctx context.Context, c *cobra.Command, f *keysFlags, cu *sessionkeys.Custodian, node, suri string) error {
	stash, err := cu.StashOf(suri, "")
	if err != nil {
		return err
	}
	st, err := cu.Check(ctx, stash)
	if err != nil {
		return err
	}
	st.Node = node
	return printKeys(c.OutOrStdout(), f.output, []sessionkeys.Status{st})
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
	fmt.Fprintln(tw, "NODE\tRESULT\tVALIDATOR\tNEXT KEYS\tPENDING")
	for _, s := range sts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Node, s.Result, dash(s.Validator), short(s.NextKeys), short(s.Pending))
	}
	return tw.Flush()
}

func short(hexKeys string) string {
	if len(hexKeys) > 20 {
		return hexKeys[:12] + "…" + hexKeys[len(hexKeys)-6:]
	}
	return dash(hexKeys)
}
