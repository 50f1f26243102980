package backup

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// The series that watch spec.backup, served by the local exporter (internal/monitor) and by
// the operator for clusters with the same labels; the BackupTooOld alert reads them.
const (
	MetricLastSuccess = "onf_backup_last_success_timestamp_seconds"
	MetricInterval    = "onf_backup_interval_seconds"
)

// ScheduleInterval is the longest gap between two runs of a cron schedule over the next
// eight days: a weekday-only schedule's backup is due after the weekend, not every day.
func ScheduleInterval(schedule string, now time.Time) (time.Duration, error) {
	s, err := cron.ParseStandard(schedule)
	if err != nil {
		return 0, err
	}
	var longest time.Duration
	prev := s.Next(now)
	for i := 0; i < 20000 && prev.Sub(now) < 8*24*time.Hour; i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	if longest == 0 {
		return 0, fmt.Errorf("schedule %q never runs twice", schedule)
	}
	return longest, nil
}
