package keyring

import (
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrNotSSHKey is returned by the SSH methods of sr25519 pairs: OpenSSH has no sr25519
// keys. Such accounts register an ed25519 SSH key on chain instead.
var ErrNotSSHKey = fmt.Errorf("only ed25519 keys can be OpenSSH keys")

// SSHAuthorizedKey is the OpenSSH public key line ("ssh-ed25519 AAAA..."), without a
// trailing newline, as it appears in authorized_keys.
func (p PublicKey) SSHAuthorizedKey() (string, error) {
	if p.Scheme != Ed25519 {
		return "", ErrNotSSHKey
	}
	pub, err := ssh.NewPublicKey(ed25519.PublicKey(p.Bytes[:]))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n"), nil
}

// SSHAuthorizedKey is the pair's OpenSSH public key line.
func (p *Pair) SSHAuthorizedKey() (string, error) { return p.public.SSHAuthorizedKey() }

// SSHPrivateKeyPEM is the pair's private key as an unencrypted OpenSSH private key file
// ("-----BEGIN OPENSSH PRIVATE KEY-----"), which ssh and ssh-keygen read. Write it with mode
// 0600.
func (p *Pair) SSHPrivateKeyPEM(comment string) ([]byte, error) {
	if p.scheme != Ed25519 {
		return nil, ErrNotSSHKey
	}
	block, err := ssh.MarshalPrivateKey(p.ed, comment)
	if err != nil {
		return nil, fmt.Errorf("openssh private key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}

// ParseSSHEd25519Key parses an authorized_keys line holding an ssh-ed25519 key and returns
// its canonical form ("ssh-ed25519 BASE64", comment dropped).
func ParseSSHEd25519Key(line string) (string, error) {
	pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "", fmt.Errorf("not an OpenSSH public key: %w", err)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return "", fmt.Errorf("want exactly one OpenSSH public key")
	}
	if pub.Type() != ssh.KeyAlgoED25519 {
		return "", fmt.Errorf("want an ssh-ed25519 key, got %s", pub.Type())
	}
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n"), nil
}
