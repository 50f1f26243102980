package keyring

import (
	"errors"
	"fmt"

	"github.com/mr-tron/base58"
	"golang.org/x/crypto/blake2b"
)

// SubstratePrefix is the generic Substrate SS58 address prefix (format 42), used by
// development chains and by the DINFRA chain.
const SubstratePrefix uint16 = 42

// ErrInvalidAddress is wrapped by every SS58 decoding error.
var ErrInvalidAddress = errors.New("invalid SS58 address")

var ss58Pre = []byte("SS58PRE")

// EncodeSS58 encodes a 32-byte public key (an AccountId32) as an SS58 address with the
// given network prefix (0..16383).
func EncodeSS58(pub []byte, prefix uint16) string {
	var data []byte
	switch {
	case prefix < 64:
		data = []byte{byte(prefix)}
	case prefix < 16384:
		data = []byte{
			byte((prefix&0b0000_0000_1111_1100)>>2) | 0b0100_0000,
			byte(prefix>>8) | byte((prefix&0b11)<<6),
		}
	default:
		panic(fmt.Sprintf("ss58: prefix %d out of range", prefix))
	}
	data = append(data, pub...)
	sum := ss58Checksum(data)
	return base58.Encode(append(data, sum[:2]...))
}

// DecodeSS58 decodes an SS58 address holding a 32-byte public key and returns the key and
// the address's network prefix. The checksum is verified.
func DecodeSS58(addr string) (pub []byte, prefix uint16, err error) {
	raw, err := base58.Decode(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("%w %q: not base58", ErrInvalidAddress, addr)
	}
	if len(raw) < 2 {
		return nil, 0, fmt.Errorf("%w %q: too short", ErrInvalidAddress, addr)
	}
	var prefixLen int
	switch {
	case raw[0] < 64:
		prefixLen, prefix = 1, uint16(raw[0])
	case raw[0] < 128:
		lower := (raw[0] << 2) | (raw[1] >> 6)
		upper := raw[1] & 0b0011_1111
		prefixLen, prefix = 2, uint16(lower)|uint16(upper)<<8
	default:
		return nil, 0, fmt.Errorf("%w %q: reserved prefix byte %d", ErrInvalidAddress, addr, raw[0])
	}
	if len(raw) != prefixLen+32+2 {
		return nil, 0, fmt.Errorf("%w %q: want a 32-byte account id, got %d bytes", ErrInvalidAddress, addr, len(raw)-prefixLen-2)
	}
	body := raw[:prefixLen+32]
	sum := ss58Checksum(body)
	if sum[0] != raw[prefixLen+32] || sum[1] != raw[prefixLen+33] {
		return nil, 0, fmt.Errorf("%w %q: bad checksum", ErrInvalidAddress, addr)
	}
	return append([]byte(nil), raw[prefixLen:prefixLen+32]...), prefix, nil
}

func ss58Checksum(data []byte) [64]byte {
	return blake2b.Sum512(append(append([]byte(nil), ss58Pre...), data...))
}
