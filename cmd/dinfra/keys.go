package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/keyring"
)

// keyFlags select a key without putting a secret on the command line.
type keyFlags struct {
	scheme string
	// from is a development account name (alice..ferdie), a URI derived from the public
	// development phrase ("//Alice//stash"), or a file holding a secret URI or mnemonic.
	from string
}

func (f *keyFlags) register(cmd *cobra.Command, fromUsage string) {
	cmd.Flags().StringVar(&f.scheme, "scheme", "sr25519", "key scheme: sr25519 or ed25519")
	cmd.Flags().StringVar(&f.from, "from", "", fromUsage)
}

const fromHelp = "the signing key: a dev account (alice, bob, charlie, dave, eve, ferdie), a dev URI such as //Alice//stash, or a file (0600) holding a secret URI or mnemonic (- for stdin)"

func (f *keyFlags) pair(cmd *cobra.Command) (*keyring.Pair, error) {
	scheme, err := keyring.ParseScheme(f.scheme)
	if err != nil {
		return nil, fmt.Errorf("--scheme: %w", err)
	}
	if f.from == "" {
		return nil, errors.New("--from is required")
	}
	return loadPair(cmd, scheme, f.from)
}

// loadPair resolves a dev name, a dev-phrase URI or a secret file.
func loadPair(cmd *cobra.Command, scheme keyring.Scheme, from string) (*keyring.Pair, error) {
	for _, n := range keyring.DevAccounts {
		if strings.EqualFold(n, from) {
			return keyring.Dev(scheme, n)
		}
	}
	if strings.HasPrefix(from, "/") && !fileExists(from) {
		// Derived from the public development phrase: nothing secret on the command line.
		return keyring.FromURI(scheme, from)
	}
	suri, err := readSecretFile(cmd, from)
	if err != nil {
		return nil, err
	}
	return keyring.FromURI(scheme, suri)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readSecretFile reads a secret URI or mnemonic from a file or stdin ("-"), refusing a
// file that others may read (as ssh refuses such a key).
func readSecretFile(cmd *cobra.Command, path string) (string, error) {
	var r io.Reader = cmd.InOrStdin()
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("key file: %w", err)
		}
		defer f.Close()
		if err := privateMode(f, path); err != nil {
			return "", err
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", fmt.Errorf("key file %s: %w", path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("key file %s is empty", path)
	}
	return s, nil
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Show and generate Substrate account keys (sr25519, ed25519) and their SSH form",
		Example: `  dinfra keys inspect //Alice --scheme ed25519
  dinfra keys generate --out my.mnemonic`,
	}
	cmd.AddCommand(newKeysInspectCmd(), newKeysGenerateCmd())
	return cmd
}

// keyInfo is what `keys inspect` prints.
type keyInfo struct {
	Scheme        string `json:"scheme"`
	PublicKey     string `json:"public_key"`
	AccountID     string `json:"account_id"`
	SS58Address   string `json:"ss58_address"`
	SS58Prefix    uint16 `json:"ss58_prefix"`
	SSHPublicKey  string `json:"ssh_public_key,omitempty"`
	SSHPrivateKey string `json:"ssh_private_key,omitempty"`
}

func newKeysInspectCmd() *cobra.Command {
	var (
		scheme, suriFile, mnemonicFile, sshOut, output, comment string
		showPrivate                                             bool
		prefix                                                  uint16
	)
	cmd := &cobra.Command{
		Use:   "inspect [DEV-URI]",
		Short: "Show the public key, SS58 address and (ed25519) OpenSSH keys of a secret URI or mnemonic",
		Long: `Show the public key, SS58 address and, for ed25519 keys, the OpenSSH public key of a key,
derived exactly as subkey and polkadot-js derive it.

The key is a development URI given as an argument (derived from the public dev phrase, so
nothing secret: //Alice, //Bob//stash, /Alice), or a secret read from a file or stdin:
--suri-file holds PHRASE[//hard][/soft][///password] or 0xSEED[...], --mnemonic-file a
BIP39 phrase. Secrets are never accepted as arguments (they would show in process lists).

sr25519 keys cannot be SSH keys; such accounts register an ed25519 SSH key on chain with
'dinfra tx set-ssh-key'.`,
		Example: `  dinfra keys inspect //Alice --scheme ed25519
  dinfra keys inspect --scheme ed25519 --mnemonic-file ~/.dinfra/mnemonic --ssh-private-key-out ~/.ssh/dinfra_ed25519
  echo "$PHRASE//hard/soft" | dinfra keys inspect --suri-file - -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sch, err := keyring.ParseScheme(scheme)
			if err != nil {
				return fmt.Errorf("--scheme: %w", err)
			}
			sources := 0
			for _, s := range []bool{len(args) == 1, suriFile != "", mnemonicFile != ""} {
				if s {
					sources++
				}
			}
			if sources != 1 {
				return errors.New("give exactly one of DEV-URI, --suri-file or --mnemonic-file")
			}
			var suri string
			switch {
			case len(args) == 1:
				if !strings.HasPrefix(args[0], "/") {
					return errors.New("only development URIs (//Alice, /Alice//x) may be arguments; read secret URIs and mnemonics from --suri-file or --mnemonic-file (- for stdin)")
				}
				suri = args[0]
			case suriFile != "":
				if suri, err = readSecretFile(cmd, suriFile); err != nil {
					return err
				}
			default:
				phrase, err := readSecretFile(cmd, mnemonicFile)
				if err != nil {
					return err
				}
				if strings.ContainsRune(phrase, '/') {
					return errors.New("--mnemonic-file must hold only the phrase; use --suri-file for derivation paths")
				}
				if _, err := keyring.MnemonicToEntropy(phrase); err != nil {
					return err
				}
				suri = phrase
			}
			p, err := keyring.FromURI(sch, suri)
			if err != nil {
				return err
			}
			info := keyInfo{Scheme: string(sch), PublicKey: p.Public().Hex(), AccountID: p.Public().Hex(),
				SS58Address: p.Address(prefix), SS58Prefix: prefix}
			if sch == keyring.Ed25519 {
				info.SSHPublicKey, _ = p.SSHAuthorizedKey()
				pemBytes, err := p.SSHPrivateKeyPEM(comment)
				if err != nil {
					return err
				}
				if sshOut != "" {
					if err := writePrivateFile(sshOut, pemBytes); err != nil {
						return err
					}
					if err := os.WriteFile(sshOut+".pub", []byte(info.SSHPublicKey+" "+comment+"\n"), 0o644); err != nil {
						return err
					}
				}
				if showPrivate {
					info.SSHPrivateKey = string(pemBytes)
				}
			} else if sshOut != "" || showPrivate {
				return fmt.Errorf("%w: sr25519 accounts register an ed25519 SSH key with 'dinfra tx set-ssh-key'", keyring.ErrNotSSHKey)
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), info)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Scheme:           %s\nPublic key (hex): %s\nAccount ID:       %s\nSS58 address:     %s\n",
				info.Scheme, info.PublicKey, info.AccountID, info.SS58Address)
			if info.SSHPublicKey != "" {
				fmt.Fprintf(w, "SSH public key:   %s\n", info.SSHPublicKey)
			}
			if sshOut != "" {
				fmt.Fprintf(w, "SSH private key:  written to %s (0600), public key to %s.pub\n", sshOut, sshOut)
			}
			if info.SSHPrivateKey != "" {
				fmt.Fprint(w, info.SSHPrivateKey)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&scheme, "scheme", "sr25519", "key scheme: sr25519 or ed25519")
	cmd.Flags().StringVar(&suriFile, "suri-file", "", "file holding a secret URI (- for stdin)")
	cmd.Flags().StringVar(&mnemonicFile, "mnemonic-file", "", "file holding a BIP39 mnemonic (- for stdin)")
	cmd.Flags().StringVar(&sshOut, "ssh-private-key-out", "", "ed25519: write the OpenSSH private key to this file (0600) and the public key to FILE.pub")
	cmd.Flags().BoolVar(&showPrivate, "show-private", false, "ed25519: also print the OpenSSH private key")
	cmd.Flags().StringVar(&comment, "comment", "dinfra", "comment of the OpenSSH keys")
	cmd.Flags().Uint16Var(&prefix, "ss58-prefix", keyring.SubstratePrefix, "SS58 address prefix")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func writePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newKeysGenerateCmd() *cobra.Command {
	var (
		out, output string
		words       int
	)
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a new BIP39 mnemonic into a file (0600) and show its accounts",
		Example: `  dinfra keys generate --out ~/.dinfra/mnemonic
  dinfra keys inspect --scheme ed25519 --mnemonic-file ~/.dinfra/mnemonic`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required: the mnemonic is written to a file, never printed")
			}
			phrase, err := keyring.GenerateMnemonic(words)
			if err != nil {
				return err
			}
			if err := writePrivateFile(out, []byte(phrase+"\n")); err != nil {
				return err
			}
			res := map[string]string{"mnemonic_file": out}
			for _, s := range []keyring.Scheme{keyring.Sr25519, keyring.Ed25519} {
				p, err := keyring.FromURI(s, phrase)
				if err != nil {
					return err
				}
				res[string(s)] = p.Address(keyring.SubstratePrefix)
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Mnemonic written to %s (0600)\nsr25519 address:  %s\ned25519 address:  %s\n", out, res["sr25519"], res["ed25519"])
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the mnemonic to (must not exist)")
	cmd.Flags().IntVar(&words, "words", 24, "mnemonic length: 12, 15, 18, 21 or 24 words")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func init() { rootCmd.AddCommand(newKeysCmd()) }
