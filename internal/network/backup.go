package network

import (
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dinfra/stack/api/v1alpha1"
)

// validateBackup checks spec.backup: a source group that can pause for a copy, a cron
// schedule as a Kubernetes CronJob parses it (same library), a destination without
// credentials and a retention that keeps something.
func validateBackup(ps *Problems, s *v1alpha1.SubstrateNetworkSpec) {
	b := s.Backup
	if b == nil {
		return
	}
	at := path("spec.backup")
	switch g := FindGroup(s, b.Source); {
	case g == nil:
		ps.add(at.key("source").String(), "no group named %q in spec.groups", b.Source)
	case g.Role != v1alpha1.RoleFull && g.Role != v1alpha1.RoleArchive && g.Role != v1alpha1.RoleRPC:
		ps.add(at.key("source").String(), "group %q is a %s group: back up a full, archive or rpc group, which can pause for the copy", b.Source, g.Role)
	}
	if _, err := cron.ParseStandard(b.Schedule); err != nil {
		ps.add(at.key("schedule").String(), "not a cron schedule of five fields: %v", err)
	}
	switch scheme, rest, ok := strings.Cut(b.Destination, "://"); {
	case b.Destination == "":
		ps.add(at.key("destination").String(), "must be a directory, file:// or s3:// URL")
	case ok && scheme != "file" && scheme != "s3":
		ps.add(at.key("destination").String(), "scheme %q: want file:// or s3://", scheme)
	case ok && strings.Contains(strings.SplitN(rest, "/", 2)[0], "@"):
		ps.add(at.key("destination").String(), "credentials do not belong in the URL: they come from a Secret or the AWS SDK's files")
	}
	if r := b.Retention; r != nil {
		if r.Keep == nil && r.MaxAge == "" {
			ps.add(at.key("retention").String(), "set keep, maxAge or both")
		}
		if r.MaxAge != "" {
			if d, err := time.ParseDuration(r.MaxAge); err != nil || d <= 0 {
				ps.add(at.key("retention.maxAge").String(), "want a positive duration such as 720h, got %q", r.MaxAge)
			}
		}
	}
}
