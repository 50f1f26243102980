// Package keyringtest gives tests the SSH keys derived from dev accounts (//Alice, ...),
// as consumers of rented machines log in with them.
package keyringtest

import (
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/dinfra/stack/internal/keyring"
)

func account(t testing.TB, name string) *keyring.Pair {
	t.Helper()
	p, err := keyring.Dev(keyring.Ed25519, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// SSHKey is the authorized_keys line of the ed25519 dev account name ("alice": //Alice).
func SSHKey(t testing.TB, name string) string {
	t.Helper()
	k, err := account(t, name).SSHAuthorizedKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Signer signs with the SSH key of the ed25519 dev account name.
func Signer(t testing.TB, name string) ssh.Signer {
	t.Helper()
	pemBytes, err := account(t, name).SSHPrivateKeyPEM("")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
