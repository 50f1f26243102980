package ha

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/dinfra/stack/internal/flavor"
)

// GossamerStandbyKey is a gossamer dev key other than the identity's (its secret URI, such
// as //Alice): the last one of gossamer's list that the identity does not use.
func GossamerStandbyKey(identityURI string) string {
	identity := flavor.DevKeyName(identityURI)
	for i := len(flavor.GossamerDevKeys) - 1; ; i-- {
		if k := flavor.GossamerDevKeys[i]; k != identity {
			return k
		}
	}
}

// gossamerSettings are the lines of gossamer's saved config that must follow the role.
var gossamerSettings = regexp.MustCompile(`(?m)^(key|babe-authority|grandpa-authority) = .*$`)

// GossamerRole rewrites what gossamer v0.9.0 saved of its last run in
// <base>/config/config.toml: it reads that file before its flags, so a node that ran as a
// standby would start as an authority with babe-authority = false (no blocks), and a standby
// would load the dev key its config names into its keystore. Gossamer always loads one dev key
// (an empty key is refused; the default is alice), so a standby gets standbyKey, a dev key
// that is not its identity's; the authority gets its key from --key.
func GossamerRole(base string, authority bool, standbyKey string) error {
	file := filepath.Join(base, "config", "config.toml")
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil // not initialised yet: the flags decide
	}
	if err != nil {
		return err
	}
	data = gossamerSettings.ReplaceAllFunc(data, func(line []byte) []byte {
		name, _, _ := strings.Cut(string(line), " = ")
		if name == "key" {
			if authority {
				return line
			}
			return []byte(`key = "` + standbyKey + `"`)
		}
		return []byte(name + " = " + strconv.FormatBool(authority))
	})
	return writeSecret(file, data)
}
