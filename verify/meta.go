package verify

import (
	"net/http"
	"unicode"
	"unicode/utf8"
)

// challengeMax bounds an echoed handshake token: Graph's and Meta's are
// far shorter.
const challengeMax = 4096

// Meta (Facebook, Instagram, WhatsApp Cloud API, Messenger) signs event
// notifications with X-Hub-Signature-256: "sha256=" and the hex
// HMAC-SHA256 of the raw body under the app secret (`secret`); there is no
// timestamp. The subscription check is an unsigned GET with hub.mode=
// subscribe, hub.challenge and hub.verify_token: answered with the
// challenge as text/plain when the verify token, a string of the user's
// choosing apart from the app secret, equals `verify_token`.
// https://developers.facebook.com/docs/graph-api/webhooks/getting-started
type meta struct {
	*genericHMAC
	verifyToken []byte // nil: the subscription check is refused
}

func init() {
	register("meta", Spec{
		HashIDs: true,
		Options: []string{"secret", "secrets", "verify_token"},
		Covers:  []string{"facebook", "instagram", "whatsapp", "messenger"},
		New: func(c Config) (Provider, error) {
			c.Header, c.Prefix = "X-Hub-Signature-256", "sha256="
			g, err := newGenericHMAC(c)
			if err != nil {
				return nil, err
			}
			m := &meta{genericHMAC: g.(*genericHMAC)}
			if c.VerifyToken != "" {
				m.verifyToken = []byte(c.VerifyToken)
			}
			return m, nil
		},
		Lint: lintMeta,
	})
}

// lintMeta refuses a source without verify_token: Meta saves a callback
// URL only once its GET subscription check is answered, which needs it.
// A verify_token that is the app secret would put the secret in clear in
// that GET's URL.
func lintMeta(c Config) ([]*FieldError, error) {
	// A warning, not an error: a callback URL Meta saved before it was
	// served by hookd is not checked again until it is edited.
	if c.VerifyToken == "" {
		return []*FieldError{{Field: "verify_token", Msg: "provider meta has no verify_token: Meta's GET " +
			"subscription check is refused (401), so Meta cannot save this callback URL; choose a string apart from the app secret " +
			"and enter the same as the Verify token in Meta's dashboard"}}, nil
	}
	for _, s := range c.Secrets {
		if s == c.VerifyToken {
			return []*FieldError{{Field: "verify_token", Msg: "verify_token is the app secret: Meta sends it in clear, in the URL of " +
				"its GET subscription check (where proxies and access logs keep it); choose another string"}}, nil
		}
	}
	return nil, nil
}

// Greet answers the subscription check. Meta documents the challenge as
// an integer but sends it as an opaque string to echo: any text echoable
// allows is echoed; the rest is refused (400).
func (m *meta) Greet(r *Request) (*Answer, bool, error) {
	if r.Method != http.MethodGet || !r.Query.Has("hub.mode") {
		return nil, false, nil
	}
	switch {
	case r.Query.Get("hub.mode") != "subscribe":
		return nil, true, fail("hub.mode is not subscribe")
	case m.verifyToken == nil:
		return nil, true, fail("a subscription check came, and the source sets no verify_token")
	case !sameSecret([][]byte{m.verifyToken}, []byte(r.Query.Get("hub.verify_token"))):
		return nil, true, fail("hub.verify_token does not match verify_token")
	}
	c := r.Query.Get("hub.challenge")
	if !echoable(c, challengeMax) {
		return nil, true, malformed("hub.challenge is empty, over %d bytes, not UTF-8, or holds a control character", challengeMax)
	}
	return textAnswer(c), true, nil
}

// Verify checks an event notification. A GET that is not the subscription
// check (Greet took those with hub.mode) is no delivery of Meta's, which
// POSTs its events: someone opened the URL in a browser, or a typo'd query.
func (m *meta) Verify(r *Request) error {
	if r.Method == http.MethodGet {
		return fail("a GET without hub.mode is not Meta's subscription check (Meta sends events as signed POSTs)")
	}
	return m.genericHMAC.Verify(r)
}

// echoable reports whether an unsigned handshake's token may be echoed:
// not empty, at most max bytes, valid UTF-8 with no control character (no
// CR or LF that could end the answer early, no tab, no NUL, no DEL or C1
// control). Anything else, quotes and angle brackets included, is echoed:
// the answer is text/plain with X-Content-Type-Options: nosniff, so it
// stays text.
func echoable(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return false
		}
	}
	return true
}

// AcceptsGET: the subscription check is a GET (event notifications are
// POSTs; a GET that is not the check fails Verify, unsigned).
func (*meta) AcceptsGET() {}

func (*meta) SensitiveHeaders() []string { return nil }
func (*meta) SensitiveQuery() []string   { return []string{"hub.verify_token"} }

// DeliveryID: Meta sends none; hookd hashes the body.
func (m *meta) DeliveryID(*Request) string { return "" }

// Event is the body's object: page, instagram, whatsapp_business_account.
func (m *meta) Event(r *Request) string { return field(r.JSON, "object") }

// ReadsBody: the event type comes from the body.
func (*meta) ReadsBody() {}
