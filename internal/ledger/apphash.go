package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// stateSum is an incremental multiset hash of the state: the sum modulo 2^256 of
// sha256(uvarint(len(key)) ++ key ++ value) over every state entry. Changing a key
// subtracts its old term and adds its new one, so a block costs O(keys it changed) no
// matter how large the state is, and the sum depends only on the state, not on the
// history that produced it.
type stateSum [4]uint64 // big-endian limbs

func entryHash(k, v []byte) [32]byte {
	h := sha256.New()
	h.Write(binary.AppendUvarint(nil, uint64(len(k))))
	h.Write(k)
	h.Write(v)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func limbs(h [32]byte) [4]uint64 {
	return [4]uint64{
		binary.BigEndian.Uint64(h[0:]), binary.BigEndian.Uint64(h[8:]),
		binary.BigEndian.Uint64(h[16:]), binary.BigEndian.Uint64(h[24:]),
	}
}

func (s *stateSum) add(h [32]byte) {
	l := limbs(h)
	var c uint64
	for i := 3; i >= 0; i-- {
		s[i], c = bits.Add64(s[i], l[i], c)
	}
}

func (s *stateSum) sub(h [32]byte) {
	l := limbs(h)
	var b uint64
	for i := 3; i >= 0; i-- {
		s[i], b = bits.Sub64(s[i], l[i], b)
	}
}

func (s stateSum) bytes() []byte {
	out := make([]byte, 0, 32)
	for _, l := range s {
		out = binary.BigEndian.AppendUint64(out, l)
	}
	return out
}

func sumFromBytes(b []byte) stateSum {
	var s stateSum
	if len(b) == 32 {
		for i := range s {
			s[i] = binary.BigEndian.Uint64(b[i*8:])
		}
	}
	return s
}

// appHash is the hash CometBFT records for the state: sha256 of a domain tag and the sum.
func (s stateSum) appHash() []byte {
	h := sha256.Sum256(append([]byte("dinfra/state/v1"), s.bytes()...))
	return h[:]
}

// isStateKey reports whether a key is state (enters the app hash) or bookkeeping.
func isStateKey(k []byte) bool { return len(k) > 0 && k[0] != pBook }
