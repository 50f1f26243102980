package netstatus

// HAIdentity is one validator or collator identity of an HA group (docs/ha.md): the node
// running as its authority, and the lease holder and expiry as the lease store reports them.
type HAIdentity struct {
	Identity string `json:"identity"`
	// Authority is the node running with the identity's keys ("" while none does).
	Authority string `json:"authority,omitempty"`
	// Holder is the node holding the identity's lease ("" while none does); Expires is when
	// the store expires it unless renewed (RFC 3339).
	Holder  string `json:"holder,omitempty"`
	Expires string `json:"expires,omitempty"`
	// Error says why the lease store could not be read.
	Error string `json:"error,omitempty"`
}
