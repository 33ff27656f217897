package verify

import "time"

// Windowed is implemented by providers that check a signed timestamp.
type Windowed interface {
	// Tolerance is how far from the clock a signed timestamp may be; 0
	// when the configured scheme signs none.
	Tolerance() time.Duration
}

// ToleranceOf returns p's tolerance, 0 when p checks no timestamp. Within
// it a captured request verifies again, and only its delivery id, kept
// for retention, makes it a duplicate.
func ToleranceOf(p Provider) time.Duration {
	if w, ok := p.(Windowed); ok {
		return w.Tolerance()
	}
	return 0
}

func (m *mailgun) Tolerance() time.Duration  { return m.tol }
func (d *discord) Tolerance() time.Duration  { return d.tol }
func (h *hubspot) Tolerance() time.Duration  { return h.tol }
func (s *sendgrid) Tolerance() time.Duration { return s.tol }
func (s *slack) Tolerance() time.Duration    { return s.tol }
func (s *standard) Tolerance() time.Duration { return s.tol }
func (s *stripe) Tolerance() time.Duration   { return s.tol }
func (t *twitch) Tolerance() time.Duration   { return t.tol }

// Tolerance of the generic scheme (and Zoom's): only with a timestamp
// header.
func (g *genericHMAC) Tolerance() time.Duration {
	if g.tsHeader == "" {
		return 0
	}
	return g.tol
}

// Tolerance of a preset: only for senders that sign a timestamp.
func (h *presetHMAC) Tolerance() time.Duration {
	if !h.p.timestamped() {
		return 0
	}
	return h.tol
}

// Tolerance of GitLab: its signing token's, when one is set.
func (g *gitlab) Tolerance() time.Duration {
	if g.signed == nil {
		return 0
	}
	return g.signed.tol
}
