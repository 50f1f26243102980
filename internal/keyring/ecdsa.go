package keyring

import (
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	dcrecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/blake2b"
)

// Sizes of sp-core's ecdsa (secp256k1) keys and signatures: the SEC1 compressed point, and
// r ++ s ++ the recovery id.
const (
	EcdsaPublicKeySize = 33
	EcdsaSignatureSize = 65
)

// compact is how decred's compact signatures mark a compressed key: 27 + 4 + recovery id.
const compact = 27 + 4

// ecdsaPair is sp-core's ecdsa Pair::from_seed: the seed is the secret scalar itself, which
// must be below the curve order and not zero (libsecp256k1's SecretKey::from_slice).
func ecdsaPair(seed []byte) (*Pair, error) {
	var k secp256k1.ModNScalar
	if overflow := k.SetByteSlice(seed); overflow || k.IsZero() {
		return nil, errors.New("ecdsa seed: not a valid secp256k1 secret key (zero or not below the curve order)")
	}
	priv := secp256k1.NewPrivateKey(&k)
	p := &Pair{scheme: Ecdsa, ec: priv, public: ecdsaPublic(priv.PubKey())}
	return p, nil
}

func ecdsaPublic(pub *secp256k1.PublicKey) PublicKey {
	p := PublicKey{Scheme: Ecdsa}
	copy(p.compressed[:], pub.SerializeCompressed())
	// The account id of an ecdsa key (sp-runtime's MultiSigner::into_account).
	p.Bytes = blake2b.Sum256(p.compressed[:])
	return p
}

// ecdsaSign is sp-core's ecdsa sign: RFC 6979 over blake2b-256(msg), as r ++ s ++ recovery id.
func ecdsaSign(priv *secp256k1.PrivateKey, msg []byte) []byte {
	h := blake2b.Sum256(msg)
	c := dcrecdsa.SignCompact(priv, h[:], true)
	return append(c[1:], c[0]-compact)
}

// ecdsaVerify is sp-core's ecdsa verify: the key recovered from the signature must be pub.
func ecdsaVerify(pub [EcdsaPublicKeySize]byte, msg, sig []byte) bool {
	if len(sig) != EcdsaSignatureSize || sig[64] > 3 {
		return false
	}
	h := blake2b.Sum256(msg)
	c := append([]byte{sig[64] + compact}, sig[:64]...)
	got, _, err := dcrecdsa.RecoverCompact(c, h[:])
	return err == nil && [EcdsaPublicKeySize]byte(got.SerializeCompressed()) == pub
}
