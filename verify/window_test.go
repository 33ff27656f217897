package verify

import (
	"testing"
	"time"
)

// ToleranceOf says, for every provider, how long a signed request stays
// valid: refused just past it, and, when it is 0, still valid months
// later (only its delivery id makes a replay a duplicate).
func TestToleranceOf(t *testing.T) {
	want := map[string]time.Duration{
		"mailgun": 12 * time.Hour, "discord": 10 * time.Minute, "twitch": 10 * time.Minute,
		"linear": time.Minute, "paddle": time.Hour, "stripe": DefaultTolerance, "slack": DefaultTolerance,
		"standard": DefaultTolerance, "gitlab": DefaultTolerance, "hmac": DefaultTolerance, "zoom": DefaultTolerance,
		"hubspot": DefaultTolerance, "sendgrid": DefaultTolerance, "buildkite": DefaultTolerance,
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			c := testConfigs[name]
			p := mustNew(t, c)
			tol := ToleranceOf(p)
			if tol != want[name] {
				t.Fatalf("ToleranceOf = %s, want %s", tol, want[name])
			}
			if bodyInSecret[name] {
				return
			}
			r := signed(t, c, testBody, t0)
			r.Now = t0
			if err := p.Verify(r); err != nil {
				t.Fatalf("as signed: %v", err)
			}
			if tol == 0 {
				tol = 90 * 24 * time.Hour
			}
			r.Now = t0.Add(tol + time.Second)
			if err := p.Verify(r); (err == nil) != (want[name] == 0) {
				t.Fatalf("%s later: Verify = %v", tol+time.Second, err)
			}
		})
	}
}
