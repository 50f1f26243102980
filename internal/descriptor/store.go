package descriptor

import (
	"context"
	"errors"

	"github.com/ipfs/go-cid"
)

// ErrNotFound is returned by a Store that does not hold the requested CID.
var ErrNotFound = errors.New("descriptor not found")

// Store holds descriptors by CID. Implementations verify content against its CID on both
// Put and Get, so a caller never sees bytes that do not match the CID it asked for.
type Store interface {
	// Put stores data and returns its CID (see CID). Putting the same bytes twice is a no-op.
	Put(ctx context.Context, data []byte) (cid.Cid, error)
	// Get returns the bytes named by c, or an error wrapping ErrNotFound.
	Get(ctx context.Context, c cid.Cid) ([]byte, error)
}
