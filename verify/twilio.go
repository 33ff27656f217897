package verify

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Twilio sends X-Twilio-Signature: the base64 HMAC-SHA1, under the
// account's auth token, of the full URL Twilio called followed, for a
// form post, by each parameter's name and value, sorted by name (and the
// values of a repeated name sorted). A JSON post instead carries
// bodySHA256=<hex SHA-256 of the body> in the URL, and the URL alone is
// signed. As Twilio's helper libraries do, the URL is tried with and
// without its port (443 or 80 added when it has none). No timestamp is
// signed: replays are caught by I-Twilio-Idempotency-Token, the delivery id.
// https://www.twilio.com/docs/usage/webhooks/webhooks-security
// (twilio-python's RequestValidator, whose test vectors
// verify/twilio_test.go checks)
type twilio struct{ urlKeys }

func init() {
	register("twilio", Spec{
		Options: []string{"secret", "secrets", "url"},
		New: func(c Config) (Provider, error) {
			k, err := newURLKeys(c)
			if err != nil {
				return nil, err
			}
			return &twilio{k}, nil
		},
	})
}

func (t *twilio) Verify(r *Request) error {
	v := r.Header.Get("X-Twilio-Signature")
	if v == "" {
		return fail("missing X-Twilio-Signature")
	}
	sig := decodeBase64Digest(sha1.New, v)
	if sig == nil {
		return fail("X-Twilio-Signature is not a base64 SHA-1 digest")
	}
	u, err := t.url.of(r)
	if err != nil {
		return err
	}
	params, err := twilioParams(r, u)
	if err != nil {
		return err
	}
	ok := false
	for _, cand := range twilioURLs(u) {
		ok = matchAny(sha1.New, t.keys, [][]byte{sig}, twilioContent(cand, params)) || ok
	}
	if !ok {
		return fail("signature does not match (for the URL %s)", u)
	}
	return nil
}

// twilioParams returns the signed form parameters of r: none when the URL
// carries bodySHA256 (checked here), the form's for a form body. Any other
// body would go unsigned, so it is refused.
func twilioParams(r *Request, u string) (url.Values, error) {
	_, rawQuery, _ := strings.Cut(u, "?")
	q, _ := url.ParseQuery(rawQuery)
	if want := q.Get("bodySHA256"); want != "" {
		got := sha256.Sum256(r.Body)
		if !hmac.Equal([]byte(hex.EncodeToString(got[:])), []byte(strings.ToLower(want))) {
			return nil, fail("the body's SHA-256 is not the URL's bodySHA256")
		}
		return nil, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		if len(r.Body) == 0 {
			return nil, nil
		}
		return nil, fail("body is not a form and the URL carries no bodySHA256: it would be unsigned")
	}
	params, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, fail("form body does not parse")
	}
	return params, nil
}

// twilioContent is the signed string: the URL, then the sorted parameters.
func twilioContent(u string, params url.Values) []byte {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(u)
	for _, n := range names {
		vs := append([]string(nil), params[n]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(n)
			b.WriteString(v)
		}
	}
	return []byte(b.String())
}

// twilioURLs returns u without its port and with it (the default port of
// its scheme when it has none), as Twilio's libraries try both.
func twilioURLs(u string) []string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return []string{u}
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, tail := rest[:end], rest[end:]
	name, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		name, port = host[:i], host[i+1:]
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return []string{scheme + "://" + name + tail, scheme + "://" + name + ":" + port + tail}
}

// DeliveryID is I-Twilio-Idempotency-Token, the same on Twilio's retries.
func (t *twilio) DeliveryID(r *Request) string { return r.Header.Get("I-Twilio-Idempotency-Token") }

// Event: Twilio names no event type in its requests.
func (t *twilio) Event(*Request) string { return "" }

// Sign signs body as a form post to the configured url.
func (t *twilio) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	u, err := t.url.forSign("twilio")
	if err != nil {
		return nil, err
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New("twilio signs form bodies (name=value&...): " + err.Error())
	}
	h := http.Header{}
	h.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac(sha1.New, t.keys[0], twilioContent(u, params))))
	h.Set("I-Twilio-Idempotency-Token", m.id(newUUID))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h, nil
}

// ReadsURL: the signature covers the URL.
func (*twilio) ReadsURL() {}

// Acknowledge answers with an empty TwiML document when no respond: does:
// Twilio reads the answer to an incoming message or call as TwiML and logs
// error 12300 for any other content type (a voice call hears "an application
// error has occurred"); <Response/> replies nothing. Status callbacks ignore
// the answer.
// https://www.twilio.com/docs/messaging/twiml
func (*twilio) Acknowledge(*Request) *Answer {
	return &Answer{ContentType: "text/xml", Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`)}
}
