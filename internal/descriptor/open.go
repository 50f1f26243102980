package descriptor

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StoreConfig selects a Store: the Kubo RPC API when KuboAPI is set, else the block
// directory Dir.
type StoreConfig struct {
	Dir string
	// KuboAPI is the RPC API address of an IPFS node, e.g. http://127.0.0.1:5001.
	KuboAPI string
	// KuboAuthFile holds the Authorization header value for the node's RPC API (for example
	// "Bearer <token>"); read from a file so the secret never appears in arguments.
	KuboAuthFile string
}

// DefaultDir is the embedded store's directory: $XDG_DATA_HOME/dinfra/descriptors, or
// ~/.local/share/dinfra/descriptors.
func DefaultDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "dinfra", "descriptors")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".dinfra", "descriptors")
	}
	return filepath.Join(home, ".local", "share", "dinfra", "descriptors")
}

// OpenStore returns the store cfg selects.
func OpenStore(cfg StoreConfig) (Store, error) {
	if cfg.KuboAPI == "" {
		dir := cfg.Dir
		if dir == "" {
			dir = DefaultDir()
		}
		return NewDirStore(dir)
	}
	opts := []KuboOption{WithHTTPClient(&http.Client{Timeout: 30 * time.Second})}
	if cfg.KuboAuthFile != "" {
		raw, err := os.ReadFile(cfg.KuboAuthFile)
		if err != nil {
			return nil, fmt.Errorf("kubo authorization file: %w", err)
		}
		opts = append(opts, WithAuthorization(strings.TrimSpace(string(raw))))
	}
	return NewKuboStore(cfg.KuboAPI, opts...)
}
