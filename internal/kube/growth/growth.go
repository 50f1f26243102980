// Package growth decides, purely, when a group's data volumes grow on their own
// (spec.groups[].storageGrowth) and to what size: from a claim's request and status, what the
// kubelet's volume stats say about its file system, and whether its StorageClass expands.
// The operator (package kube/controller) gathers those facts and carries out the verdicts.
package growth

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/dinfra/stack/internal/network"
)

const gi = 1 << 30

// Claim is what is known of one bound data claim.
type Claim struct {
	// Request is the claim's storage request, Capacity its status capacity, in bytes.
	Request, Capacity int64
	// Resizing: a Resizing or FileSystemResizePending condition is on the claim.
	Resizing bool
	// GrownFrom is the file system size the kubelet reported when the operator last grew the
	// claim (0: never grown by the operator).
	GrownFrom int64
	// NoExpansion says why the claim's StorageClass cannot grow it; "" when it can.
	NoExpansion string
	// Used and Total are the file system's used and total bytes from the kubelet's volume
	// stats; Total 0: no stats (the pod is not running, or its volume reports none).
	Used, Total int64
}

// Action is what to do with a claim.
type Action int

const (
	// Keep: below the threshold, or no stats to judge by.
	Keep Action = iota
	// Grow the claim's request to Verdict.To.
	Grow
	// Wait: the last growth has not reached the file system yet.
	Wait
	// Blocked: above the threshold and the claim cannot grow (its class, or at max).
	Blocked
)

// Verdict is the decision for one claim.
type Verdict struct {
	Action Action
	To     int64  // the new request in bytes, for Grow
	Why    string // for Wait and Blocked
}

// Decide says whether c grows under p. It never shrinks a claim, never grows one above
// p.Max, and grows a claim once until the kubelet reports the larger file system.
func Decide(p network.GrowthPolicy, c Claim) Verdict {
	if c.Total <= 0 || c.Used*100 < p.Threshold*c.Total {
		return Verdict{Action: Keep}
	}
	switch {
	case c.Resizing || c.Request > c.Capacity:
		return Verdict{Action: Wait, Why: "resizing to " + Size(c.Request)}
	case c.GrownFrom > 0 && c.Total <= c.GrownFrom:
		return Verdict{Action: Wait, Why: "the kubelet does not report the grown file system yet"}
	case c.NoExpansion != "":
		return Verdict{Action: Blocked, Why: c.NoExpansion}
	case c.Request >= p.Max:
		return Verdict{Action: Blocked, Why: fmt.Sprintf("at its maximum %s (storageGrowth.max)", Size(p.Max))}
	}
	step := p.Step
	if p.StepPercent > 0 {
		// The request's share, rounded up to whole Gi: cloud volumes are sized in them.
		share := c.Request/100*p.StepPercent + (c.Request%100*p.StepPercent+99)/100
		step = (share + gi - 1) / gi * gi
	}
	return Verdict{Action: Grow, To: min(c.Request+step, p.Max)}
}

// Percent is the share of a file system in use, in whole percent rounded down.
func Percent(used, total int64) int32 {
	if total <= 0 {
		return 0
	}
	return int32(used * 100 / total)
}

// Size writes n bytes as a quantity (15Gi).
func Size(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() }
