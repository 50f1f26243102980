package network

import (
	"fmt"
	"net/url"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// HA defaults and bounds (docs/ha.md).
const (
	DefaultHAStandbys = 1
	DefaultLeaseTTL   = 10 * time.Second
	DefaultHAPrefix   = "/onf/ha/"
	minLeaseTTL       = 3 * time.Second
	maxLeaseTTL       = time.Hour
)

// HATiming is a group's parsed lease timing.
type HATiming struct {
	TTL    time.Duration
	Margin time.Duration
}

// Timing parses a defaulted, validated HA block.
func Timing(h *v1alpha1.HA) HATiming {
	ttl, _ := time.ParseDuration(h.LeaseTTL)
	margin, _ := time.ParseDuration(h.SafetyMargin)
	return HATiming{TTL: ttl, Margin: margin}
}

// Standbys is the number of standby nodes per identity of a group (0 without HA).
func Standbys(g *v1alpha1.NodeGroup) int {
	if g.HA == nil || g.HA.Standbys == nil {
		return 0
	}
	return int(*g.HA.Standbys)
}

func defaultHA(h *v1alpha1.HA) {
	if h == nil {
		return
	}
	if h.Standbys == nil {
		n := int32(DefaultHAStandbys)
		h.Standbys = &n
	}
	if h.LeaseTTL == "" {
		h.LeaseTTL = DefaultLeaseTTL.String()
	}
	if ttl, err := time.ParseDuration(h.LeaseTTL); err == nil && h.SafetyMargin == "" {
		h.SafetyMargin = (ttl / 3).String()
	}
	if h.Etcd != nil && h.Etcd.Prefix == "" {
		h.Etcd.Prefix = DefaultHAPrefix
	}
}

func validateHA(ps *problem.List, at path, g *v1alpha1.NodeGroup) {
	h := g.HA
	if h == nil {
		return
	}
	if g.Role != v1alpha1.RoleValidator && g.Role != v1alpha1.RoleCollator {
		ps.Add(at.String(), "only validator and collator groups fail over (role is %s)", g.Role)
	}
	if h.Standbys != nil && (*h.Standbys < 1 || *h.Standbys > 8) {
		ps.Add(at.key("standbys").String(), "must be between 1 and 8, got %d", *h.Standbys)
	}
	ttl, err := time.ParseDuration(h.LeaseTTL)
	switch {
	case err != nil:
		ps.Add(at.key("leaseTTL").String(), "must be a Go duration such as 10s, got %q", h.LeaseTTL)
	case ttl%time.Second != 0 || ttl < minLeaseTTL || ttl > maxLeaseTTL:
		ps.Add(at.key("leaseTTL").String(), "must be whole seconds between %s and %s (etcd and Lease TTLs are seconds), got %s", minLeaseTTL, maxLeaseTTL, h.LeaseTTL)
	}
	margin, merr := time.ParseDuration(h.SafetyMargin)
	switch {
	case merr != nil:
		ps.Add(at.key("safetyMargin").String(), "must be a Go duration such as 3s, got %q", h.SafetyMargin)
	case margin <= 0:
		ps.Add(at.key("safetyMargin").String(), "must be positive, got %s", h.SafetyMargin)
	case err == nil && 2*margin >= ttl:
		// The active must still hold the lease when it has stopped signing, with time to spare.
		ps.Add(at.key("safetyMargin").String(), "must be below half of leaseTTL (%s), got %s", h.LeaseTTL, h.SafetyMargin)
	}
	if h.Etcd != nil {
		for i, e := range h.Etcd.Endpoints {
			u, err := url.Parse(e)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				ps.Add(at.key("etcd.endpoints").index(i).String(), "must be an http:// or https:// URL of an etcd client port without credentials, got %q", e)
			}
		}
		if len(h.Etcd.Endpoints) == 0 {
			ps.Add(at.key("etcd.endpoints").String(), "name at least one etcd endpoint")
		}
	}
}

// HAIdentity names the identity a candidate node of an HA group signs for: <group>-<index>.
func HAIdentity(group string, index int) string { return fmt.Sprintf("%s-%d", group, index) }
