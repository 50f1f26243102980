package ha

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dinfra/stack/internal/keyring"
)

// KeyType is one session key of the identity: a four-letter key type id (babe, gran, aura,
// beef) and its scheme.
type KeyType struct {
	ID     string
	Scheme keyring.Scheme
}

// Keystore is a polkadot-sdk node's role: its file keystore (the --keystore-path of its
// authority command line). Promotion writes the identity's keys there, fencing and every
// standby start empty it. The standby command line has no --validator or --collator and no
// --keystore-path, so even a key left behind would not be used.
//
// The format is sc-keystore's LocalKeystore (polkadot-sdk substrate/client/keystore/src/
// local.rs: key_file_path, write_to_file): one file per key, named hex(key type id) ++
// hex(raw public key), holding the secret URI as a JSON string, mode 0600. The node derives
// the pair from that URI when it loads the key and checks it against the file name.
type Keystore struct {
	Dir   string
	Types []KeyType
	// Secret reads the identity's secret URI (its 0600 file or mounted Secret) at each
	// promotion; it never travels over RPC.
	Secret func() (string, error)
}

func (k Keystore) Prepare(authority bool) error {
	if !authority {
		return k.Fence()
	}
	suri, err := k.Secret()
	if err != nil {
		return fmt.Errorf("keystore: the identity's secret URI: %w", err)
	}
	suri = strings.TrimSpace(suri) // as key insert reads a --suri file
	// Every name first: a key the URI cannot give (an ecdsa key under a soft junction) leaves
	// the keystore empty rather than half-filled.
	var names []string
	for _, t := range k.Types {
		name, err := KeyFileName(t, suri)
		if err != nil {
			return err
		}
		names = append(names, name)
	}
	if err := os.MkdirAll(k.Dir, 0o700); err != nil {
		return err
	}
	content, err := json.Marshal(suri)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := writeSecret(filepath.Join(k.Dir, name), content); err != nil {
			return err
		}
	}
	return nil
}

// Fence empties the keystore directory (it may be a mount point, so it stays).
func (k Keystore) Fence() error {
	entries, err := os.ReadDir(k.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if rerr := os.RemoveAll(filepath.Join(k.Dir, e.Name())); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// KeyFileName is the keystore file of one key of a secret URI: hex(type id) ++ hex(public),
// the raw public key of its scheme (33 bytes for ecdsa, BEEFY's; 32 for the others).
func KeyFileName(t KeyType, suri string) (string, error) {
	if len(t.ID) != 4 {
		return "", fmt.Errorf("key type %q: want four characters", t.ID)
	}
	pair, err := keyring.FromURI(t.Scheme, suri)
	if err != nil {
		return "", fmt.Errorf("%s key: %w", t.ID, err) // never the URI itself
	}
	return hex.EncodeToString([]byte(t.ID)) + hex.EncodeToString(pair.Public().Raw()), nil
}

// writeSecret replaces a file atomically, created 0600 so no other user can read it even
// for an instant.
func writeSecret(file string, data []byte) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
