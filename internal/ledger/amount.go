package ledger

import (
	"math/bits"
)

// mul returns a*b and whether it did not overflow.
func mul(a, b uint64) (uint64, bool) {
	hi, lo := bits.Mul64(a, b)
	return lo, hi == 0
}

// add returns a+b and whether it did not overflow.
func add(a, b uint64) (uint64, bool) {
	s, carry := bits.Add64(a, b, 0)
	return s, carry == 0
}
