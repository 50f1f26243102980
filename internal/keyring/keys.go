package keyring

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Scheme is a signature scheme of Substrate accounts.
type Scheme string

// The supported schemes, named as subkey names them. Ecdsa (secp256k1) keys are session keys
// (BEEFY's): they derive, sign and verify, but are no account scheme (see ParseScheme).
const (
	Sr25519 Scheme = "sr25519"
	Ed25519 Scheme = "ed25519"
	Ecdsa   Scheme = "ecdsa"
)

// ParseScheme accepts the account schemes "sr25519" or "ed25519". Not ecdsa: its address
// holds a hash of the key, so a signer named by address could not be verified.
func ParseScheme(s string) (Scheme, error) {
	switch Scheme(strings.ToLower(s)) {
	case Sr25519:
		return Sr25519, nil
	case Ed25519:
		return Ed25519, nil
	}
	return "", fmt.Errorf("unknown key scheme %q (want sr25519 or ed25519)", s)
}

// PublicKeySize and SignatureSize are those of sr25519 and ed25519 (ecdsa: see
// EcdsaPublicKeySize); SeedSize is every scheme's.
const (
	PublicKeySize = 32
	SignatureSize = 64
	SeedSize      = 32
)

// SigningContext is the schnorrkel signing context of Substrate's sr25519 signatures.
var SigningContext = []byte("substrate")

// PublicKey is an account's public key with its scheme.
type PublicKey struct {
	Scheme Scheme
	// Bytes is the 32-byte public key of sr25519 and ed25519, and the account id of ecdsa
	// (blake2b-256 of its compressed key): what an AccountId32 and an SS58 address hold.
	Bytes [PublicKeySize]byte
	// compressed is an ecdsa key's SEC1 compressed point.
	compressed [EcdsaPublicKeySize]byte
}

// NewPublicKey builds a PublicKey from 32 bytes.
func NewPublicKey(scheme Scheme, b []byte) (PublicKey, error) {
	if len(b) != PublicKeySize {
		return PublicKey{}, fmt.Errorf("public key: want %d bytes, got %d", PublicKeySize, len(b))
	}
	if _, err := ParseScheme(string(scheme)); err != nil {
		return PublicKey{}, err
	}
	p := PublicKey{Scheme: scheme}
	copy(p.Bytes[:], b)
	return p, nil
}

// Raw is the key as its scheme encodes it: 33 bytes for ecdsa, 32 for the others. This is
// what session keys, author_insertKey and keystore file names carry.
func (p PublicKey) Raw() []byte {
	if p.Scheme == Ecdsa {
		return p.compressed[:]
	}
	return p.Bytes[:]
}

// Hex is the 0x-prefixed hex of the raw key, as subkey prints "Public key (hex)".
func (p PublicKey) Hex() string { return "0x" + hex.EncodeToString(p.Raw()) }

// Address is the SS58 address of the key with the given prefix.
func (p PublicKey) Address(prefix uint16) string { return EncodeSS58(p.Bytes[:], prefix) }

// Verify reports whether sig is a valid signature of msg by this key.
func (p PublicKey) Verify(msg, sig []byte) bool {
	if p.Scheme == Ecdsa {
		return ecdsaVerify(p.compressed, msg, sig)
	}
	if len(sig) != SignatureSize {
		return false
	}
	switch p.Scheme {
	case Ed25519:
		return ed25519.Verify(ed25519.PublicKey(p.Bytes[:]), msg, sig)
	case Sr25519:
		pub, err := schnorrkel.NewPublicKey(p.Bytes)
		if err != nil {
			return false
		}
		var s schnorrkel.Signature
		var raw [SignatureSize]byte
		copy(raw[:], sig)
		if err := s.Decode(raw); err != nil {
			return false
		}
		ok, err := pub.Verify(&s, schnorrkel.NewSigningContext(SigningContext, msg))
		return err == nil && ok
	}
	return false
}

// Pair is a key pair able to sign. It never prints its secret: String and the fmt verbs
// show only the public side.
type Pair struct {
	scheme Scheme
	public PublicKey
	// Exactly one of these is set.
	sr *schnorrkel.SecretKey
	ed ed25519.PrivateKey
	ec *secp256k1.PrivateKey
}

// FromSeed returns the pair of a 32-byte seed (a mini secret for sr25519, the secret scalar
// for ecdsa).
func FromSeed(scheme Scheme, seed []byte) (*Pair, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("seed: want %d bytes, got %d", SeedSize, len(seed))
	}
	switch scheme {
	case Sr25519:
		var raw [SeedSize]byte
		copy(raw[:], seed)
		msk, err := schnorrkel.NewMiniSecretKeyFromRaw(raw)
		if err != nil {
			return nil, fmt.Errorf("sr25519 seed: %w", err)
		}
		return srPair(msk.ExpandEd25519())
	case Ed25519:
		return edPair(ed25519.NewKeyFromSeed(seed)), nil
	case Ecdsa:
		return ecdsaPair(seed)
	}
	return nil, fmt.Errorf("unknown key scheme %q", scheme)
}

func srPair(sk *schnorrkel.SecretKey) (*Pair, error) {
	pub, err := sk.Public()
	if err != nil {
		return nil, fmt.Errorf("sr25519 public key: %w", err)
	}
	return &Pair{scheme: Sr25519, sr: sk, public: PublicKey{Scheme: Sr25519, Bytes: pub.Encode()}}, nil
}

func edPair(priv ed25519.PrivateKey) *Pair {
	p := &Pair{scheme: Ed25519, ed: priv, public: PublicKey{Scheme: Ed25519}}
	copy(p.public.Bytes[:], priv.Public().(ed25519.PublicKey))
	return p
}

// Scheme is the pair's signature scheme.
func (p *Pair) Scheme() Scheme { return p.scheme }

// Public is the pair's public key.
func (p *Pair) Public() PublicKey { return p.public }

// Address is the SS58 address of the pair's public key.
func (p *Pair) Address(prefix uint16) string { return p.public.Address(prefix) }

// String shows the scheme and the generic-prefix address, never the secret.
func (p *Pair) String() string { return string(p.scheme) + ":" + p.Address(SubstratePrefix) }

// Sign signs msg. sr25519 signatures are randomized, ed25519 and ecdsa ones deterministic.
func (p *Pair) Sign(msg []byte) ([]byte, error) {
	switch p.scheme {
	case Ed25519:
		return ed25519.Sign(p.ed, msg), nil
	case Ecdsa:
		return ecdsaSign(p.ec, msg), nil
	case Sr25519:
		sig, err := p.sr.Sign(schnorrkel.NewSigningContext(SigningContext, msg))
		if err != nil {
			return nil, fmt.Errorf("sr25519 sign: %w", err)
		}
		b := sig.Encode()
		return b[:], nil
	}
	return nil, errors.New("pair has no secret")
}

// MustSign is Sign for callers that hold a valid pair (signing only fails for a zero Pair
// or a broken random source).
func (p *Pair) MustSign(msg []byte) []byte {
	sig, err := p.Sign(msg)
	if err != nil {
		panic(err)
	}
	return sig
}

// derive applies one junction.
func (p *Pair) derive(j junction) (*Pair, error) {
	switch p.scheme {
	case Ed25519:
		if !j.hard {
			return nil, errors.New("ed25519 keys support only hard derivation (//), not soft (/)")
		}
		return edPair(ed25519.NewKeyFromSeed(hardDeriveSeed("Ed25519HDKD", p.ed.Seed(), j.chainCode))), nil
	case Ecdsa:
		if !j.hard {
			return nil, errors.New("ecdsa keys support only hard derivation (//), not soft (/)")
		}
		return ecdsaPair(hardDeriveSeed("Secp256k1HDKD", p.ec.Serialize(), j.chainCode))
	case Sr25519:
		if j.hard {
			msk, _, err := p.sr.HardDeriveMiniSecretKey(nil, j.chainCode)
			if err != nil {
				return nil, fmt.Errorf("sr25519 hard derivation: %w", err)
			}
			return srPair(msk.ExpandEd25519())
		}
		ek, err := schnorrkel.DeriveKeySimple(p.sr, nil, j.chainCode)
		if err != nil {
			return nil, fmt.Errorf("sr25519 soft derivation: %w", err)
		}
		sk, err := ek.Secret()
		if err != nil {
			return nil, fmt.Errorf("sr25519 soft derivation: %w", err)
		}
		return srPair(sk)
	}
	return nil, fmt.Errorf("unknown key scheme %q", p.scheme)
}
