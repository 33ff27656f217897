package engine

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"hookd/rules"
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

// challenge gives a verified request, its body parsed, to a provider
// whose sender signs its handshake (Slack, Twitch, Zoom, Discord): ok
// reports whether it is one, to be answered with a.
func challenge(p verify.Provider, vr *verify.Request) (a *verify.Answer, ok bool) {
	ch, is := p.(verify.Challenger)
	if !is {
		return nil, false
	}
	return ch.Challenge(vr)
}

// refusalStatus is the status of a refused request: 400 for a handshake
// hookd cannot echo, 401 for everything else that failed verification.
func refusalStatus(err error) (status int, outcome, msg string) {
	if errors.Is(err, verify.ErrBadRequest) {
		return http.StatusBadRequest, "bad_request", "bad request"
	}
	return http.StatusUnauthorized, "unauthorized", "unauthorized"
}

// HandshakeAnswer is how serve answers a sender's handshake.
type HandshakeAnswer struct {
	// Signed is set for a handshake answered only once its signature
	// verifies (Slack, Twitch, Zoom, Discord); the others (Meta's
	// subscription check, Graph's validationToken) come unsigned and are
	// answered before any signature check.
	Signed bool
	Status int            // the status sent
	Answer *verify.Answer // what is sent, a refusal's error JSON too
	Err    error          // why it is refused (Status 400 or 401)
}

// Handshake says whether serve answers vr, a request to src, as its
// sender's handshake, before any rule, and how: the very functions intake
// calls, in its order. For hookd test and the dashboard's Try, which
// verify nothing: vr.JSON holds the parsed body, and vr.DryRun is set.
func Handshake(src *rules.Source, vr *verify.Request) (*HandshakeAnswer, bool) {
	if a, ok, err := greet(src.Verifier, vr); ok {
		if err != nil { // as refuse answers it
			status, _, msg := refusalStatus(err)
			body, _ := json.Marshal(map[string]string{"error": msg})
			return &HandshakeAnswer{Status: status, Err: err,
				Answer: &verify.Answer{Status: status, ContentType: "application/json", Body: body}}, true
		}
		return &HandshakeAnswer{Status: answerStatus(a), Answer: a}, true
	}
	if a, ok := challenge(src.Verifier, vr); ok {
		return &HandshakeAnswer{Signed: true, Status: answerStatus(a), Answer: a}, true
	}
	return nil, false
}

// answerStatus is the status a provider's answer is sent with.
func answerStatus(a *verify.Answer) int {
	if a.Status == 0 {
		return http.StatusOK
	}
	return a.Status
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
// Acknowledgement is the provider's own answer to a recorded delivery that
// no respond: answers (Discord's 204 or deferred interaction answer,
// Twilio's empty TwiML), nil when the status JSON answers: what hookd test
// shows.
func Acknowledgement(src *rules.Source, vr *verify.Request) *verify.Answer {
	return acknowledgement(src.Verifier, vr)
}

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
	status := answerStatus(a)
	w.WriteHeader(status)
	if len(a.Body) > 0 && status != http.StatusNoContent {
		_, _ = w.Write(a.Body)
	}
}
