package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/templates"
)

func init() { rootCmd.AddCommand(newInitCmd()) }

func newInitCmd() *cobra.Command {
	var name, tmpl, target, out string
	var list bool
	c := &cobra.Command{
		Use:   "init --template NAME [--name NET] [--target local|kubernetes] [-o FILE]",
		Short: "Write a ready network spec from a template (boot, api, simulation, ...)",
		Long: `init writes a ready SubstrateNetwork spec for one deployment mode, with comments explaining
each choice (docs/templates.md). --list shows the templates.

--target local (the default) writes a spec 'onf up' runs on this machine: gossamer on its
Westend dev chain wherever gossamer can run the template (parachain needs the polkadot and
polkadot-parachain binaries). --target kubernetes writes one for the operator and 'onf render',
on polkadot-sdk images. The spec is checked like 'onf validate' before it is written.

Without -o the spec goes to standard output. An existing file is never overwritten. The api
template's local spec names a gateway config: init writes it and an API key file beside the
spec (NET-gateway.yaml, NET-gateway-keys.yaml) and shows the one key it made once, on
standard error.`,
		Example: `  onf init --list
  onf init --template simulation -o sim.yaml && onf up -f sim.yaml
  onf simulate simulation --transfers-per-block 5 --blocks 10
  onf init --template api --name rpc -o rpc.yaml      # also writes rpc-gateway.yaml and its key file
  onf init --template boot --target kubernetes --name boot | onf render -f - -n chains`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if list {
				return listTemplates(c)
			}
			if tmpl == "" {
				return errors.New("--template: required (onf init --list shows them)")
			}
			t := templates.Target(target)
			if t != templates.Local && t != templates.Kubernetes {
				return fmt.Errorf("--target %q: want local or kubernetes", target)
			}
			if name == "" {
				name = tmpl
			}
			return writeTemplate(c, tmpl, templates.Options{Name: name, Target: t}, out)
		},
	}
	c.Flags().StringVar(&tmpl, "template", "", "the template: "+fmt.Sprint(templates.Names))
	c.Flags().StringVar(&name, "name", "", "the network's name, metadata.name (default: the template's name)")
	c.Flags().StringVar(&target, "target", string(templates.Local), "local (onf up, gossamer) or kubernetes (operator, polkadot-sdk images)")
	c.Flags().StringVarP(&out, "output", "o", "", "file to write (default: standard output)")
	c.Flags().BoolVar(&list, "list", false, "list the templates, one line each")
	return c
}

func listTemplates(c *cobra.Command) error {
	w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	for _, n := range templates.Names {
		d, err := templates.Describe(n)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\n", n, d)
	}
	return w.Flush()
}

// writeTemplate renders, checks and writes a template's spec (and the api template's gateway
// files). Nothing is written unless everything renders and validates.
func writeTemplate(c *cobra.Command, tmpl string, o templates.Options, out string) error {
	var gwFile, keysFile string
	if templates.NeedsGateway(tmpl, o.Target) {
		dir, err := filepath.Abs(filepath.Dir(cmp.Or(out, "-")))
		if err != nil {
			return err
		}
		gwFile = filepath.Join(dir, o.Name+"-gateway.yaml")
		keysFile = filepath.Join(dir, o.Name+"-gateway-keys.yaml")
		o.GatewayConfig, o.KeysFile = gwFile, keysFile
	}
	spec, err := templates.Render(tmpl, o)
	if err != nil {
		return err
	}
	if _, err := network.Parse(spec); err != nil {
		return fmt.Errorf("template %s: %w", tmpl, err)
	}
	for _, f := range []string{out, gwFile, keysFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err == nil {
			return fmt.Errorf("%s exists: init never overwrites a file", f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if gwFile != "" {
		if err := writeGateway(c, o, gwFile, keysFile); err != nil {
			return err
		}
	}
	if out == "" {
		_, err := c.OutOrStdout().Write(spec)
		return err
	}
	if err := os.WriteFile(out, spec, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.ErrOrStderr(), "wrote %s (template %s, network %s)\n", out, tmpl, o.Name)
	return nil
}

// writeGateway writes the gateway config and an API key file with one new key, shown once.
func writeGateway(c *cobra.Command, o templates.Options, gwFile, keysFile string) error {
	cfg, err := templates.GatewayConfig(o)
	if err != nil {
		return err
	}
	key, err := auth.NewKey()
	if err != nil {
		return err
	}
	keys, err := yaml.Marshal(auth.KeyFile{Keys: []auth.KeyEntry{{ID: "admin", SHA256: auth.HashKey(key)}}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(keysFile, keys, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(gwFile, cfg, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.ErrOrStderr(), "wrote %s and %s; API key \"admin\" (shown once): %s\n", gwFile, keysFile, key)
	return nil
}
