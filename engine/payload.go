package engine

import (
	"net/http"
	"net/url"

	"hookd/verify"
)

// allowedMethod reports whether a source takes requests of method, and the
// methods it takes: POST, GET for providers whose senders use it, and HEAD
// where GET is taken (RFC 9110 §9.3.2) or the sender checks the URL with it.
func allowedMethod(p verify.Provider, method string) (allow string, ok bool) {
	switch {
	case verify.AcceptsGET(p):
		return "GET, HEAD, POST", method == http.MethodPost || method == http.MethodGet || method == http.MethodHead
	case verify.AcceptsHEAD(p):
		return "HEAD, POST", method == http.MethodPost || method == http.MethodHead
	}
	return http.MethodPost, method == http.MethodPost
}

// providerMethod is the method a provider sees: a HEAD to a source that
// takes GET is checked as the GET it stands for (so Meta's subscription
// check gets the same status), a HEAD the provider answers itself stays one.
func providerMethod(p verify.Provider, method string) string {
	if method == http.MethodHead && verify.AcceptsGET(p) {
		return http.MethodGet
	}
	return method
}

// unwrapPayload returns the body to record and parse: the signed JSON
// payload when the sender wrapped it in a form field or the query (Gitea's
// form and GET deliveries), so that body, raw and the stored event are the
// same whichever way the sender was set to deliver; else the body as read.
// The recorded Content-Type then names what is recorded: JSON.
func unwrapPayload(p verify.Provider, vr *verify.Request) []byte {
	u, ok := p.(verify.Unwrapper)
	if !ok {
		return vr.Body
	}
	payload, ok := u.Payload(vr)
	if !ok {
		return vr.Body
	}
	vr.Header = vr.Header.Clone()
	vr.Header.Set("Content-Type", "application/json")
	if _, ok := vr.Query["payload"]; ok && vr.Method == http.MethodGet {
		q := make(url.Values, len(vr.Query))
		for k, v := range vr.Query {
			if k != "payload" {
				q[k] = v
			}
		}
		vr.Query = q // the payload is the body now, not kept twice
	}
	vr.Body = payload
	return payload
}

// redactBody records and parses the body with the secret a sender put in it
// replaced (Graph's clientState).
func redactBody(p verify.Provider, vr *verify.Request) []byte {
	if r, ok := p.(verify.BodyRedactor); ok {
		vr.Body = r.RedactBody(vr.Body)
	}
	return vr.Body
}

// AllowedMethod reports whether serve takes a request with method for p,
// and the methods it takes (its 405's Allow header).
func AllowedMethod(p verify.Provider, method string) (allow string, ok bool) {
	return allowedMethod(p, method)
}

// UnwrapPayload makes vr's body the signed payload its sender wrapped in a
// form field or the query, as intake does before matching (hookd test).
func UnwrapPayload(p verify.Provider, vr *verify.Request) { unwrapPayload(p, vr) }
