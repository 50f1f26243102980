// Package reactor is the provider side of DINFRA's Chain Reactor API: an HTTP server,
// generated from api/reactor/openapi.yaml, that checks deploy requests (CID, type, schema,
// capacity), keeps the book of deployments and drives a Driver (the infrastructure: local
// processes, Kubernetes, ...) in the background.
package reactor

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/ipfs/go-cid"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
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
	// Network is a substrate-network descriptor as the consumer boundary accepted it
	// (boundary.Network: allow-listed, sized, defaulted); it is checked again, not
	// persisted, when a booked deployment is loaded.
	Network *v1alpha1.SubstrateNetwork `json:"-"`
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

// Checker is a Driver with checks of its own (what a descriptor asks of its infrastructure).
// The server runs them before a deployment is booked and when a booked one is loaded; an
// error is the consumer's to fix and is reported as an invalid descriptor.
type Checker interface {
	Check(d Deployment) error
}

// PublicError is a deployment failure whose Reason (a stable code) and Message may be shown
// to the consumer: they go on chain. Any other driver error is reported as ReasonDeployFailed
// with a fixed message, and its text stays in the provider's log.
type PublicError struct {
	Reason  string
	Message string
	Err     error // the full error, for the provider's log (nil: the message says it all)
}

func (e *PublicError) Error() string {
	if e.Err == nil {
		return e.Reason + ": " + e.Message
	}
	return fmt.Sprintf("%s: %s: %v", e.Reason, e.Message, e.Err)
}
func (e *PublicError) Unwrap() error { return e.Err }

// Reasons a deployment fails with, as published.
const (
	ReasonInvalidDescriptor = "invalid_descriptor"
	ReasonDeployFailed      = "deploy_failed"
	ReasonQuarantined       = "quarantined"
)

// maxPublicMessage bounds a failure message: it goes on chain (whose limit is 256 bytes).
const maxPublicMessage = 200

// PublicMessage is what may be published about a failed deployment: "reason: message".
func PublicMessage(err error) string {
	var pe *PublicError
	msg := ReasonDeployFailed + ": the provider could not deploy this descriptor"
	switch {
	case errors.As(err, &pe):
		msg = pe.Reason + ": " + pe.Message
	case problem.Of(err) != nil:
		msg = ReasonInvalidDescriptor + ": " + problem.Of(err).Error()
	}
	return Truncate(msg, maxPublicMessage)
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
