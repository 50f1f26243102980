package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/keyring"
)

func init() {
	cmd := &cobra.Command{
		Use:   "ha",
		Short: "Validator and collator failover (spec.groups[].ha)",
		Long: `Locally the supervisor of onf up runs the failover agents itself; in clusters each
pod of an ha group runs "onf ha agent" as its node container's entrypoint. See docs/ha.md.`,
	}
	cmd.AddCommand(haAgentCmd(), haInstallCmd())
	rootCmd.AddCommand(cmd)
}

// haAgentCmd is the entrypoint of an ha group's node container in a cluster: the node runs
// as its child, keyless until the agent holds the identity's Lease and Decide allows it to
// sign.
func haAgentCmd() *cobra.Command {
	var (
		lease, namespace, holder, suriFile, rpcURL, binary, basePath, keystore string
		ttl, margin                                                            time.Duration
		gossamer                                                               bool
		signArgs, standbyArgs, keyTypes                                        []string
	)
	c := &cobra.Command{
		Use:   "agent --lease NAME --namespace NS --suri-file FILE --binary PATH --sign-arg=ARG... --standby-arg=ARG...",
		Short: "Run a node keyless and let it sign only while this pod holds the identity's Lease",
		Long: `agent runs the node binary as its child: with the standby command line (no keys)
until it holds the coordination.k8s.io/v1 Lease NAME and the safety margin and chain checks
of docs/ha.md pass, then with the signing command line. It renews the Lease and kills the
node (SIGKILL of its process group, keystore emptied) before the Lease could expire
unrenewed, and when it stops (SIGTERM) it fences the node and releases the Lease.

A gossamer node (--gossamer) signs with the dev key its signing command line names; a
polkadot-sdk node gets its keys in --keystore: before each signing start the agent writes
one 0600 file per --key-type there from the secret URI in --suri-file (sc-keystore's file
format), and it empties the directory when it fences the node and before each keyless
start. The
operator renders this command into the pods of an ha group; it needs get and update on the
Lease and create on leases in its namespace (the group's Role), from the pod's service
account.`,
		Example: `  onf ha agent --lease dev-validator-0 --namespace chains --suri-file /onf/keys/suri \
    --lease-ttl 9s --safety-margin 3s --binary /usr/local/bin/gossamer --gossamer --base-path /data \
    --sign-arg=--key --sign-arg=alice --sign-arg=--validator \
    --standby-arg=--role --standby-arg=full

  # a polkadot-sdk collator: its keystore is written from the secret URI on promotion
  onf ha agent --lease paras-collator-0 --namespace relay --suri-file /onf/keys/suri \
    --lease-ttl 9s --safety-margin 3s --binary polkadot-parachain \
    --keystore /keystore --key-type aura:sr25519 \
    --sign-arg=--collator --sign-arg=--keystore-path --sign-arg=/keystore \
    --standby-arg=--base-path --standby-arg=/data`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if holder == "" {
				return fmt.Errorf("--holder: empty (set it, or POD_NAME)")
			}
			suri, err := os.ReadFile(suriFile)
			if err != nil {
				return fmt.Errorf("--suri-file: %w", err)
			}
			uri := strings.TrimSpace(string(suri))
			pair, err := keyring.FromURI(keyring.Sr25519, uri)
			if err != nil {
				return fmt.Errorf("--suri-file %s: not a secret URI", suriFile) // never the contents
			}
			cfg, err := rest.InClusterConfig()
			if err != nil {
				return fmt.Errorf("the agent runs in a pod with a service account token: %w", err)
			}
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("holder", holder)
			role, err := haRole(gossamer, basePath, uri, keystore, keyTypes, suriFile)
			if err != nil {
				return err
			}
			node := &ha.Process{Binary: binary, SignArgs: signArgs, StandbyArgs: standbyArgs, Role: role, Log: log}
			poll := max(margin/4, 100*time.Millisecond)
			w := &ha.Watch{Endpoint: rpcURL, Identity: pair.Public().Bytes, Poll: poll}
			agent := &ha.Agent{Name: holder, Store: ha.NewKubeLease(cs.CoordinationV1(), namespace, lease),
				Timing: ha.Timing{TTL: ttl, Margin: margin}, Node: node, Watch: w, Log: log}
			nodeDone := make(chan struct{})
			go func() { node.Run(ctx, rpcURL, poll); close(nodeDone) }()
			go w.Run(ctx)
			agent.Run(ctx) // fences an authority and releases the Lease when ctx ends
			<-nodeDone
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&lease, "lease", "", "the identity's Lease")
	f.StringVar(&namespace, "namespace", "", "the Lease's namespace")
	f.StringVar(&holder, "holder", os.Getenv("POD_NAME"), "this candidate's name in the Lease (default $POD_NAME)")
	f.DurationVar(&ttl, "lease-ttl", 10*time.Second, "the Lease duration T (whole seconds)")
	f.DurationVar(&margin, "safety-margin", 0, "the safety margin M, below T/2")
	f.StringVar(&suriFile, "suri-file", "", "file holding the identity's secret URI (only its public key is used: the chain check)")
	f.StringVar(&rpcURL, "rpc", "http://127.0.0.1:9944", "the node's loopback RPC")
	f.StringVar(&binary, "binary", "", "the node binary")
	f.StringVar(&basePath, "base-path", "", "the node's base path (gossamer's saved config follows the role)")
	f.BoolVar(&gossamer, "gossamer", false, "the node is gossamer: a standby loads a dev key other than the identity's")
	f.StringVar(&keystore, "keystore", "", "polkadot-sdk: the node's keystore directory, filled before a signing start and emptied when it is fenced")
	f.StringArrayVar(&keyTypes, "key-type", nil, "polkadot-sdk: a session key to write into --keystore, TYPE:SCHEME such as aura:sr25519 (repeat)")
	f.StringArrayVar(&signArgs, "sign-arg", nil, "one argument of the signing command line (repeat)")
	f.StringArrayVar(&standbyArgs, "standby-arg", nil, "one argument of the keyless command line (repeat)")
	for _, name := range []string{"lease", "namespace", "suri-file", "binary", "safety-margin"} {
		_ = c.MarkFlagRequired(name)
	}
	return c
}

// haRole is the node's Role: gossamer's saved config, or a polkadot-sdk keystore filled from
// the secret URI file (read again at each promotion, so a rotated Secret is picked up).
func haRole(gossamer bool, basePath, uri, keystore string, keyTypes []string, suriFile string) (ha.Role, error) {
	switch {
	case gossamer && keystore != "":
		return nil, fmt.Errorf("--keystore: a gossamer node takes its key by name (--gossamer), not from a keystore")
	case gossamer:
		return ha.Gossamer{BasePath: basePath, StandbyKey: ha.GossamerStandbyKey(uri)}, nil
	case keystore == "" && len(keyTypes) > 0:
		return nil, fmt.Errorf("--key-type: needs --keystore")
	case keystore == "":
		return nil, nil
	}
	ks := ha.Keystore{Dir: keystore, Secret: func() (string, error) {
		b, err := os.ReadFile(suriFile)
		return strings.TrimSpace(string(b)), err
	}}
	for _, t := range keyTypes {
		id, scheme, _ := strings.Cut(t, ":")
		kt := ha.KeyType{ID: id, Scheme: keyring.Scheme(scheme)}
		if _, err := ha.KeyFileName(kt, uri); err != nil {
			return nil, fmt.Errorf("--key-type %s: %v", t, err)
		}
		ks.Types = append(ks.Types, kt)
	}
	return ks, nil
}

// haInstallCmd copies this onf binary into a volume shared with the node container, whose
// image has no onf: the init step of an ha group's pods.
func haInstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "install FILE",
		Short:   "Copy this onf binary to FILE (the init step of an ha group's pods)",
		Example: `  onf ha install /onf/bin/onf`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			in, err := os.Open(self)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(args[0], os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		},
	}
}
