package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/chainspec"
)

func init() { rootCmd.AddCommand(newChainSpecCmd()) }

// newChainSpecCmd holds the init steps that put a node's chain spec or runtime override in
// place in cluster pods (see internal/kube/chains.go): the same checks as `onf up` applies
// locally, plus the spec's checksum.
func newChainSpecCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chainspec",
		Short: "The chain spec and runtime steps the operator runs in cluster pods",
		Long: `chainspec holds the init steps of node pods that download spec.chain.url (or a
group's runtimeOverride) or join a large chain spec that onf render split across ConfigMaps.
Each refuses a file whose sha256 is not the one in the spec, so the node does not start on a
changed or tampered file. The operator renders them; run them by hand only to debug a pod or
to check a file before putting its checksum in a spec. See docs/spec-reference.md.`,
	}
	var url, sum, out string
	var runtime bool
	fetch := &cobra.Command{
		Use:   "fetch --url URL --sha256 SUM --out FILE [--runtime]",
		Short: "Download a chain spec (or with --runtime a WASM runtime) and check its sha256",
		Long: `fetch downloads URL with onf's limits (64 MiB, 30 s, no redirects), refuses it unless its
sha256 is SUM and, for a chain spec, unless it is one (a JSON object with name, id and
genesis), and only then writes FILE.`,
		Example: `  onf chainspec fetch --url https://example.org/westend.json --sha256 6f1e... --out /onf/chains/chain-0/chain-spec.json
  onf chainspec fetch --runtime --url https://example.org/runtime.compact.compressed.wasm --sha256 9a0b... --out /onf/runtime/runtime.wasm`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			get := chainspec.Fetch
			if runtime {
				get = chainspec.FetchFile
			}
			data, err := get(c.Context(), url, chainspec.Options{SHA256: sum})
			if err != nil {
				return err
			}
			return place(c, out, data)
		},
	}
	fetch.Flags().StringVar(&url, "url", "", "http(s) URL of the file")
	fetch.Flags().StringVar(&sum, "sha256", "", "the file's sha256 (hex)")
	fetch.Flags().StringVar(&out, "out", "", "where to write the checked file")
	fetch.Flags().BoolVar(&runtime, "runtime", false, "the file is a WASM runtime, checked by its sha256 alone")
	for _, f := range []string{"url", "sha256", "out"} {
		fetch.MarkFlagRequired(f)
	}

	join := &cobra.Command{
		Use:   "join --sha256 SUM --out FILE PART...",
		Short: "Join, decompress and check a chain spec that onf render split across ConfigMaps",
		Long: `join concatenates the PART files in order (gzip data, as onf render stores a chain spec
over the 1 MiB ConfigMap limit), decompresses them with onf's 64 MiB cap, refuses the result
unless it is a chain spec whose sha256 is SUM, and only then writes FILE.`,
		Example: `  onf chainspec join --sha256 6f1e... --out /onf/chains/chain-0/chain-spec.json /onf/parts/0/part /onf/parts/1/part`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, parts []string) error {
			var readers []io.Reader
			for _, p := range parts {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				readers = append(readers, f)
			}
			data, err := chainspec.Unpack(readers, chainspec.Options{SHA256: sum})
			if err != nil {
				return err
			}
			return place(c, out, data)
		},
	}
	join.Flags().StringVar(&sum, "sha256", "", "the chain spec's sha256 (hex), uncompressed")
	join.Flags().StringVar(&out, "out", "", "where to write the checked chain spec")
	for _, f := range []string{"sha256", "out"} {
		join.MarkFlagRequired(f)
	}
	cmd.AddCommand(fetch, join)
	return cmd
}

// place writes a checked file for the node (which runs as another user of the pod's group).
func place(c *cobra.Command, out string, data []byte) error {
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "%s: %d bytes, sha256 %s\n", out, len(data), chainspec.SHA256(data))
	return nil
}
