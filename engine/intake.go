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
	"hookd/rules"
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
	src := lv.set.SourceByPath(r.URL.Path)
	if src == nil {
		e.refused(r, nil, "not_found", nil)
		e.met.request("", "not_found")
		errorJSON(w, http.StatusNotFound, "not found")
		return
	}
	if allow, ok := allowedMethod(src.Verifier, r.Method); !ok {
		e.refused(r, src, "method_not_allowed", nil)
		e.met.request(src.Name, "method_not_allowed")
		w.Header().Set("Allow", allow)
		errorJSON(w, http.StatusMethodNotAllowed, "method not allowed: use "+allow)
		return
	}
	received := time.Now().UTC()
	remote := e.clientIP(r)
	log := reqLog{l: e.log, base: []slog.Attr{slog.String("source", src.Name), slog.String("remote", remote)}}
	if len(src.Allow) > 0 && !allowed(src.Allow, remote) {
		e.refused(r, src, "forbidden", nil)
		e.met.request(src.Name, "forbidden")
		errorJSON(w, http.StatusForbidden, "forbidden")
		return
	}
	if r.ContentLength > lv.cfg.MaxBody {
		e.refused(r, src, "too_large", nil, slog.Int64("bytes", r.ContentLength))
		e.met.request(src.Name, "too_large")
		errorJSON(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	raw, err := readBody(http.MaxBytesReader(w, r.Body, lv.cfg.MaxBody), r.ContentLength)
	if ce := r.Header["Content-Encoding"]; err == nil && len(ce) > 0 {
		raw, err = decodeContent(ce, raw, lv.cfg.MaxBody)
	}
	if err != nil {
		status, outcome, msg := bodyRefusal(err)
		e.refused(r, src, outcome, nil, slog.Any("error", err))
		e.met.request(src.Name, outcome)
		errorJSON(w, status, msg)
		return
	}
	vr := &verify.Request{Method: r.Method, Header: r.Header, Query: r.URL.Query(), Body: raw, Now: received, Source: src.Name}
	if verify.ReadsURL(src.Verifier) {
		vr.Scheme, vr.Host, vr.URI = requestScheme(r, lv.cfg.TrustedProxies), r.Host, r.RequestURI
		if !strings.HasPrefix(vr.URI, "/") { // absolute-form: "POST https://host/path"
			vr.URI = r.URL.RequestURI()
		}
	}
	a, greeted, err := greet(src.Verifier, vr)
	if !greeted {
		err = src.Verifier.Verify(vr)
	}
	if err != nil && errors.Is(err, verify.ErrBadRequest) { // a handshake hookd cannot echo
		e.refused(r, src, "bad_request", vr, slog.String("reason", lv.redact.Replace(err.Error())))
		e.met.request(src.Name, "bad_request")
		errorJSON(w, http.StatusBadRequest, "bad request")
		return
	}
	if err != nil {
		e.refused(r, src, "unauthorized", vr, slog.String("reason", lv.redact.Replace(err.Error())))
		e.met.request(src.Name, "unauthorized")
		errorJSON(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	if greeted {
		e.handshake(w, src.Name, log, a)
		return
	}
	if e.overRate(w, lv, src, log) {
		return
	}
	unwrapPayload(src.Verifier, vr)
	raw = redactBody(src.Verifier, vr)
	if int64(len(raw)) > lv.cfg.MaxBody { // a GET's payload came in the URL
		e.refused(r, src, "too_large", vr, slog.Int("bytes", len(raw)))
		e.met.request(src.Name, "too_large")
		errorJSON(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	// The body is parsed only when something reads it: the provider, the
	// id/event expressions, or a rule that may match.
	parsed := false
	var env *rules.Env
	var bodyErr error
	parse := func() {
		if !parsed {
			parsed = true
			vr.JSON, bodyErr = parseBody(vr.Header.Get("Content-Type"), raw)
			if bodyErr != nil {
				log.Warn("body not readable", slog.String("reason", bodyErr.Error()))
			}
			if env != nil {
				env.Body, env.BodyErr = vr.JSON, bodyErr
			}
		}
	}
	if verify.ReadsBody(src.Verifier) || src.IDUsesBody {
		parse()
	}
	if ch, ok := src.Verifier.(verify.Challenger); ok {
		if a, ok := ch.Challenge(vr); ok {
			e.handshake(w, src.Name, log, a)
			return
		}
	}
	ack := acknowledgement(src.Verifier, vr)

	env, evalErrs := RequestEnv(src, vr, bodyErr, r.Method, r.URL.Path, remote)
	log = log.with(slog.String("delivery_id", env.ID), slog.String("event", env.Event))
	// De-duplication: an event that matches a rule is checked inside the
	// transaction that records it (Accept), which also settles two copies
	// arriving at once; one that matches nothing, by Record, before it is
	// queued.
	duplicate := func(prev uint64) {
		if src.RetryFailed && e.redeliver(w, lv, src.Name, prev, log, ack) {
			return
		}
		log.Info("webhook received", slog.String("outcome", "duplicate"), slog.Uint64("event_id", prev))
		e.met.request(src.Name, "duplicate")
		e.answerDuplicate(w, src, prev, ack)
	}

	ev := &store.Event{ID: e.store.NewEventID(), Source: src.Name, DeliveryID: env.ID, Event: env.Event, ReceivedAt: received,
		Method: r.Method, Path: r.URL.Path, RemoteAddr: remote, Headers: env.Headers, Query: env.Query, Body: raw}
	env.EventID = ev.ID
	var jobs []*store.Job
	var pick answerPick
	var condErrs []string // rule, error: logged unless the event is a duplicate
	// With the queue full, an event that may match a rule is refused
	// before its body is parsed and its rules matched (work a 503 does not
	// need); one that no rule can match is still recorded as ignored.
	full := e.disp.full()
	mayMatch := false
	needBody := parse
	if full && !parsed {
		needBody = func() { mayMatch = true }
	}
	cands := src.Candidates(env, needBody)
	if mayMatch { // the index needed the body: every rule is a candidate
		mayMatch, cands = false, src.Rules
	}
	for _, rule := range cands {
		if full && rule.UsesBody && !parsed {
			if rule.CannotMatch(env) {
				continue
			}
			mayMatch = true
			break
		}
		if rule.UsesBody {
			parse()
		}
		ok, err := rule.Match(env)
		if ok && full {
			mayMatch = true
			break
		}
		if err != nil {
			msg := "rule " + rule.Name + ": when: " + err.Error()
			evalErrs = append(evalErrs, msg)
			condErrs = append(condErrs, rule.Name, err.Error())
			continue
		}
		if !ok {
			continue
		}
		j := &store.Job{ID: e.store.NewJobID(), EventID: ev.ID, Rule: rule.Name, State: store.Queued, Created: received, Updated: received}
		if rule.Concurrency != "parallel" {
			j.Lane, j.Latest = rule.Name, rule.Concurrency == "latest"
			if rule.Key != nil {
				k, err := rules.EvalString(rule.Key, env)
				if err != nil {
					evalErrs = append(evalErrs, "rule "+rule.Name+": key: "+err.Error())
				}
				j.Lane += "\x00" + k
			}
		}
		jobs = append(jobs, j)
		pick.add(rule, j)
		ev.Rules = append(ev.Rules, rule.Name)
		ev.Jobs = append(ev.Jobs, j.ID)
	}
	if mayMatch {
		e.queueFull(w, r, src, env.ID, log, duplicate)
		return
	}
	ev.Errors = evalErrs
	pa := e.prepareAnswer(lv, src, &pick, env, parse, ev, received)
	logCondErrs := func() {
		for i := 0; i < len(condErrs); i += 2 {
			log.Warn("rule not matched: its condition failed", slog.String("rule", condErrs[i]), slog.String("error", condErrs[i+1]))
		}
	}
	if len(jobs) == 0 {
		ev.Status = "ignored"
		prev, err := e.recordIgnored(ev, pa)
		switch {
		case errors.Is(err, store.ErrDuplicate):
			duplicate(prev)
			return
		case err != nil && pa != nil: // its answer would say it is recorded
			e.storeFailed(w, src.Name, log, err)
			return
		case err != nil:
			log.Error("recording ignored event failed", slog.Any("error", err))
		}
		logCondErrs()
		log.Info("webhook received", slog.String("outcome", "ignored"), slog.Uint64("event_id", ev.ID))
		e.met.request(src.Name, "ignored")
		e.respond(w, r, pa, ack, "ignored", ev, log)
		return
	}
	if !e.disp.admit(len(jobs)) {
		e.queueFull(w, r, src, env.ID, log, duplicate)
		return
	}
	ev.Status = "accepted"
	got, err := e.store.Accept(ev, jobs)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		e.disp.unadmit(len(jobs))
		duplicate(got)
		return
	case err != nil:
		e.disp.unadmit(len(jobs))
		e.storeFailed(w, src.Name, log, err)
		return
	}
	pa.arm(&e.waits)
	e.disp.submit(jobs)
	logCondErrs()
	log.Info("webhook received", slog.String("outcome", "accepted"), slog.Uint64("event_id", ev.ID), slog.Any("rules", ev.Rules))
	e.met.request(src.Name, "accepted")
	e.respond(w, r, pa, ack, "accepted", ev, log)
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
// becomes an int (Shopify's and Stripe's ids exceed float64's 2^53), any
// other number a float64.
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
