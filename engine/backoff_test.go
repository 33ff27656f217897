package engine

import (
	"testing"
	"time"

	"hookd/rules"
)

// Retry waits never exceed max_backoff, jitter included, and below the
// cap they keep their ±20% spread.
func TestBackoffCapsAfterJitter(t *testing.T) {
	r := rules.Retry{Attempts: 10, Backoff: time.Second, MaxBackoff: 4 * time.Second}
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, 1200 * time.Millisecond},
		{2, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{3, 3200 * time.Millisecond, 4 * time.Second},
		{9, 3200 * time.Millisecond, 4 * time.Second}, // at the cap: 4s jittered, then capped
	} {
		for range 500 {
			if d := backoff(r, tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("attempt %d: waits %v, want %v..%v", tc.attempt, d, tc.min, tc.max)
			}
		}
	}
}
