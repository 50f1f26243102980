package sessionkeys

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dinfra/stack/api/v1alpha1"
)

// registeredFile records, public keys only, the keys the chain has registered for the node's
// validator and the node holds: what a pod's annotation records in a cluster.
const registeredFile = "registered.json"

// Record keeps the keys `onf keys` found registered on chain for the node's validator and held
// by the node (a check's match), for the console of a local network as status.nodes[].sessionKeys
// is for a cluster; nil forgets them (a mismatch). A polkadot-sdk node shares the directory as
// its --keystore-path and skips the file, as it skips pending.json: its name is not hex.
func (k Keystore) Record(r *v1alpha1.RegisteredKeys) error {
	file := filepath.Join(string(k), registeredFile)
	if r == nil {
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(string(k), 0o700); err != nil {
		return err
	}
	return writeFile(file, data)
}

// Registered is what Record last kept, nil when nothing is.
func (k Keystore) Registered() (*v1alpha1.RegisteredKeys, error) {
	data, err := os.ReadFile(filepath.Join(string(k), registeredFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r v1alpha1.RegisteredKeys
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", registeredFile, err)
	}
	return &r, nil
}
