package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/problem"
)

// storeFlags selects the descriptor store; shared by every command that reads descriptors.
type storeFlags struct{ cfg descriptor.StoreConfig }

func (f *storeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cfg.Dir, "store", descriptor.DefaultDir(), "directory of the embedded descriptor store")
	fs.StringVar(&f.cfg.KuboAPI, "ipfs-api", "", "use the IPFS node with this Kubo RPC API address instead (e.g. http://127.0.0.1:5001)")
	fs.StringVar(&f.cfg.KuboAuthFile, "ipfs-api-auth-file", "", "file holding the Authorization header value for --ipfs-api")
}

func (f *storeFlags) open() (descriptor.Store, error) { return descriptor.OpenStore(f.cfg) }

// readInput reads a file, or standard input for "-".
func readInput(cmd *cobra.Command, path string) ([]byte, error) {
	var r io.Reader = cmd.InOrStdin()
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, descriptor.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// validateFor checks data against typ, printing every problem to stderr.
func validateFor(cmd *cobra.Command, typ string, data []byte, output string) error {
	reg, err := descriptor.NewRegistry()
	if err != nil {
		return err
	}
	err = reg.Validate(typ, data)
	problems := problem.Of(err)
	if problems == nil {
		return err
	}
	if output == "json" {
		if werr := writeJSON(cmd.OutOrStdout(), map[string]any{"valid": false, "type": typ, "problems": problems}); werr != nil {
			return werr
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(cmd.ErrOrStderr(), p)
		}
	}
	return fmt.Errorf("invalid %s descriptor: %d problem(s)", typ, len(problems))
}

func newDescriptorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "descriptor",
		Short: "Store, fetch and validate deployment descriptors (JSON documents addressed by IPFS CIDs)",
		Long: `Deployment descriptors are JSON documents typed by a JSON Schema and addressed by
their IPFS CID (CIDv1, raw, sha2-256: the same CID as
` + "`ipfs add --cid-version 1 --raw-leaves`" + `). They live in the embedded store (a directory of
blocks) or, with --ipfs-api, on an IPFS node.`,
	}
	cmd.AddCommand(newDescriptorPutCmd(), newDescriptorGetCmd(), newDescriptorValidateCmd(), newDescriptorTypesCmd())
	return cmd
}

func newDescriptorPutCmd() *cobra.Command {
	var (
		store  storeFlags
		typ    string
		output string
	)
	cmd := &cobra.Command{
		Use:   "put FILE|-",
		Short: "Validate a descriptor and store it; prints its CID",
		Example: `  dinfra descriptor put --type substrate-network/v1alpha1 examples/descriptors/dev-network.json
  dinfra descriptor put --ipfs-api http://127.0.0.1:5001 --type cloud-init/v1 vm.json
  dinfra descriptor put schema.json   # no --type: stored as is (e.g. a schema for a new type)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			if typ != "" {
				if err := validateFor(cmd, typ, data, output); err != nil {
					return err
				}
			}
			s, err := store.open()
			if err != nil {
				return err
			}
			c, err := s.Put(cmd.Context(), data)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"cid": c.String(), "type": typ, "size": len(data)})
			}
			fmt.Fprintln(cmd.OutOrStdout(), c)
			return nil
		},
	}
	store.register(cmd.Flags())
	cmd.Flags().StringVarP(&typ, "type", "t", "", "descriptor type to validate against before storing (see `dinfra descriptor types`)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newDescriptorGetCmd() *cobra.Command {
	var (
		store storeFlags
		out   string
	)
	cmd := &cobra.Command{
		Use:   "get CID",
		Short: "Fetch a descriptor by CID (verified against the CID)",
		Example: `  dinfra descriptor get bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4
  dinfra descriptor get --ipfs-api http://127.0.0.1:5001 -f network.json bafkrei...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := descriptor.ParseCID(args[0])
			if err != nil {
				return err
			}
			s, err := store.open()
			if err != nil {
				return err
			}
			data, err := s.Get(cmd.Context(), c)
			if err != nil {
				return err
			}
			if out != "" {
				return os.WriteFile(out, data, 0o644)
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	store.register(cmd.Flags())
	cmd.Flags().StringVarP(&out, "file", "f", "", "write the descriptor to this file instead of standard output")
	return cmd
}

func newDescriptorValidateCmd() *cobra.Command {
	var typ, output string
	cmd := &cobra.Command{
		Use:   "validate FILE|-",
		Short: "Check a descriptor against its type's schema; lists every problem with its field path",
		Example: `  dinfra descriptor validate --type substrate-network/v1alpha1 examples/descriptors/dev-network.json
  dinfra descriptor validate -t cloud-init/v1 -o json vm.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			if err := validateFor(cmd, typ, data, output); err != nil {
				return err
			}
			c, err := descriptor.CID(data)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"valid": true, "type": typ, "cid": c.String()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "valid %s descriptor %s\n", typ, c)
			return nil
		},
	}
	cmd.Flags().StringVarP(&typ, "type", "t", "", "descriptor type (see `dinfra descriptor types`)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	_ = cmd.MarkFlagRequired("type")
	return cmd
}

func newDescriptorTypesCmd() *cobra.Command {
	var output string
	var schemaOf string
	cmd := &cobra.Command{
		Use:   "types",
		Short: "List the built-in descriptor types and the CIDs of their schemas",
		Example: `  dinfra descriptor types
  dinfra descriptor types --schema cloud-init/v1 > cloud-init.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := descriptor.NewRegistry()
			if err != nil {
				return err
			}
			if schemaOf != "" {
				t, ok := reg.Lookup(schemaOf)
				if !ok {
					return fmt.Errorf("%w %q", descriptor.ErrUnknownType, schemaOf)
				}
				_, err := cmd.OutOrStdout().Write(t.Schema)
				return err
			}
			type row struct {
				Name      string `json:"name"`
				SchemaCID string `json:"schemaCid"`
			}
			var rows []row
			for _, t := range reg.Types() {
				rows = append(rows, row{t.Name, t.SchemaCID.String()})
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			for _, r := range rows {
				fmt.Fprintf(cmd.OutOrStdout(), "%-28s %s\n", r.Name, r.SchemaCID)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&schemaOf, "schema", "", "print the schema document of this type instead")
	return cmd
}

func init() { rootCmd.AddCommand(newDescriptorCmd()) }
