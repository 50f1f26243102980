package keyring

import (
	"crypto/sha512"
	"fmt"
	"strings"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	bip39 "github.com/cosmos/go-bip39"
	"golang.org/x/crypto/pbkdf2"
)

// MnemonicToEntropy decodes an English BIP39 mnemonic (12 to 24 words) to its entropy,
// checking the checksum.
func MnemonicToEntropy(phrase string) ([]byte, error) {
	phrase = strings.Join(strings.Fields(phrase), " ")
	ent, err := schnorrkel.MnemonicToEntropy(phrase)
	if err != nil || !bip39.IsMnemonicValid(phrase) {
		return nil, fmt.Errorf("mnemonic: not a valid English BIP39 phrase (unknown word, wrong word count or bad checksum)")
	}
	if len(ent) < 16 || len(ent) > 32 || len(ent)%4 != 0 {
		return nil, fmt.Errorf("mnemonic: entropy of %d bytes is not a BIP39 size", len(ent))
	}
	return ent, nil
}

// MiniSecretFromMnemonic is substrate-bip39's mini_secret_from_entropy: the first 32 bytes
// of PBKDF2-HMAC-SHA512(entropy, "mnemonic"+password, 2048).
func MiniSecretFromMnemonic(phrase, password string) ([SeedSize]byte, error) {
	var out [SeedSize]byte
	ent, err := MnemonicToEntropy(phrase)
	if err != nil {
		return out, err
	}
	copy(out[:], pbkdf2.Key(ent, []byte("mnemonic"+password), 2048, 64, sha512.New)[:SeedSize])
	return out, nil
}

// GenerateMnemonic returns a new random English mnemonic of 12, 15, 18, 21 or 24 words.
func GenerateMnemonic(words int) (string, error) {
	bits := map[int]int{12: 128, 15: 160, 18: 192, 21: 224, 24: 256}[words]
	if bits == 0 {
		return "", fmt.Errorf("mnemonic: %d words is not a BIP39 length (12, 15, 18, 21 or 24)", words)
	}
	ent, err := bip39.NewEntropy(bits)
	if err != nil {
		return "", fmt.Errorf("mnemonic: %w", err)
	}
	return bip39.NewMnemonic(ent)
}
