package engine

import (
	"log/slog"
	"net/http"

	"hookd/verify"
)

// greet gives an unsigned handshake (Meta's subscription check, Graph's
// validationToken) to its provider before Verify. greeted reports whether r
// was one; err then refuses it.
func greet(p verify.Provider, vr *verify.Request) (a *verify.Answer, greeted bool, err error) {
	g, ok := p.(verify.Greeter)
	if !ok {
		return nil, false, nil
	}
	return g.Greet(vr)
}

// handshake answers a sender's handshake: counted and logged as a
// challenge, never recorded, matched or rate limited.
func (e *Engine) handshake(w http.ResponseWriter, source string, log reqLog, a *verify.Answer) {
	log.Info("webhook handshake answered", slog.String("outcome", "challenge"))
	e.met.request(source, "challenge")
	writeAnswer(w, a)
}

// acknowledgement is the provider's fixed answer to a recorded event, or
// nil for the status JSON.
func acknowledgement(p verify.Provider, vr *verify.Request) *verify.Answer {
	if ak, ok := p.(verify.Acknowledger); ok {
		return ak.Acknowledge(vr)
	}
	return nil
}

// writeStatusOr answers a recorded event with the provider's fixed answer
// when it has one, else with the status JSON.
func writeStatusOr(w http.ResponseWriter, a *verify.Answer, status string, id uint64, ruleNames []string) {
	if a != nil {
		writeAnswer(w, a)
		return
	}
	writeStatus(w, status, id, ruleNames)
}

// writeAnswer writes a provider's answer. nosniff: a handshake may echo
// what an unauthenticated client sent, and must stay the text it is.
func writeAnswer(w http.ResponseWriter, a *verify.Answer) {
	h := w.Header()
	if a.ContentType != "" {
		h.Set("Content-Type", a.ContentType)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if len(a.Body) > 0 && status != http.StatusNoContent {
		_, _ = w.Write(a.Body)
	}
}
