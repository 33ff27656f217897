package engine

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"hookd/rules"
	"hookd/verify"
)

// sourceLimiter is a source's request budget and the rate it was built for.
type sourceLimiter struct {
	rate rules.Rate
	lim  *rate.Limiter
}

// carryLimits builds the limiters of set's sources. A source whose rate is
// unchanged since prev keeps its limiter, tokens and all: a reload (every
// rules file save) must not hand a flooding sender a fresh burst.
func carryLimits(prev *live, set *rules.Set) map[string]*sourceLimiter {
	var out map[string]*sourceLimiter
	for name, src := range set.Sources {
		if src.Rate == nil {
			continue
		}
		if out == nil {
			out = map[string]*sourceLimiter{}
		}
		if prev != nil {
			if old := prev.limits[name]; old != nil && old.rate == *src.Rate {
				out[name] = old
				continue
			}
		}
		out[name] = &sourceLimiter{rate: *src.Rate, lim: rate.NewLimiter(rate.Limit(src.Rate.PerSecond), src.Rate.Burst)}
	}
	return out
}

// overRate spends one token of src's budget. When there is none it
// answers 429 with Retry-After (whole seconds until a token is there, at
// least 1) and returns true. Intake calls it after verification, so that
// a forger cannot spend a sender's budget.
func (e *Engine) overRate(w http.ResponseWriter, r *http.Request, lv *live, src *rules.Source, vr *verify.Request, log reqLog) bool {
	sl := lv.limits[src.Name]
	if sl == nil {
		return false
	}
	res := sl.lim.Reserve()
	wait := res.Delay()
	if wait == 0 {
		return false
	}
	res.Cancel() // refused: the request does not hold a future token
	secs := max(1, int(math.Ceil(wait.Seconds())))
	if wait == rate.InfDuration {
		secs = int(time.Hour / time.Second)
	}
	if e.refusals.allow("rate_limited") {
		// In the order of the other refusals: how it came, the outcome,
		// what it claims (verified: the signature checked out).
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", truncate(r.URL.Path)), slog.String("outcome", "rate_limited")}
		if c := claimed(src, vr, r.Header.Get("Content-Type")); len(c) == 3 {
			attrs = append(attrs, c[0], c[1])
		}
		attrs = append(attrs, slog.Bool("verified", true), slog.Int("retry_after", secs))
		log.Warn("webhook refused", attrs...)
	}
	e.met.request(src.Name, "rate_limited")
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	errorJSON(w, http.StatusTooManyRequests, "rate limit exceeded, retry later")
	return true
}
