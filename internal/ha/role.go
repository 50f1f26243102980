package ha

// Role switches what lets a node sign with its role, one implementation per node flavor:
// Gossamer (its saved config and the dev key it loads) and Keystore (polkadot-sdk's file
// keystore). The command line is switched by the caller (authority or standby arguments);
// the role carries out the part that lives in files.
type Role interface {
	// Prepare runs before each start of the node: as the authority it puts the identity's
	// keys where the node reads them; as a standby it makes sure none are there.
	Prepare(authority bool) error
	// Fence removes the keys once the node has been killed.
	Fence() error
}

// Gossamer is gossamer v0.9.0's role: the saved config follows it (GossamerRole); the key
// itself is a dev key named on the authority's command line, so fencing leaves nothing on
// disk to remove.
type Gossamer struct {
	BasePath   string
	StandbyKey string // a dev key that is not the identity's (GossamerStandbyKey)
}

func (g Gossamer) Prepare(authority bool) error {
	return GossamerRole(g.BasePath, authority, g.StandbyKey)
}

func (Gossamer) Fence() error { return nil }
