package backup

import (
	"path"
	"strings"
)

// Entries that belong to one node and never to a backup: its identity and its secrets. The
// rule is by name at any depth, so it holds for gossamer (node.key, config/ which may carry
// a key or node-key setting, keystore/), polkadot-sdk (chains/ID/keystore,
// chains/ID/network/secret_ed25519) and for keystores moved elsewhere under the base path.
var (
	excludedNames = map[string]bool{
		"keystore": true, // session keys
		"keys":     true, // any key directory
		"network":  true, // polkadot-sdk's p2p secret
		"config":   true, // gossamer's config.toml names keys and may hold a node key
		"LOCK":     true, // the open database's lock file: meaningless in a copy
	}
	excludedSuffixes = []string{".key", ".nodekey", ".suri", ".pem"}
	excludedPrefixes = []string{"secret_", "secret-"}
)

// Excluded reports whether the entry at rel (slash-separated, relative to the data
// directory) or any directory above it is left out of backups.
func Excluded(rel string) bool {
	for _, part := range strings.Split(path.Clean(rel), "/") {
		if excludedPart(part) {
			return true
		}
	}
	return false
}

func excludedPart(name string) bool {
	if excludedNames[name] {
		return true
	}
	for _, s := range excludedSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	for _, p := range excludedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
