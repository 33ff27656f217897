package rules

import (
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Rate is a source's request budget: a token bucket refilled at PerSecond
// and holding at most Burst. Only verified requests spend it.
type Rate struct {
	PerSecond float64
	Burst     int
}

// rate reads a source's rate: {per_second: 10, burst: 50}. Both are
// required: a per_second with no burst would be one request at a time.
func (d *decoder) rate(n *yaml.Node) *Rate {
	r := &Rate{}
	var seen [2]bool
	ok := d.fields(n, "rate", map[string]func(k, v *yaml.Node){
		"per_second": func(k, v *yaml.Node) {
			seen[0] = true
			s := d.str(v, "rate.per_second")
			f, err := strconv.ParseFloat(s, 64)
			switch {
			case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
				d.errf(v, "rate.per_second: %q is not a number", s)
			case f <= 0:
				d.errf(v, "rate.per_second must be above zero")
			default:
				r.PerSecond = f
			}
		},
		"burst": func(k, v *yaml.Node) { seen[1] = true; r.Burst = d.integer(v, "rate.burst", 1) },
	})
	if !ok {
		return nil
	}
	if !seen[0] && !d.wasSuggested(n, "per_second") || !seen[1] && !d.wasSuggested(n, "burst") {
		d.errf(n, "rate needs per_second and burst, as in rate: {per_second: 10, burst: 50}")
		return nil
	}
	if r.PerSecond == 0 || r.Burst == 0 {
		return nil // reported
	}
	return r
}
