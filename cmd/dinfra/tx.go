package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/ledger/wire"
)

const defaultNode = "http://127.0.0.1:26657"

// nodeFlags select the node and the output format of tx and query commands.
type nodeFlags struct {
	node    string
	output  string
	timeout time.Duration
}

func (f *nodeFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.node, "node", envOr("DINFRA_NODE", defaultNode), "RPC address of a chain node (env DINFRA_NODE)")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the node")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (f *nodeFlags) client() (*client.Client, error) { return client.New(f.node) }

func (f *nodeFlags) ctx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), f.timeout)
}

func newTxCmd() *cobra.Command {
	var nf nodeFlags
	var kf keyFlags
	var async bool
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign and submit DINFRA transactions",
		Long: `Sign a transaction with --from (a dev account name, a dev URI such as //Alice//stash, or a
file holding a secret URI or mnemonic), submit it to --node and wait until it is in a block.
A rejected transaction exits non-zero with its code and the field at fault.`,
	}
	nf.register(cmd)
	cmd.PersistentFlags().StringVar(&kf.scheme, "scheme", "sr25519", "key scheme of --from: sr25519 or ed25519")
	cmd.PersistentFlags().StringVar(&kf.from, "from", "", fromHelp)
	cmd.PersistentFlags().BoolVar(&async, "async", false, "return once the mempool accepted the tx, without waiting for its block")

	// send builds the message from args and submits it.
	send := func(build func(args []string) (wire.Msg, error)) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			msg, err := build(args)
			if err != nil {
				return err
			}
			pair, err := kf.pair(c)
			if err != nil {
				return err
			}
			cl, err := nf.client()
			if err != nil {
				return err
			}
			ctx, cancel := nf.ctx(c)
			defer cancel()
			signer := cl.Signer(pair)
			if async {
				hash, err := signer.SendAsync(ctx, msg)
				if err != nil {
					return err
				}
				if nf.output == "json" {
					return writeJSON(c.OutOrStdout(), map[string]string{"hash": hash})
				}
				fmt.Fprintf(c.OutOrStdout(), "accepted into the mempool: tx %s\n", hash)
				return nil
			}
			res, err := signer.Send(ctx, msg)
			if res != nil {
				if perr := printTxResult(c, nf.output, res); perr != nil {
					return perr
				}
			}
			return err
		}
	}
	u64 := func(name, s string) (uint64, error) {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a non-negative integer", name, s)
		}
		return v, nil
	}
	amount := func(name, s string) (wire.Amount, error) {
		v, err := wire.ParseAmount(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return v, nil
	}

	transfer := &cobra.Command{
		Use: "transfer TO AMOUNT", Short: "Transfer free balance to an account",
		Example: "  dinfra tx transfer 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty 1000 --from alice",
		Args:    cobra.ExactArgs(2),
		RunE: send(func(args []string) (wire.Msg, error) {
			a, err := amount("AMOUNT", args[1])
			return wire.Msg{Transfer: &wire.MsgTransfer{To: args[0], Amount: a}}, err
		}),
	}

	var sshFile string
	var sshClear bool
	setSSH := &cobra.Command{
		Use: "set-ssh-key [KEY]", Short: "Register the ed25519 OpenSSH key installed for you in what you rent",
		Long: "Register an ssh-ed25519 public key for your account (needed by sr25519 accounts, which cannot be SSH keys); --clear removes it.",
		Example: `  dinfra tx set-ssh-key --file ~/.ssh/id_ed25519.pub --from alice
  dinfra tx set-ssh-key --clear --from alice`,
		Args: cobra.MaximumNArgs(1),
		RunE: send(func(args []string) (wire.Msg, error) {
			key := ""
			switch {
			case sshClear:
			case sshFile != "":
				b, err := os.ReadFile(sshFile)
				if err != nil {
					return wire.Msg{}, err
				}
				key = strings.TrimSpace(string(b))
			case len(args) == 1:
				key = args[0]
			default:
				return wire.Msg{}, errors.New("give KEY, --file or --clear")
			}
			return wire.Msg{SetSSHKey: &wire.MsgSetSSHKey{SSHKey: key}}, nil
		}),
	}
	setSSH.Flags().StringVar(&sshFile, "file", "", "read the public key from this file")
	setSSH.Flags().BoolVar(&sshClear, "clear", false, "remove the registered key")

	registerType := &cobra.Command{
		Use: "register-type NAME VERSION SCHEMA_CID", Short: "Register a descriptor type (holds the type deposit)",
		Example: "  dinfra tx register-type vm v1 bafkrei... --from alice",
		Args:    cobra.ExactArgs(3),
		RunE: send(func(args []string) (wire.Msg, error) {
			return wire.Msg{RegisterType: &wire.MsgRegisterType{Name: args[0], Version: args[1], SchemaCID: args[2]}}, nil
		}),
	}

	var pEndpoint string
	var pTypes []string
	var pCapacity uint64
	var pPrice string
	registerProvider := &cobra.Command{
		Use: "register-provider", Short: "Register as a provider with your Chain Reactor API endpoint",
		Example: "  dinfra tx register-provider --endpoint https://reactor.example:8443 --types substrate-network/v1alpha1 --capacity 16 --price-per-unit 10 --from bob",
		Args:    cobra.NoArgs,
		RunE: send(func(args []string) (wire.Msg, error) {
			p, err := amount("--price-per-unit", pPrice)
			return wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{Endpoint: pEndpoint, Types: pTypes, Capacity: pCapacity, PricePerUnit: p}}, err
		}),
	}
	registerProvider.Flags().StringVar(&pEndpoint, "endpoint", "", "Chain Reactor API base URL")
	registerProvider.Flags().StringSliceVar(&pTypes, "types", []string{"substrate-network/v1alpha1"}, "descriptor types served")
	registerProvider.Flags().Uint64Var(&pCapacity, "capacity", 0, "capacity in units")
	registerProvider.Flags().StringVar(&pPrice, "price-per-unit", "", "price per unit per block")

	updateProvider := &cobra.Command{
		Use: "update-provider", Short: "Change your provider's endpoint, types, capacity or price (only the flags given)",
		Example: "  dinfra tx update-provider --capacity 32 --from bob",
		Args:    cobra.NoArgs,
	}
	updateProvider.Flags().String("endpoint", "", "new Chain Reactor API base URL")
	updateProvider.Flags().StringSlice("types", nil, "new list of descriptor types served")
	updateProvider.Flags().Uint64("capacity", 0, "new capacity in units")
	updateProvider.Flags().String("price-per-unit", "", "new price per unit per block (new awards only)")
	updateProvider.RunE = send(func(args []string) (wire.Msg, error) {
		m := &wire.MsgUpdateProvider{}
		fs := updateProvider.Flags()
		if fs.Changed("endpoint") {
			v, _ := fs.GetString("endpoint")
			m.Endpoint = &v
		}
		if fs.Changed("types") {
			m.Types, _ = fs.GetStringSlice("types")
		}
		if fs.Changed("capacity") {
			v, _ := fs.GetUint64("capacity")
			m.Capacity = &v
		}
		if fs.Changed("price-per-unit") {
			s, _ := fs.GetString("price-per-unit")
			v, err := amount("--price-per-unit", s)
			if err != nil {
				return wire.Msg{}, err
			}
			m.PricePerUnit = &v
		}
		if m.Endpoint == nil && m.Types == nil && m.Capacity == nil && m.PricePerUnit == nil {
			return wire.Msg{}, errors.New("nothing to update: give --endpoint, --types, --capacity or --price-per-unit")
		}
		return wire.Msg{UpdateProvider: m}, nil
	})

	simple := func(use, short string, msg wire.Msg) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, Example: "  dinfra tx " + use + " --from bob",
			RunE: send(func([]string) (wire.Msg, error) { return msg, nil })}
	}

	var sCID, sType, sDeposit, sMax, sStrategy string
	var sUnits uint64
	subscribe := &cobra.Command{
		Use: "subscribe", Short: "Subscribe to a deployment; the chain awards it to a provider in the same block or rejects it",
		Example: "  dinfra tx subscribe --descriptor-cid bafkrei... --units 2 --deposit 100000 --max-price-per-unit 20 --from alice",
		Args:    cobra.NoArgs,
		RunE: send(func(args []string) (wire.Msg, error) {
			d, err := amount("--deposit", sDeposit)
			if err != nil {
				return wire.Msg{}, err
			}
			mx, err := amount("--max-price-per-unit", sMax)
			return wire.Msg{Subscribe: &wire.MsgSubscribe{DescriptorCID: sCID, DescriptorType: sType, Units: sUnits,
				Deposit: d, MaxPricePerUnit: mx, Strategy: sStrategy}}, err
		}),
	}
	subscribe.Flags().StringVar(&sCID, "descriptor-cid", "", "CID of the descriptor to deploy")
	subscribe.Flags().StringVar(&sType, "type", "substrate-network/v1alpha1", "descriptor type")
	subscribe.Flags().Uint64Var(&sUnits, "units", 1, "units to reserve")
	subscribe.Flags().StringVar(&sDeposit, "deposit", "", "deposit moved into the subscription")
	subscribe.Flags().StringVar(&sMax, "max-price-per-unit", "", "highest price per unit per block you accept")
	subscribe.Flags().StringVar(&sStrategy, "strategy", "", "award strategy: round_robin, random or capacity (default: the chain's)")

	topUp := &cobra.Command{
		Use: "top-up ID AMOUNT", Short: "Add to a subscription's deposit", Args: cobra.ExactArgs(2),
		Example: "  dinfra tx top-up 7 5000 --from alice",
		RunE: send(func(args []string) (wire.Msg, error) {
			id, err := u64("ID", args[0])
			if err != nil {
				return wire.Msg{}, err
			}
			a, err := amount("AMOUNT", args[1])
			return wire.Msg{TopUp: &wire.MsgTopUp{SubscriptionID: id, Amount: a}}, err
		}),
	}
	cancel := &cobra.Command{
		Use: "cancel ID", Short: "End a subscription and get the rest of its deposit back", Args: cobra.ExactArgs(1),
		Example: "  dinfra tx cancel 7 --from alice",
		RunE: send(func(args []string) (wire.Msg, error) {
			id, err := u64("ID", args[0])
			return wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: id}}, err
		}),
	}

	var rDeployed, rFailed bool
	var rEndpoints []string
	var rReason string
	report := &cobra.Command{
		Use: "report-status ID", Short: "Report a deployment deployed (with endpoints) or failed (with a reason)", Args: cobra.ExactArgs(1),
		Example: `  dinfra tx report-status 7 --deployed --endpoint wss://node.example:443 --from bob
  dinfra tx report-status 7 --failed --reason "out of disk" --from bob`,
		RunE: send(func(args []string) (wire.Msg, error) {
			id, err := u64("ID", args[0])
			if err != nil {
				return wire.Msg{}, err
			}
			if rDeployed == rFailed {
				return wire.Msg{}, errors.New("give exactly one of --deployed or --failed")
			}
			m := &wire.MsgReportStatus{SubscriptionID: id, Status: wire.StatusDeployed, Endpoints: rEndpoints}
			if rFailed {
				m = &wire.MsgReportStatus{SubscriptionID: id, Status: wire.StatusFailed, Reason: rReason}
			}
			return wire.Msg{ReportStatus: m}, nil
		}),
	}
	report.Flags().BoolVar(&rDeployed, "deployed", false, "the deployment is up")
	report.Flags().BoolVar(&rFailed, "failed", false, "the deployment failed (the consumer is refunded)")
	report.Flags().StringSliceVar(&rEndpoints, "endpoint", nil, "an endpoint of the deployment (repeatable)")
	report.Flags().StringVar(&rReason, "reason", "", "why it failed")

	cmd.AddCommand(transfer, setSSH, registerType, registerProvider, updateProvider,
		simple("pause-provider", "Stop receiving new awards (running subscriptions go on)", wire.Msg{PauseProvider: &wire.MsgPauseProvider{}}),
		simple("resume-provider", "Receive awards again", wire.Msg{ResumeProvider: &wire.MsgResumeProvider{}}),
		simple("deregister-provider", "Stop being a provider (only with nothing pending or running)", wire.Msg{DeregisterProvider: &wire.MsgDeregisterProvider{}}),
		simple("claim-earnings", "Credit your accrued provider earnings to your balance now", wire.Msg{ClaimEarnings: &wire.MsgClaimEarnings{}}),
		subscribe, topUp, cancel, report)
	return cmd
}

// txOutput is the JSON form of a committed transaction.
type txOutput struct {
	Hash   string         `json:"hash"`
	Height int64          `json:"height"`
	Code   uint32         `json:"code"`
	Result string         `json:"result"`
	Log    string         `json:"log,omitempty"`
	Events []client.Event `json:"events"`
}

func printTxResult(cmd *cobra.Command, output string, r *client.TxResult) error {
	if output == "json" {
		evs := r.Events
		if evs == nil {
			evs = []client.Event{}
		}
		return writeJSON(cmd.OutOrStdout(), txOutput{Hash: r.Hash, Height: r.Height, Code: uint32(r.Code), Result: r.Code.String(), Log: r.Log, Events: evs})
	}
	w := cmd.OutOrStdout()
	if r.Code != wire.CodeOK {
		fmt.Fprintf(w, "rejected in block %d: tx %s\n", r.Height, r.Hash)
		return nil
	}
	fmt.Fprintf(w, "committed in block %d: tx %s\n", r.Height, r.Hash)
	for _, e := range r.Events {
		fmt.Fprintf(w, "  %s", e.Type)
		for _, k := range sortedKeys(e.Attributes) {
			if v := e.Attributes[k]; v != "" {
				fmt.Fprintf(w, " %s=%s", k, v)
			}
		}
		fmt.Fprintln(w)
	}
	return nil
}

func init() { rootCmd.AddCommand(newTxCmd()) }
