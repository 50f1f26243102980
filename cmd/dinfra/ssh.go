package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
)

func newSSHCmd() *cobra.Command {
	var (
		nf           nodeFlags
		from, scheme string
		identity     string
		user         string
	)
	cmd := &cobra.Command{
		Use:   "ssh SUBSCRIPTION [COMMAND...]",
		Short: "Log into a rented machine (cloud-init/v1) with your account's SSH key",
		Long: `Looks up the subscription's ssh:// endpoint on chain and logs into the machine as the
user "dinfra" with the SSH key of your account: the ed25519 key of --from, derived in
memory (never written anywhere), or the OpenSSH private key file --identity (mode 0600:
a key file others can read is refused, as ssh refuses it).

The machine must present the host key whose fingerprint its provider reported with the
endpoint on chain; any other host key is refused (no trust on first use, nothing written
to known_hosts). With COMMAND it runs the command and exits with its status; without, it
opens a shell.`,
		Example: `  dinfra ssh 7 --from alice --scheme ed25519 -- uname -a
  dinfra ssh 7 --from ~/.dinfra/consumer.suri --scheme ed25519
  dinfra ssh 7 --identity ~/.ssh/dinfra_ed25519 -- sudo apt-get install -y git`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("SUBSCRIPTION: %q is not a number", args[0])
			}
			signer, err := sshSigner(cmd, from, scheme, identity)
			if err != nil {
				return err
			}
			cl, err := nf.client()
			if err != nil {
				return err
			}
			ctx, cancel := nf.ctx(cmd)
			sub, err := cl.Subscription(ctx, id)
			cancel()
			if err != nil {
				return err
			}
			var endpoint string
			for _, e := range sub.Endpoints {
				if strings.HasPrefix(e, "ssh://") {
					endpoint = e
				}
			}
			if endpoint == "" {
				return fmt.Errorf("subscription %d (%s) has no ssh:// endpoint on chain (is it a cloud-init/v1 machine, and deployed yet?)", id, sub.State)
			}
			addr, want, err := cloudinit.ParseEndpoint(endpoint)
			if err != nil {
				return err
			}
			cfg := &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, Timeout: nf.timeout,
				HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
				HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
					if got := ssh.FingerprintSHA256(k); got != want {
						return fmt.Errorf("host key mismatch: the machine presents %s, subscription %d's endpoint on chain says %s", got, id, want)
					}
					return nil
				}}
			conn, err := ssh.Dial("tcp", addr, cfg)
			if err != nil {
				return fmt.Errorf("ssh %s: %w", addr, err)
			}
			defer conn.Close()
			return runSession(cmd, conn, args[1:])
		},
	}
	nf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", fromHelp+"; its ed25519 key is the SSH key")
	fl.StringVar(&scheme, "scheme", "ed25519", "key scheme of --from: only ed25519 accounts are SSH keys (sr25519 accounts set one with 'dinfra tx set-ssh-key' and use --identity)")
	fl.StringVar(&identity, "identity", "", "OpenSSH private key file (0600) instead of --from")
	fl.StringVar(&user, "user", cloudinit.DefaultUser, "user to log in as")
	return cmd
}

// sshSigner is the key of --from (derived in memory) or of --identity.
func sshSigner(cmd *cobra.Command, from, scheme, identity string) (ssh.Signer, error) {
	switch {
	case (from == "") == (identity == ""):
		return nil, errors.New("give exactly one of --from or --identity")
	case identity != "":
		data, err := readPrivateFile(identity)
		if err != nil {
			return nil, err
		}
		s, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("--identity %s: %w", identity, err)
		}
		return s, nil
	}
	sch, err := keyring.ParseScheme(scheme)
	if err != nil {
		return nil, fmt.Errorf("--scheme: %w", err)
	}
	pair, err := loadPair(cmd, sch, from)
	if err != nil {
		return nil, err
	}
	pemBytes, err := pair.SSHPrivateKeyPEM("")
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	return ssh.ParsePrivateKey(pemBytes)
}

// runSession runs args (or a shell) on conn with the command's standard streams and
// returns the remote exit status as an exitError.
func runSession(cmd *cobra.Command, conn *ssh.Client, args []string) error {
	sess, err := conn.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if len(args) > 0 {
		err = sess.Run(shellJoin(args))
	} else {
		err = shell(sess)
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.ExitStatus()}
	}
	return err
}

// shell opens an interactive shell, with a terminal when stdin is one.
func shell(sess *ssh.Session) error {
	fd := int(os.Stdin.Fd())
	if term.IsTerminal(fd) {
		w, h, err := term.GetSize(fd)
		if err != nil {
			w, h = 80, 24
		}
		if err := sess.RequestPty(os.Getenv("TERM"), h, w, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
			return err
		}
		old, err := term.MakeRaw(fd)
		if err != nil {
			return err
		}
		defer term.Restore(fd, old) //nolint:errcheck // best effort on the way out
	}
	if err := sess.Shell(); err != nil {
		return err
	}
	return sess.Wait()
}

// shellJoin quotes args into one command line for the remote shell, as ssh does not:
// `dinfra ssh 7 -- echo "a b"` runs echo with one argument.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// exitError carries a remote command's exit status out of the command.
type exitError struct{ code int }

func (e *exitError) Error() string {
	return fmt.Sprintf("remote command exited with status %d", e.code)
}

// readPrivateFile reads a private key file, refusing one that others may read (as ssh does).
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	if err := privateMode(f, path); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, 64<<10))
}

// privateMode refuses a key file readable or writable by group or others.
func privateMode(f *os.File, path string) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("key file %s has mode %04o: others may read it, so it is refused; chmod 600 %s", path, perm, path)
	}
	return nil
}

func init() { rootCmd.AddCommand(newSSHCmd()) }
