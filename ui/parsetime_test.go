package ui

import (
	"testing"
	"time"
)

// The dashboard's time filters read durations ago as the configuration
// does (whole days included), or a UTC time.
func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2h", now.Add(-2 * time.Hour), true},
		{"7d", now.Add(-7 * 24 * time.Hour), true},
		{"1d12h", now.Add(-36 * time.Hour), true},
		{"2026-11-30 08:15", time.Date(2026, 11, 30, 8, 15, 0, 0, time.UTC), true},
		{"", time.Time{}, true},
		{"soon", time.Time{}, false},
	} {
		got, err := parseTime(c.in, now)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
