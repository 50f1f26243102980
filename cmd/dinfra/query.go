package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/ledger/wire"
)

func newQueryCmd() *cobra.Command {
	var nf nodeFlags
	cmd := &cobra.Command{
		Use:     "query",
		Aliases: []string{"q"},
		Short:   "Read the DINFRA ledger: accounts, providers, types, subscriptions",
		Long:    "Query the ledger's last committed state through a node (--node). Add -o json for machine-readable output.",
		Example: `  dinfra query subscription 1
  dinfra query providers -o json`,
	}
	nf.register(cmd)

	// run calls fetch with a client and prints its answer.
	run := func(fetch func(cl *client.Client, c *cobra.Command, args []string) (any, error)) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			cl, err := nf.client()
			if err != nil {
				return err
			}
			ctx, cancel := nf.ctx(c)
			defer cancel()
			c.SetContext(ctx)
			v, err := fetch(cl, c, args)
			if err != nil {
				return err
			}
			if nf.output == "json" {
				return writeJSON(c.OutOrStdout(), v)
			}
			return printText(c.OutOrStdout(), v)
		}
	}

	account := &cobra.Command{Use: "account ADDRESS", Short: "An account's balance, nonce and SSH key", Args: cobra.ExactArgs(1),
		Example: "  dinfra query account 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
		RunE: run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) {
			return cl.Account(c.Context(), a[0])
		})}
	provider := &cobra.Command{Use: "provider ADDRESS", Short: "A provider", Args: cobra.ExactArgs(1),
		Example: "  dinfra query provider 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty -o json",
		RunE: run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) {
			return cl.Provider(c.Context(), a[0])
		})}
	providers := &cobra.Command{Use: "providers", Short: "Every provider", Args: cobra.NoArgs, Example: "  dinfra query providers",
		RunE: run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) { return cl.Providers(c.Context()) })}
	typ := &cobra.Command{Use: "type NAME/VERSION", Short: "A descriptor type", Args: cobra.ExactArgs(1),
		Example: "  dinfra query type substrate-network/v1alpha1",
		RunE:    run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) { return cl.Type(c.Context(), a[0]) })}
	types := &cobra.Command{Use: "types", Short: "Every descriptor type", Args: cobra.NoArgs, Example: "  dinfra query types",
		RunE: run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) { return cl.Types(c.Context()) })}
	sub := &cobra.Command{Use: "subscription ID", Short: "A subscription, with what is left of its deposit", Args: cobra.ExactArgs(1),
		Example: "  dinfra query subscription 7",
		RunE: run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) {
			id, err := strconv.ParseUint(a[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("ID: %q is not a number", a[0])
			}
			return cl.Subscription(c.Context(), id)
		})}
	var consumer, prov string
	var active, live bool
	subs := &cobra.Command{Use: "subscriptions", Short: "Subscriptions by consumer, by provider, or the active set", Args: cobra.NoArgs,
		Example: `  dinfra query subscriptions --consumer 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
  dinfra query subscriptions --provider 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --live
  dinfra query subscriptions --active -o json`,
		RunE: run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) {
			n := 0
			for _, set := range []bool{consumer != "", prov != "", active} {
				if set {
					n++
				}
			}
			if n != 1 {
				return nil, errors.New("give exactly one of --consumer, --provider or --active")
			}
			if live && prov == "" {
				return nil, errors.New("--live goes with --provider")
			}
			var out []wire.SubscriptionView
			var err error
			switch {
			case consumer != "":
				out, err = cl.SubscriptionsByConsumer(c.Context(), consumer)
			case prov != "":
				out, _, err = cl.SubscriptionsByProvider(c.Context(), prov, live)
			default:
				out, _, err = cl.ActiveSubscriptions(c.Context())
			}
			if out == nil {
				out = []wire.SubscriptionView{}
			}
			return out, err
		})}
	subs.Flags().StringVar(&consumer, "consumer", "", "the consumer's subscriptions, ended ones included")
	subs.Flags().StringVar(&prov, "provider", "", "the subscriptions awarded to a provider")
	subs.Flags().BoolVar(&live, "live", false, "with --provider: only pending and active ones")
	subs.Flags().BoolVar(&active, "active", false, "every pending and active subscription")
	params := &cobra.Command{Use: "params", Short: "The chain's rules", Args: cobra.NoArgs, Example: "  dinfra query params",
		RunE: run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) { return cl.Params(c.Context()) })}
	status := &cobra.Command{Use: "status", Short: "Height, app hash, issuance and subscription counts", Args: cobra.NoArgs,
		Example: "  dinfra query status",
		RunE:    run(func(cl *client.Client, c *cobra.Command, a []string) (any, error) { return cl.Status(c.Context()) })}
	cmd.AddCommand(account, provider, providers, typ, types, sub, subs, params, status)
	return cmd
}

// printText prints a subscription list as a table and anything else as key: value lines.
func printText(w io.Writer, v any) error {
	if subs, ok := v.([]wire.SubscriptionView); ok {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tCONSUMER\tPROVIDER\tTYPE\tUNITS\tPRICE/BLOCK\tREMAINING\tEXPIRES\tREASON")
		for _, s := range subs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\n", s.ID, s.State, s.Consumer, s.Provider, s.DescriptorType,
				s.Units, s.PricePerBlock, s.Remaining, s.ExpiresAt, s.EndReason)
		}
		return tw.Flush()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// UseNumber keeps amounts and heights as written: float64 would print 1000067 as 1.000067e+06.
	var generic any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return err
	}
	switch g := generic.(type) {
	case []any:
		for i, item := range g {
			if i > 0 {
				fmt.Fprintln(w)
			}
			printFields(w, item)
		}
	default:
		printFields(w, g)
	}
	return nil
}

func printFields(w io.Writer, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		fmt.Fprintln(w, v)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, k := range sortedKeys(m) {
		val := m[k]
		if list, ok := val.([]any); ok {
			b, _ := json.Marshal(list)
			val = string(b)
		}
		fmt.Fprintf(tw, "%s:\t%v\n", k, val)
	}
	tw.Flush()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func init() { rootCmd.AddCommand(newQueryCmd()) }
