package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"hookd/internal/jsonval"
	"hookd/store"
	"hookd/verify"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorJSON(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// hooksFirst sends a POST to a source's path straight to intake: the mux's
// pattern matching showed in the intake profile. A path that is not clean
// (/hooks/github//) is intake's 404, not the mux's redirect to the clean
// path, which would reach the source. Everything else goes through mux.
func (e *Engine) hooksFirst(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && e.live.Load().set.SourceByPath(r.URL.Path) != nil || !cleanPath(r.URL.Path) {
			e.intake(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// cleanPath reports whether p is what path.Clean makes of it, a trailing
// slash aside (and `OPTIONS *` is the mux's).
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return true
	}
	c := path.Clean(p)
	if len(p) > 1 && p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}

// intake handles a webhook, in this order: size limit, verification,
// delivery id, de-duplication, matching, one durable transaction, answer.
func (e *Engine) intake(w http.ResponseWriter, r *http.Request) {
	lv := e.live.Load()
	d := e.authenticate(w, r, lv)
	if d == nil {
		return
	}
	src, vr := d.src, d.vr
	if verify.ReadsBody(src.Verifier) || src.IDUsesBody {
		d.parse()
	}
	if a, ok := challenge(src.Verifier, vr); ok {
		e.handshake(w, src.Name, d.log, a)
		return
	}
	ack := acknowledgement(src.Verifier, vr)
	env, evalErrs := RequestEnv(src, vr, d.bodyErr, r.Method, r.URL.Path, d.remote)
	d.env = env
	d.log = d.log.with(slog.String("delivery_id", capID(env.ID)), slog.String("event", env.Event))
	if len(env.ID) > MaxDeliveryID {
		e.idTooLong(w, r, src.Name, len(env.ID), d.log)
		return
	}
	// De-duplication: an event that matches a rule is checked inside the
	// transaction that records it (Accept), which also settles two copies
	// arriving at once; one that matches nothing, by Record, before it is
	// queued.
	duplicate := func(prev uint64) {
		if src.RetryFailed && e.redeliver(w, r, lv, src.Name, prev, d.log, ack) {
			return
		}
		d.log.Info("webhook received", slog.String("outcome", "duplicate"), slog.Uint64("event_id", prev))
		e.met.request(src.Name, "duplicate")
		e.answerDuplicate(w, src, prev, ack)
	}
	id, err := e.store.NextEventID()
	if err != nil {
		e.storeFailed(w, src.Name, d.log, err)
		return
	}
	ev := &store.Event{ID: id, Source: src.Name, DeliveryID: env.ID, Event: env.Event, ReceivedAt: d.received,
		Method: r.Method, Path: r.URL.Path, RemoteAddr: d.remote, Headers: env.Headers, Query: env.Query, Body: d.raw}
	env.EventID = ev.ID
	m := e.match(d, ev)
	if m.storeErr != nil {
		e.storeFailed(w, src.Name, d.log, m.storeErr)
		return
	}
	if m.mayMatch {
		e.queueFull(w, r, src, env.ID, d.log, duplicate)
		return
	}
	lv.redactRecord(ev)
	ev.Errors = append(evalErrs, m.evalErrs...)
	pa := e.prepareAnswer(lv, src, &m.pick, env, d.parse, ev, d.received)
	rp := &intakeReply{w: w, r: r, ack: ack, duplicate: duplicate}
	if len(m.jobs) == 0 {
		e.intakeIgnored(rp, d, &m, ev, pa)
		return
	}
	e.intakeAccepted(rp, d, &m, ev, pa)
}

// intakeReply is how a delivery is answered, whatever comes of it.
type intakeReply struct {
	w         http.ResponseWriter
	r         *http.Request
	ack       *verify.Answer
	duplicate func(prev uint64) // answers a copy of a recorded event
}

// intakeIgnored records and answers an event that matched no rule.
func (e *Engine) intakeIgnored(rp *intakeReply, d *delivery, m *matched, ev *store.Event, pa *pendingAnswer) {
	src := d.src
	ev.Status = "ignored"
	keepIgnored(src, ev)
	prev, err := e.recordIgnored(ev, pa)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		rp.duplicate(prev)
		return
	case err != nil && pa != nil: // its answer would say it is recorded
		e.storeFailed(rp.w, src.Name, d.log, err)
		return
	case err != nil:
		d.log.Error("recording ignored event failed", slog.Any("error", err))
	}
	d.recorded(ev.ID)
	m.logCondErrs(d.log, ev.ID)
	d.log.Info("webhook received", slog.String("outcome", "ignored"), slog.Uint64("event_id", ev.ID))
	e.met.request(src.Name, "ignored")
	e.respond(rp.w, rp.r, pa, rp.ack, "ignored", ev, d.log)
}

// intakeAccepted records an event and its jobs in one durable
// transaction, then queues the jobs and answers.
func (e *Engine) intakeAccepted(rp *intakeReply, d *delivery, m *matched, ev *store.Event, pa *pendingAnswer) {
	src, w, r := d.src, rp.w, rp.r
	if !e.disp.admit(len(m.jobs)) {
		e.queueFull(w, r, src, d.env.ID, d.log, rp.duplicate)
		return
	}
	ev.Status = "accepted"
	held := e.disp.holdFor(pa) // a shared store's job for pa runs here
	got, err := e.store.Accept(ev, m.jobs)
	if err != nil {
		e.disp.unhold(held)
	}
	switch {
	case errors.Is(err, store.ErrDuplicate):
		e.disp.unadmit(len(m.jobs))
		rp.duplicate(got)
		return
	case errors.Is(err, store.ErrFull): // the cluster's count, settled in the write
		e.queueFull(w, r, src, d.env.ID, d.log, rp.duplicate)
		return
	case err != nil:
		e.disp.unadmit(len(m.jobs))
		e.storeFailed(w, src.Name, d.log, err)
		return
	}
	pa.arm(&e.waits)
	e.recent.add(ev)
	e.disp.runHeld(held)
	e.disp.submit(m.jobs)
	d.recorded(ev.ID)
	m.logCondErrs(d.log, ev.ID)
	d.log.Info("webhook received", slog.String("outcome", "accepted"), slog.Uint64("event_id", ev.ID), slog.Any("rules", ev.Rules))
	e.met.request(src.Name, "accepted")
	e.respond(w, r, pa, rp.ack, "accepted", ev, d.log)
}

// readBody reads a body of the announced length into a buffer of that
// size: io.ReadAll would grow one from 512 bytes, copying a 7 KB GitHub
// push five times. A body sent without a length is read with ReadAll.
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	buf := make([]byte, length)
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF {
		return buf[:n], io.ErrUnexpectedEOF
	}
	return buf, err
}

// parseBody reads a decoded body as JSON, or as a form (GitHub's
// form-encoded deliveries carry the JSON in a `payload` field), or by the
// other types of parseOther. What it cannot read is nil with the reason.
func parseBody(contentType string, raw []byte) (any, error) {
	if contentType == "application/json" { // the common case, without ParseMediaType
		return parseJSON(raw)
	}
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, fmt.Errorf("body: invalid form: %w", err)
		}
		if p := vals.Get("payload"); p != "" && len(vals) == 1 {
			if v, ok := decodeJSON([]byte(p)); ok {
				return v, nil
			}
		}
		m := make(map[string]any, len(vals))
		for k, v := range vals {
			if len(v) > 0 {
				m[k] = v[0]
			}
		}
		return m, nil
	}
	if mt == "" && strings.TrimSpace(contentType) != "" {
		v, err := readJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("body: Content-Type %q does not parse, and %w", contentType, err)
		}
		return v, nil
	}
	return parseOther(mt, params, raw)
}

// decodeJSON decodes a JSON document keeping integers exact: a whole number
// becomes an int (Shopify's and Stripe's ids exceed float64's 2^53), or,
// beyond int64, a jsonval.Number rendered as written; any other number a
// float64.
func decodeJSON(raw []byte) (any, bool) {
	v, err := jsonval.Parse(raw)
	return v, err == nil
}

// redacted copies headers (lower-cased, first value) and query parameters,
// replacing the values that carry a secret in clear.
func redacted(p verify.Provider, h http.Header, q url.Values) (map[string]string, map[string]string) {
	headers := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			lk, ok := lowerNames[k]
			if !ok {
				lk = strings.ToLower(k)
			}
			headers[lk] = v[0]
		}
	}
	query := make(map[string]string, len(q))
	for k, v := range q {
		if len(v) > 0 {
			query[k] = v[0]
		}
	}
	for _, k := range alwaysRedacted {
		if _, ok := headers[k]; ok {
			headers[k] = "[redacted]"
		}
	}
	if s, ok := p.(verify.Sensitive); ok {
		for _, k := range s.SensitiveHeaders() {
			if _, ok := headers[strings.ToLower(k)]; ok {
				headers[strings.ToLower(k)] = "[redacted]"
			}
		}
		for _, k := range s.SensitiveQuery() {
			if _, ok := query[k]; ok {
				query[k] = "[redacted]"
			}
		}
	}
	return headers, query
}

var alwaysRedacted = []string{"authorization", "cookie", "proxy-authorization"}

// lowerNames holds the lower-case form of headers webhooks commonly carry,
// to spare an allocation per header per request.
var lowerNames = map[string]string{}

func init() {
	for _, n := range []string{"Accept", "Accept-Encoding", "Authorization", "Connection", "Content-Length", "Content-Type",
		"Cookie", "Host", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-Ip", "X-Request-Id",
		"X-Github-Event", "X-Github-Delivery", "X-Github-Hook-Id", "X-Github-Hook-Installation-Target-Id",
		"X-Github-Hook-Installation-Target-Type", "X-Hub-Signature", "X-Hub-Signature-256",
		"X-Gitlab-Event", "X-Gitlab-Token", "X-Gitlab-Event-Uuid", "X-Gitlab-Instance", "X-Gitlab-Webhook-Uuid", "Idempotency-Key",
		"X-Gitea-Event", "X-Gitea-Delivery", "X-Gitea-Signature", "X-Forgejo-Event", "X-Forgejo-Delivery", "X-Forgejo-Signature",
		"X-Event-Key", "X-Request-Uuid", "Stripe-Signature", "X-Slack-Signature", "X-Slack-Request-Timestamp",
		"X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-Shop-Domain", "X-Shopify-Api-Version",
		"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature", "Svix-Id", "Svix-Timestamp", "Svix-Signature"} {
		lowerNames[n] = strings.ToLower(n)
	}
}

var jsonType = []string{"application/json"}

// writeStatus answers 200 with {"id":…,"rules":[…],"status":…}, written by
// hand: it is every accepted or ignored webhook's answer.
func writeStatus(w http.ResponseWriter, status string, id uint64, ruleNames []string) {
	b := make([]byte, 0, 64+32*len(ruleNames))
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, id, 10) // a number, as in events -json
	if ruleNames != nil {
		b = append(b, `,"rules":[`...)
		for i, r := range ruleNames {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, r)
		}
		b = append(b, ']')
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendQuote(b, status)
	b = append(b, "}\n"...)
	w.Header()["Content-Type"] = jsonType // already canonical: no copy per request
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// appendJSONString quotes s for JSON (rule names are plain, but a name is
// never trusted to be).
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// reqLog logs the lines of one request with its common attributes, without
// slog.Logger.With's cost of cloning the handler per request.
type reqLog struct {
	l    *slog.Logger
	base []slog.Attr
}

func (r reqLog) with(args ...slog.Attr) reqLog {
	r.base = append(r.base[:len(r.base):len(r.base)], args...)
	return r
}

func (r reqLog) Info(msg string, args ...slog.Attr)  { r.emit(slog.LevelInfo, msg, args) }
func (r reqLog) Warn(msg string, args ...slog.Attr)  { r.emit(slog.LevelWarn, msg, args) }
func (r reqLog) Error(msg string, args ...slog.Attr) { r.emit(slog.LevelError, msg, args) }

func (r reqLog) emit(level slog.Level, msg string, args []slog.Attr) {
	ctx := context.Background()
	h := r.l.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	// A record made here, rather than by Logger.LogAttrs, skips capturing
	// the caller's stack for a source location hookd never logs.
	rec := slog.NewRecord(time.Now(), level, msg, 0)
	rec.AddAttrs(r.base...)
	rec.AddAttrs(args...)
	_ = h.Handle(ctx, rec)
}

// recordHooker is a store that answers ignored events before writing them,
// and tells of a write that failed (bbolt).
type recordHooker interface {
	SetRecordHook(func(store.RecordFailure))
}

// recordFailed logs and counts an ignored event whose write failed, and its
// fate (see store.RecordFailure).
func (e *Engine) recordFailed(f store.RecordFailure) {
	id := slog.Uint64("event_id", f.EventID)
	switch {
	case f.Kept:
		e.log.Error("ignored event not written yet: kept in memory and written again every 5s (hookd show finds it, a redelivery is a duplicate)", id, slog.Any("error", f.Err))
		e.met.unwritten.WithLabelValues("kept").Inc()
	case f.Err == nil:
		e.log.Info("ignored event written at last", id)
		e.met.unwritten.WithLabelValues("written").Inc()
	default:
		e.log.Error("ignored event lost: it was answered but is not recorded", id, slog.Any("error", f.Err))
		e.met.unwritten.WithLabelValues("lost").Inc()
	}
}
