// Package reactor is the provider side of DINFRA's Chain Reactor API: an HTTP server,
// generated from api/reactor/openapi.yaml, that checks deploy requests (CID, type, schema,
// capacity), keeps the book of deployments and drives a Driver (the infrastructure: local
// processes, Kubernetes, ...) in the background.
package reactor

import (
	"context"

	"github.com/ipfs/go-cid"

	api "github.com/dinfra/stack/api/reactor"
)

// Deployment is a checked deploy request handed to a Driver.
type Deployment struct {
	ID           string
	Type         string
	CID          cid.Cid
	Descriptor   []byte // the exact bytes, verified against CID and the type's schema
	Units        int64
	Consumer     api.Consumer
	Subscription api.Subscription
}

// Driver runs deployments on some infrastructure. Both methods are idempotent and may be
// called again after a restart of the reactor with the same arguments.
type Driver interface {
	// Name identifies the implementation in capabilities (local, kubernetes, ...).
	Name() string
	// Types are the descriptor types the driver can run.
	Types() []string
	// Capacity is the total number of units the driver offers.
	Capacity() int64
	// Deploy brings d up and returns its endpoints once it runs. It converges on what may
	// already exist for d.ID. ctx is cancelled when the deployment is torn down meanwhile.
	Deploy(ctx context.Context, d Deployment) ([]api.Endpoint, error)
	// Teardown removes everything deployed for id; nothing deployed is not an error.
	Teardown(ctx context.Context, id string) error
}
