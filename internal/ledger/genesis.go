package ledger

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// ParseGenesis reads an app_state strictly (unknown fields are errors) and checks it.
func ParseGenesis(data []byte) (wire.Genesis, error) {
	var g wire.Genesis
	if len(bytes.TrimSpace(data)) == 0 {
		return g, fmt.Errorf("genesis app_state is empty")
	}
	if err := decodeStrict(data, &g); err != nil {
		return g, fmt.Errorf("genesis app_state: %w", err)
	}
	return g, ValidateGenesis(g)
}

// ValidateGenesis checks a genesis by the ledger's rules, naming the bad field.
func ValidateGenesis(g wire.Genesis) error {
	if err := g.Params.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	var total uint64
	for i, a := range g.Accounts {
		pub, _, err := keyring.DecodeSS58(a.Address)
		if err != nil {
			return fmt.Errorf("accounts[%d].address: %v", i, err)
		}
		if seen[string(pub)] {
			return fmt.Errorf("accounts[%d].address: %s is listed twice", i, a.Address)
		}
		seen[string(pub)] = true
		var ok bool
		if total, ok = add(total, uint64(a.Balance)); !ok {
			return fmt.Errorf("accounts[%d].balance: total issuance overflows 2^64", i)
		}
	}
	types := map[string]bool{}
	for i, t := range g.Types {
		if err := validateTypeFields(t.Name, t.Version, t.SchemaCID); err != nil {
			return fmt.Errorf("types[%d].%s: %s", i, err.Field, err.Reason)
		}
		id := t.Name + "/" + t.Version
		if types[id] {
			return fmt.Errorf("types[%d]: %s is listed twice", i, id)
		}
		types[id] = true
	}
	return nil
}

var (
	typeNameRe    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	typeVersionRe = regexp.MustCompile(`^v[0-9]+((alpha|beta)[0-9]+)?$`)
)

// validateTypeFields checks a type's name, version and schema CID (field names relative to
// the type).
func validateTypeFields(name, version, schemaCID string) *wire.TxError {
	if !typeNameRe.MatchString(name) {
		return wire.Reject(wire.CodeInvalid, "name", "%q must be lower-case letters, digits and dashes, starting with a letter, at most 63 characters", name)
	}
	if !typeVersionRe.MatchString(version) {
		return wire.Reject(wire.CodeInvalid, "version", "%q must look like v1, v2beta1 or v1alpha1", version)
	}
	if err := validateCID(schemaCID); err != nil {
		return wire.Reject(wire.CodeInvalid, "schema_cid", "%v", err)
	}
	return nil
}

// validateCID accepts what a reactor can serve: a CIDv1 of one raw block hashed with
// sha2-256 (descriptor.ParseCID, the rule every store and reactor applies), in canonical
// form. Anything else (CIDv0, dag-pb, other hashes) could only be awarded to sit pending
// until the deploy timeout, holding the provider's capacity.
func validateCID(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > 128 {
		return fmt.Errorf("longer than 128 characters")
	}
	c, err := descriptor.ParseCID(s)
	if err != nil {
		return err
	}
	if c.String() != s {
		return fmt.Errorf("%q is not in canonical form (want %s)", s, c.String())
	}
	return nil
}
