package backup

import (
	"testing"
	"time"
)

func TestScheduleInterval(t *testing.T) {
	now := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC) // a Saturday
	for schedule, want := range map[string]time.Duration{
		"0 3 * * *":    24 * time.Hour,
		"0 3 * * 1-5":  72 * time.Hour, // Friday's backup is followed by Monday's
		"*/15 * * * *": 15 * time.Minute,
		"@every 6h":    6 * time.Hour,
	} {
		if got, err := ScheduleInterval(schedule, now); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", schedule, got, err, want)
		}
	}
	if _, err := ScheduleInterval("0 3 * *", now); err == nil {
		t.Error("a four-field schedule was accepted")
	}
}
