package network

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// validateBackup checks spec.backup and the groups' restoreFrom: a source group that can pause for a copy, a cron
// schedule as a Kubernetes CronJob parses it (same library), a destination without
// credentials and a retention that keeps something.
func validateBackup(ps *problem.List, s *v1alpha1.SubstrateNetworkSpec) {
	for i := range s.Groups {
		validateRestoreFrom(ps, s, path("spec").key("groups").index(i).key("restoreFrom"), s.Groups[i].RestoreFrom)
	}
	b := s.Backup
	if b == nil {
		return
	}
	at := path("spec.backup")
	switch g := FindGroup(s, b.Source); {
	case g == nil:
		ps.Add(at.key("source").String(), "no group named %q in spec.groups", b.Source)
	case g.Role != v1alpha1.RoleFull && g.Role != v1alpha1.RoleArchive && g.Role != v1alpha1.RoleRPC:
		ps.Add(at.key("source").String(), "group %q is a %s group: back up a full, archive or rpc group, which can pause for the copy", b.Source, g.Role)
	}
	if _, err := cron.ParseStandard(b.Schedule); err != nil {
		ps.Add(at.key("schedule").String(), "not a cron schedule of five fields: %v", err)
	}
	switch scheme, rest, ok := strings.Cut(b.Destination, "://"); {
	case b.Destination == "":
		ps.Add(at.key("destination").String(), "must be a directory, file:// or s3:// URL")
	case ok && scheme != "file" && scheme != "s3":
		ps.Add(at.key("destination").String(), "scheme %q: want file:// or s3://", scheme)
	case ok && strings.Contains(strings.SplitN(rest, "/", 2)[0], "@"):
		ps.Add(at.key("destination").String(), "credentials do not belong in the URL: they come from a Secret or the AWS SDK's files")
	}
	if r := b.Retention; r != nil {
		if r.Keep == nil && r.MaxAge == "" {
			ps.Add(at.key("retention").String(), "set keep, maxAge or both")
		}
		if r.MaxAge != "" {
			if d, err := time.ParseDuration(r.MaxAge); err != nil || d <= 0 {
				ps.Add(at.key("retention.maxAge").String(), "want a positive duration such as 720h, got %q", r.MaxAge)
			}
		}
	}
}

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	backupID  = regexp.MustCompile(v1alpha1.BackupIDPattern)
)

// validateRestoreFrom checks a group's restoreFrom: a backup ID at spec.backup.destination,
// or an http(s) snapshot URL with the archive's sha256.
func validateRestoreFrom(ps *problem.List, s *v1alpha1.SubstrateNetworkSpec, at path, r *v1alpha1.RestoreFrom) {
	if r == nil {
		return
	}
	switch {
	case (r.Backup == "") == (r.URL == ""):
		ps.Add(at.String(), "set exactly one of backup, url")
	case r.Backup != "":
		if !backupID.MatchString(r.Backup) {
			ps.Add(at.key("backup").String(), "%q is not a backup ID as onf backup create makes them (NETWORK-YYYYMMDDtHHMMSS.mmmz)", r.Backup)
		}
		if s.Backup == nil {
			ps.Add(at.key("backup").String(), "a backup ID is looked up at spec.backup.destination: set spec.backup")
		}
		if r.SHA256 != "" {
			ps.Add(at.key("sha256").String(), "only with url: a backup's manifest carries its checksum")
		}
	default:
		checkDownloadURL(ps, at.key("url"), r.URL, "a snapshot archive")
		if !sha256Hex.MatchString(r.SHA256) {
			ps.Add(at.key("sha256").String(), "the snapshot's sha256 is required with url: 64 lowercase hex digits")
		}
	}
}

// checkDownloadURL refuses what an init step could not or should not download: anything but
// an http(s) URL with a host, and credentials, which would sit in the pod's arguments.
func checkDownloadURL(ps *problem.List, at path, raw, what string) {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.Add(at.String(), "want an http:// or https:// URL of %s, got %q", what, raw)
	} else if u.User != nil {
		ps.Add(at.String(), "credentials do not belong in the URL")
	}
}
