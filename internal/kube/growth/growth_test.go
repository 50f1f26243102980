package growth

import (
	"testing"

	"github.com/dinfra/stack/internal/network"
)

// Which claims grow, to what size, and which wait or are blocked: never a shrink, never
// above max, once per claim until the kubelet reports the grown file system.
func TestDecide(t *testing.T) {
	const Gi = int64(1) << 30
	pct := network.GrowthPolicy{Threshold: 80, StepPercent: 20, Max: 100 * Gi}
	fixed := network.GrowthPolicy{Threshold: 80, Step: 10 * Gi, Max: 100 * Gi}
	// A 10Gi claim, bound at its request, whose file system (a little smaller) is 85% full.
	full := Claim{Request: 10 * Gi, Capacity: 10 * Gi, Used: 85 * (98 * Gi / 10) / 100, Total: 98 * Gi / 10}
	with := func(f func(*Claim)) Claim { c := full; f(&c); return c }
	for _, tc := range []struct {
		name   string
		p      network.GrowthPolicy
		c      Claim
		action Action
		to     int64
		why    string
	}{
		{"below the threshold", pct, with(func(c *Claim) { c.Used = c.Total * 79 / 100 }), Keep, 0, ""},
		{"at the threshold", pct, with(func(c *Claim) { c.Used = c.Total * 80 / 100 }), Grow, 12 * Gi, ""},
		{"no stats", pct, with(func(c *Claim) { c.Used, c.Total = 0, 0 }), Keep, 0, ""},
		{"a percentage step", pct, full, Grow, 12 * Gi, ""},
		{"a percentage step rounded up to whole Gi", pct, with(func(c *Claim) { c.Request, c.Capacity = 12*Gi, 12*Gi }), Grow, 15 * Gi, ""},
		{"a fixed step", fixed, full, Grow, 20 * Gi, ""},
		{"never above max", fixed, with(func(c *Claim) { c.Request, c.Capacity = 95*Gi, 95*Gi }), Grow, 100 * Gi, ""},
		{"at max", fixed, with(func(c *Claim) { c.Request, c.Capacity = 100*Gi, 100*Gi }), Blocked, 0, "at its maximum 100Gi (storageGrowth.max)"},
		{"above max (the user's storage is larger): no shrink", fixed, with(func(c *Claim) { c.Request, c.Capacity = 200*Gi, 200*Gi }), Blocked, 0, "at its maximum 100Gi (storageGrowth.max)"},
		{"a class without expansion", pct, with(func(c *Claim) { c.NoExpansion = "StorageClass fixed does not allow volume expansion" }), Blocked, 0, "StorageClass fixed does not allow volume expansion"},
		{"a class without expansion, below the threshold", pct, with(func(c *Claim) { c.NoExpansion = "no"; c.Used = 0 }), Keep, 0, ""},
		{"the volume is resizing", pct, with(func(c *Claim) { c.Request = 12 * Gi }), Wait, 0, "resizing to 12Gi"},
		{"the file system is resizing", pct, with(func(c *Claim) { c.Resizing = true }), Wait, 0, "resizing to 10Gi"},
		{"resized, but the kubelet still reports the old file system", pct, with(func(c *Claim) { c.GrownFrom = c.Total }), Wait, 0, "the kubelet does not report the grown file system yet"},
		{"resized, and the kubelet reports the grown file system", pct, with(func(c *Claim) { c.GrownFrom = c.Total - Gi }), Grow, 12 * Gi, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Decide(tc.p, tc.c)
			if v.Action != tc.action || v.To != tc.to || v.Why != tc.why {
				t.Errorf("Decide = %+v, want action %d to %d why %q", v, tc.action, tc.to, tc.why)
			}
			if v.Action == Grow && (v.To <= tc.c.Request || v.To > tc.p.Max) {
				t.Errorf("grows %d to %d (max %d)", tc.c.Request, v.To, tc.p.Max)
			}
		})
	}
}
