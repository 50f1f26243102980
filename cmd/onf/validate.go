package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/problem"
)

func init() { rootCmd.AddCommand(newValidateCmd()) }

func newValidateCmd() *cobra.Command {
	var file, output string
	c := &cobra.Command{
		Use:   "validate -f SPEC",
		Short: "Check a network spec and report every problem in it at once",
		Long: `validate checks a SubstrateNetwork spec exactly as 'onf up' and the operator do, without
starting anything: first its structure against the JSON Schema (docs/schema/
substratenetwork.schema.json: unknown fields, types, enums, patterns, bounds), then, if the
structure is right, the semantic rules (unique names, key sources, roles that fit the node
flavor, parachains and their relay chain, extra arguments, limits, ...). A document over
1 MiB is refused unread. See docs/spec-reference.md.

Every problem is printed on its own line as FIELD: REASON, where FIELD is a path such as
spec.groups[1].replicas. With -o json the output is the list of problems as
[{"field": ..., "reason": ...}], empty for a valid spec. The exit status is 0 for a valid
spec and 1 for any problem or error. SPEC "-" reads standard input.`,
		Example: `  onf validate -f examples/dev-network.yaml
  onf validate -f spec.yaml -o json | jq -r '.[].field'
  kubectl get snet dev -o yaml | onf validate -f -`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runValidate(c, file, output)
		},
	}
	addSpecFlag(c, &file, true)
	c.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return c
}

// runValidate parses the spec and prints its problems; it fails when there are any.
func runValidate(c *cobra.Command, file, output string) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("--output %q: want text or json", output)
	}
	// An oversized document is a problem like any other; a missing file is an error.
	data, err := readSpec(c.InOrStdin(), file)
	var n *v1alpha1.SubstrateNetwork
	if err == nil {
		n, err = network.Parse(data)
	}
	problems := problem.Of(err)
	if err != nil && problems == nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	out := c.OutOrStdout()
	if output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // reasons such as "must be >= 0" stay readable
		if err := enc.Encode(append(problem.List{}, problems...)); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(out, p)
		}
	}
	switch {
	case len(problems) == 1:
		return fmt.Errorf("%s: 1 problem", file)
	case len(problems) > 1:
		return fmt.Errorf("%s: %d problems", file, len(problems))
	}
	if output == "text" {
		fmt.Fprintf(out, "%s: valid: network %s, %d nodes in %d groups\n", file, n.Name, len(network.Nodes(n)), len(n.Spec.Groups))
	}
	return nil
}

// readSpec reads a spec file, or standard input for "-", up to network.MaxSpecBytes.
func readSpec(stdin io.Reader, file string) ([]byte, error) {
	if file == "-" {
		return network.Read(stdin)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read network spec: %w", err)
	}
	defer f.Close()
	return network.Read(f)
}
