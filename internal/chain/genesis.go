package chain

import (
	"strings"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// BuiltinTypes are the genesis descriptor types of a chain: those of the registry, with the
// CIDs of their schemas.
func BuiltinTypes(reg *descriptor.Registry) []wire.GenesisType {
	var out []wire.GenesisType
	for _, t := range reg.Types() {
		name, version, _ := strings.Cut(t.Name, "/") // the registry's names are NAME/VERSION
		out = append(out, wire.GenesisType{Name: name, Version: version, SchemaCID: t.SchemaCID.String()})
	}
	return out
}
