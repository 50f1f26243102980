package keyring

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/crypto/blake2b"
)

// DevPhrase is the well-known development mnemonic behind //Alice, //Bob, ... Never use it
// for anything of value.
const DevPhrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

// DevAccounts are the names of the development accounts, in the order Substrate lists them.
var DevAccounts = []string{"Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"}

// junction is one derivation step: a 32-byte chain code, hard or soft.
type junction struct {
	chainCode [32]byte
	hard      bool
}

// SecretURI is a parsed secret URI. Its fields are secret: do not log them.
type SecretURI struct {
	Phrase   string // mnemonic or 0x hex seed; DevPhrase when the URI had none
	Path     string // the derivation path as written, e.g. "//Alice/0"
	Password string
	path     []junction
}

// ParseSecretURI splits PHRASE[PATH][///PASSWORD] (see the package documentation).
func ParseSecretURI(suri string) (*SecretURI, error) {
	s := strings.TrimSpace(suri)
	u := &SecretURI{}
	if i := strings.Index(s, "///"); i >= 0 {
		u.Password = s[i+3:]
		s = s[:i]
	}
	phrase, path := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		phrase, path = s[:i], s[i:]
	}
	for _, r := range phrase {
		if !(r == ' ' || unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			return nil, fmt.Errorf("secret URI: phrase has an invalid character %q", r)
		}
	}
	u.Phrase = strings.Join(strings.Fields(phrase), " ")
	if u.Phrase == "" {
		u.Phrase = DevPhrase
	}
	u.Path = path
	for rest := path; rest != ""; {
		hard := strings.HasPrefix(rest, "//")
		rest = strings.TrimPrefix(rest, "/")
		if hard {
			rest = rest[1:]
		}
		code := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			code, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		if code == "" {
			return nil, fmt.Errorf("secret URI: empty junction in derivation path")
		}
		u.path = append(u.path, newJunction(code, hard))
	}
	return u, nil
}

// newJunction encodes a junction code the way sp-core's DeriveJunction does.
func newJunction(code string, hard bool) junction {
	var enc []byte
	if n, err := strconv.ParseUint(code, 10, 64); err == nil {
		enc = binary.LittleEndian.AppendUint64(nil, n)
	} else {
		enc = scaleBytes([]byte(code))
	}
	j := junction{hard: hard}
	if len(enc) > 32 {
		j.chainCode = blake2b.Sum256(enc)
	} else {
		copy(j.chainCode[:], enc)
	}
	return j
}

// scaleBytes is the SCALE encoding of a byte string: compact length, then the bytes.
func scaleBytes(b []byte) []byte {
	n := uint64(len(b))
	var out []byte
	switch {
	case n < 1<<6:
		out = []byte{byte(n << 2)}
	case n < 1<<14:
		out = binary.LittleEndian.AppendUint16(nil, uint16(n<<2|1))
	case n < 1<<30:
		out = binary.LittleEndian.AppendUint32(nil, uint32(n<<2|2))
	default:
		panic("scaleBytes: too long")
	}
	return append(out, b...)
}

// hardDeriveSeed is the hard junction of sp-core's ed25519 and ecdsa pairs:
// blake2b-256(SCALE((domain, seed, chain code))), a string then two byte arrays.
func hardDeriveSeed(domain string, seed []byte, cc [32]byte) []byte {
	buf := scaleBytes([]byte(domain))
	buf = append(buf, seed...)
	buf = append(buf, cc[:]...)
	h := blake2b.Sum256(buf)
	return h[:]
}

// Seed returns the root seed of the URI's phrase (before any derivation).
func (u *SecretURI) Seed() ([]byte, error) {
	if strings.HasPrefix(u.Phrase, "0x") {
		seed, err := hex.DecodeString(u.Phrase[2:])
		if err != nil || len(seed) != SeedSize {
			return nil, fmt.Errorf("secret URI: a hex seed must be 0x followed by %d hex bytes", SeedSize)
		}
		return seed, nil
	}
	msk, err := MiniSecretFromMnemonic(u.Phrase, u.Password)
	if err != nil {
		return nil, err
	}
	return msk[:], nil
}

// Pair derives the URI's key pair for a scheme.
func (u *SecretURI) Pair(scheme Scheme) (*Pair, error) {
	seed, err := u.Seed()
	if err != nil {
		return nil, err
	}
	p, err := FromSeed(scheme, seed)
	if err != nil {
		return nil, err
	}
	for _, j := range u.path {
		if p, err = p.derive(j); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// FromURI is ParseSecretURI followed by Pair: the key pair of a secret URI such as
// "//Alice", "PHRASE//hard/soft" or "0xSEED//path".
func FromURI(scheme Scheme, suri string) (*Pair, error) {
	u, err := ParseSecretURI(suri)
	if err != nil {
		return nil, err
	}
	return u.Pair(scheme)
}

// devPairs memoizes the development pairs: deriving one runs PBKDF2 over the dev phrase.
var devPairs sync.Map // scheme + "//" + name -> *Pair

// Dev returns a development account by name (case-insensitive: "alice", "Bob", ...).
func Dev(scheme Scheme, name string) (*Pair, error) {
	for _, n := range DevAccounts {
		if strings.EqualFold(n, name) {
			k := string(scheme) + "//" + n
			if p, ok := devPairs.Load(k); ok {
				return p.(*Pair), nil
			}
			p, err := FromURI(scheme, "//"+n)
			if err != nil {
				return nil, err
			}
			devPairs.Store(k, p)
			return p, nil
		}
	}
	return nil, fmt.Errorf("unknown development account %q (want one of %s)", name, strings.Join(DevAccounts, ", "))
}
