package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"hookd/rules"
	"hookd/verify"
)

// Refusal lines are rate-limited per outcome: a burst, then a steady rate.
// A scan of unknown paths or a flood of bad signatures must not fill the
// journal; what is not written is counted and summed up in one line.
const (
	refusalBurst   = 20
	refusalRate    = 2 // lines per second, per outcome
	refusalSummary = 10 * time.Second
	claimedMax     = 128 // bytes kept of a header value nobody verified
	refusalPause   = 50 * time.Millisecond
)

// refusals decides which refused requests get a log line.
type refusals struct {
	log        *slog.Logger
	mu         sync.Mutex
	buckets    map[string]*bucket
	suppressed map[string]int
	timer      *time.Timer // pending summary line
	every      time.Duration
	stopped    bool
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRefusals(log *slog.Logger) *refusals {
	return &refusals{log: log, buckets: map[string]*bucket{}, suppressed: map[string]int{}, every: refusalSummary}
}

// allow takes a token of outcome's bucket, or counts the refusal for the
// next summary line.
func (f *refusals) allow(outcome string) bool {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[outcome]
	if b == nil {
		b = &bucket{tokens: refusalBurst, at: now}
		f.buckets[outcome] = b
	}
	b.tokens = min(refusalBurst, b.tokens+now.Sub(b.at).Seconds()*refusalRate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	f.suppressed[outcome]++
	if f.timer == nil && !f.stopped {
		f.timer = time.AfterFunc(f.every, f.flush)
	}
	return false
}

// flush writes the summary of the refusals not logged since the last one.
func (f *refusals) flush() {
	f.mu.Lock()
	f.timer = nil
	counts := f.suppressed
	f.suppressed = map[string]int{}
	f.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	outcomes := make([]string, 0, len(counts))
	total := 0
	for o, n := range counts {
		outcomes = append(outcomes, o)
		total += n
	}
	sort.Strings(outcomes)
	attrs := []slog.Attr{slog.Int("suppressed", total)}
	for _, o := range outcomes {
		attrs = append(attrs, slog.Int(o, counts[o]))
	}
	f.log.LogAttrs(context.Background(), slog.LevelWarn, "webhook refusals not logged one by one (rate limit)", attrs...)
}

// stop writes the pending summary at shutdown.
func (f *refusals) stop() {
	f.mu.Lock()
	f.stopped = true
	if f.timer != nil {
		f.timer.Stop()
	}
	f.mu.Unlock()
	f.flush()
}

// refused logs a refused request with what is known of it: src may be nil
// (unknown path), vr nil (refused before the body was read). The delivery
// id and event come from the provider's headers (or a body already read)
// but nothing vouches for them: the line says verified=false.
func (e *Engine) refused(r *http.Request, src *rules.Source, outcome string, vr *verify.Request, extra ...slog.Attr) {
	if !e.refusals.allow(outcome) {
		return
	}
	attrs := make([]slog.Attr, 0, 10+len(extra))
	if src != nil {
		attrs = append(attrs, slog.String("source", src.Name))
	}
	attrs = append(attrs, slog.String("remote", e.clientIP(r)), slog.String("method", r.Method),
		slog.String("path", truncate(r.URL.Path)), slog.String("outcome", outcome))
	if src != nil && src.Verifier != nil {
		if vr == nil {
			vr = &verify.Request{Header: r.Header, Source: src.Name}
		}
		attrs = append(attrs, claimed(src, vr, r.Header.Get("Content-Type"))...)
	}
	reqLog{l: e.log, base: attrs}.Warn("webhook refused", extra...)
}

// claimed is the delivery id and event a refused request's headers or
// body claim, verified=false, or nothing when it claims neither. A body
// read for them is parsed by its Content-Type, else as JSON: curl -d
// sends JSON as a form, and the line should still say which event it was.
func claimed(src *rules.Source, vr *verify.Request, contentType string) []slog.Attr {
	reads := vr.Body != nil && vr.JSON == nil && verify.ReadsBody(src.Verifier)
	if reads {
		vr.JSON, _ = parseBody(contentType, vr.Body) // bounded by the rate limit
	}
	id, ev := src.Verifier.DeliveryID(vr), src.Verifier.Event(vr)
	if id == "" && ev == "" && reads && bytes.HasPrefix(bytes.TrimSpace(vr.Body), []byte("{")) {
		vr.JSON, _ = parseBody("application/json", vr.Body)
		id, ev = src.Verifier.DeliveryID(vr), src.Verifier.Event(vr)
	}
	if id == "" && ev == "" {
		return nil
	}
	return []slog.Attr{slog.String("delivery_id", truncate(id)), slog.String("event", truncate(ev)), slog.Bool("verified", false)}
}

// verifiedRefusal is the fields of the refusal of a verified request
// besides those its log has: how it came, and that its claims are vouched
// for.
func verifiedRefusal(r *http.Request) []slog.Attr {
	return []slog.Attr{slog.String("method", r.Method), slog.String("path", truncate(r.URL.Path)), slog.Bool("verified", true)}
}

func truncate(s string) string {
	if len(s) > claimedMax {
		return s[:claimedMax] + "..."
	}
	return s
}

// queueFull answers a verified event that the queue has no room for: a
// redelivery of a recorded one is still a duplicate (the store's filter
// answers most new ids without a read); anything else is 503 with
// Retry-After, sent after refusalPause and logged at the refusal rate.
func (e *Engine) queueFull(w http.ResponseWriter, r *http.Request, src *rules.Source, id string, log reqLog, duplicate func(uint64)) {
	if prev := e.store.Seen(src.Name, id); prev != 0 {
		duplicate(prev)
		return
	}
	if e.refusals.allow("queue_full") {
		log.Warn("webhook refused", append(verifiedRefusal(r), slog.String("outcome", "queue_full"))...)
	}
	e.met.request(src.Name, "queue_full")
	// A sender that retries at once would otherwise take, in refusals, the
	// CPU the workers need to empty the queue: the answer is held for a
	// moment, which costs a parked goroutine and no CPU.
	t := time.NewTimer(refusalPause)
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
	t.Stop()
	w.Header().Set("Retry-After", "30")
	errorJSON(w, http.StatusServiceUnavailable, "queue full, retry later")
}

// MaxDeliveryID is the longest delivery id intake takes, in bytes. The id
// is a key of both stores (bbolt refuses keys over 32 KiB, PostgreSQL's
// unique index entries over about 2.7 KB), and no provider's id comes near
// it (GitHub's is a 36-byte UUID): a longer one is a source's id:
// expression gone wrong, or a sender's mistake, which retrying cannot
// mend, so it is refused for good (400) rather than hashed out of sight.
const MaxDeliveryID = 1024

// loggedIDMax bounds the delivery id written in a log line.
const loggedIDMax = 200

// capID returns id, cut to loggedIDMax bytes for a log line.
func capID(id string) string {
	if len(id) <= loggedIDMax {
		return id
	}
	cut := loggedIDMax
	for cut > 0 && !utf8.RuneStart(id[cut]) {
		cut--
	}
	return id[:cut] + "…"
}

// idTooLong refuses a delivery whose id is longer than MaxDeliveryID.
func (e *Engine) idTooLong(w http.ResponseWriter, r *http.Request, source string, n int, log reqLog) {
	msg := fmt.Sprintf("delivery id is %d bytes, longer than hookd's limit of %d bytes", n, MaxDeliveryID)
	if e.refusals.allow("bad_request") {
		log.Warn("webhook refused", slog.String("method", r.Method), slog.String("path", truncate(r.URL.Path)),
			slog.String("outcome", "bad_request"), slog.String("reason", msg))
	}
	e.met.request(source, "bad_request")
	errorJSON(w, http.StatusBadRequest, msg)
}
