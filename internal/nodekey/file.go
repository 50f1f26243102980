package nodekey

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LoadOrCreate reads the hex seed in file, or generates a key and writes it there (0600,
// creating the directory 0700), so a node's identity survives every later run.
func LoadOrCreate(file string) (Key, error) {
	data, err := os.ReadFile(file)
	if err == nil {
		k, err := ParseHex(string(data))
		if err != nil {
			return Key{}, fmt.Errorf("%s: %w", file, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Key{}, fmt.Errorf("read node key: %w", err)
	}
	k, err := Generate()
	if err != nil {
		return Key{}, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return Key{}, fmt.Errorf("node key directory: %w", err)
	}
	if err := os.WriteFile(file, []byte(k.SeedHex()), 0o600); err != nil {
		return Key{}, fmt.Errorf("write node key: %w", err)
	}
	return k, nil
}
