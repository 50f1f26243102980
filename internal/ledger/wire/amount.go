package wire

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Amount is a quantity of the chain's token in its smallest unit. It is a uint64 and is
// written in JSON as a decimal string ("1000000"), so no JSON implementation loses
// precision on it.
type Amount uint64

func (a Amount) String() string { return strconv.FormatUint(uint64(a), 10) }

// MarshalJSON writes the decimal string.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + a.String() + `"`), nil
}

// UnmarshalJSON reads a decimal string of at most 20 digits with no sign or leading zeros.
func (a *Amount) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("amount must be a decimal string, got %s", b)
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAmount parses a canonical decimal amount.
func ParseAmount(s string) (Amount, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("amount %q: want a decimal integer without leading zeros", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: want a decimal integer below 2^64", s)
	}
	return Amount(v), nil
}
