package descriptor

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// MaxSize is the largest descriptor in bytes. It is the default chunk size of `ipfs add`
// (262144 bytes): a larger document would become a multi-block DAG whose root CID is no
// longer the hash of the document, so in-process CIDs would stop matching IPFS.
const MaxSize = 256 << 10

// prefix is the CID recipe for descriptors: CIDv1, raw codec, sha2-256.
var prefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}

// ErrTooLarge is returned for documents over MaxSize.
var ErrTooLarge = fmt.Errorf("descriptor exceeds %d bytes", MaxSize)

// ErrCIDMismatch is returned when bytes do not hash to the CID they were announced with.
var ErrCIDMismatch = errors.New("content does not match its CID")

// CID computes the content identifier of a descriptor.
func CID(data []byte) (cid.Cid, error) {
	if len(data) > MaxSize {
		return cid.Undef, fmt.Errorf("%w (got %d)", ErrTooLarge, len(data))
	}
	c, err := prefix.Sum(data)
	if err != nil {
		return cid.Undef, fmt.Errorf("hash descriptor: %w", err)
	}
	return c, nil
}

// ParseCID parses a descriptor CID and checks that it names a single raw block (the only
// kind of CID this package can verify in process).
func ParseCID(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("parse CID %q: %w", s, err)
	}
	if c.Version() != 1 || c.Type() != cid.Raw {
		return cid.Undef, fmt.Errorf("CID %s: want CIDv1 with the raw codec (ipfs add --cid-version 1 --raw-leaves), got version %d codec 0x%x", s, c.Version(), c.Type())
	}
	if c.Prefix().MhType != multihash.SHA2_256 {
		return cid.Undef, fmt.Errorf("CID %s: want a sha2-256 multihash, got code 0x%x", s, c.Prefix().MhType)
	}
	return c, nil
}

// Verify checks that data is the content named by want.
func Verify(want cid.Cid, data []byte) error {
	got, err := CID(data)
	if err != nil {
		return err
	}
	if !got.Equals(want) {
		return fmt.Errorf("%w: want %s, content hashes to %s", ErrCIDMismatch, want, got)
	}
	return nil
}
