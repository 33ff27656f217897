package engine

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"hookd/rules"
	"hookd/verify"
)

// delivery is one authenticated webhook on its way through intake.
type delivery struct {
	src      *rules.Source
	vr       *verify.Request
	raw      []byte // the body as recorded: decoded, unwrapped, redacted
	received time.Time
	remote   string
	log      reqLog

	// The body is parsed only when something reads it: the provider, the
	// id/event expressions, or a rule that may match.
	parsed  bool
	bodyErr error
	env     *rules.Env // set once the request's environment is built
	// eventID is the recorded event's id, once it is; the body's error is
	// logged with it (journalctl -g 'event_id=N( |$)' finds the line).
	eventID    uint64
	bodyWarned bool
}

// recorded notes the id the event is recorded under, and logs why its
// body could not be read if it was parsed before.
func (d *delivery) recorded(id uint64) {
	d.eventID = id
	d.warnBody()
}

// warnBody logs, once, why the body could not be read, with the event's
// id: only once the event is recorded (a refused or duplicate request
// has no line of its own).
func (d *delivery) warnBody() {
	if d.bodyErr == nil || d.eventID == 0 || d.bodyWarned {
		return
	}
	d.bodyWarned = true
	d.log.Warn("body not readable", slog.Uint64("event_id", d.eventID), slog.String("reason", d.bodyErr.Error()))
}

// parse parses the body once, into vr.JSON and, once built, env.Body.
func (d *delivery) parse() {
	if d.parsed {
		return
	}
	d.parsed = true
	d.vr.JSON, d.bodyErr = parseBody(d.vr.Header.Get("Content-Type"), d.raw)
	d.warnBody()
	if d.env != nil {
		d.env.Body, d.env.BodyErr = d.vr.JSON, d.bodyErr
	}
}

// authenticate routes the request to its source, applies the source's
// limits, reads the body and verifies it. It answers a refusal or an
// unsigned handshake itself and returns nil then.
func (e *Engine) authenticate(w http.ResponseWriter, r *http.Request, lv *live) *delivery {
	src := lv.set.SourceByPath(r.URL.Path)
	if src == nil {
		e.refused(r, nil, "not_found", nil)
		e.met.request("", "not_found")
		errorJSON(w, http.StatusNotFound, "not found")
		return nil
	}
	if allow, ok := allowedMethod(src.Verifier, r.Method); !ok {
		e.refused(r, src, "method_not_allowed", nil)
		e.met.request(src.Name, "method_not_allowed")
		w.Header().Set("Allow", allow)
		errorJSON(w, http.StatusMethodNotAllowed, "method not allowed: use "+allow)
		return nil
	}
	d := &delivery{src: src, received: time.Now().UTC(), remote: e.clientIP(r)}
	d.log = reqLog{l: e.log, base: []slog.Attr{slog.String("source", src.Name), slog.String("remote", d.remote)}}
	if len(src.Allow) > 0 && !allowed(src.Allow, d.remote) {
		return e.refuse(w, r, src, http.StatusForbidden, "forbidden", "forbidden", nil)
	}
	if r.ContentLength > lv.cfg.MaxBody {
		return e.refuse(w, r, src, http.StatusRequestEntityTooLarge, "too_large", "body too large", nil, slog.Int64("bytes", r.ContentLength))
	}
	raw, err := readBody(http.MaxBytesReader(w, r.Body, lv.cfg.MaxBody), r.ContentLength)
	if ce := r.Header["Content-Encoding"]; err == nil && len(ce) > 0 {
		raw, err = decodeContent(ce, raw, lv.cfg.MaxBody)
	}
	if err != nil {
		status, outcome, msg := bodyRefusal(err)
		return e.refuse(w, r, src, status, outcome, msg, nil, slog.Any("error", err))
	}
	vr := &verify.Request{Method: providerMethod(src.Verifier, r.Method), Header: r.Header, Query: r.URL.Query(), Body: raw, Now: d.received, Source: src.Name}
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
	if err != nil { // 400 for a handshake hookd cannot echo, else 401
		status, outcome, msg := refusalStatus(err)
		if c, ok := src.Verifier.(verify.AuthChallenger); ok && status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", c.WWWAuthenticate(src.Name))
		}
		return e.refuse(w, r, src, status, outcome, msg, vr, slog.String("reason", lv.redact.Replace(err.Error())))
	}
	if greeted {
		e.handshake(w, src.Name, d.log, a)
		return nil
	}
	if r.Method == http.MethodHead { // safe (RFC 9110 §9.2.1): checked as its GET, never recorded
		d.log.Info("webhook HEAD answered", slog.String("outcome", "head"))
		e.met.request(src.Name, "head")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if e.overRate(w, r, lv, src, vr, d.log) {
		return nil
	}
	unwrapPayload(src.Verifier, vr)
	d.vr, d.raw = vr, redactBody(src.Verifier, vr)
	if int64(len(d.raw)) > lv.cfg.MaxBody { // a GET's payload came in the URL
		return e.refuse(w, r, src, http.StatusRequestEntityTooLarge, "too_large", "body too large", vr, slog.Int("bytes", len(d.raw)))
	}
	return d
}

// refuse answers a refusal of a request to src: logged (at a bounded
// rate), counted, and answered with status and msg.
func (e *Engine) refuse(w http.ResponseWriter, r *http.Request, src *rules.Source, status int, outcome, msg string, vr *verify.Request, extra ...slog.Attr) *delivery {
	e.refused(r, src, outcome, vr, extra...)
	e.met.request(src.Name, outcome)
	errorJSON(w, status, msg)
	return nil
}
