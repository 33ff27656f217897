package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// Square sends x-square-hmacsha256-signature: the base64 HMAC-SHA256,
// under the subscription's signature key, of the notification URL followed
// by the raw body. The legacy x-square-signature (SHA-1) is not checked:
// alone it does not authenticate a request here. No timestamp is signed:
// a replay is caught by the event_id, the delivery id.
// https://developer.squareup.com/docs/webhooks/step3validate
type square struct{ urlKeys }

func init() {
	register("square", Spec{
		Options: []string{"secret", "secrets", "url"},
		New: func(c Config) (Provider, error) {
			k, err := newURLKeys(c)
			if err != nil {
				return nil, err
			}
			return &square{k}, nil
		},
	})
}

func (s *square) Verify(r *Request) error {
	v := r.Header.Get("X-Square-Hmacsha256-Signature")
	if v == "" {
		return fail("missing X-Square-Hmacsha256-Signature")
	}
	sig := decodeBase64Digest(sha256.New, v)
	if sig == nil {
		return fail("X-Square-Hmacsha256-Signature is not a base64 SHA-256 digest")
	}
	u, err := s.url.of(r)
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, s.keys, sig, []byte(u), r.Body) {
		return fail("signature does not match (for the URL %s)", u)
	}
	return nil
}

func (s *square) DeliveryID(r *Request) string { return field(r.JSON, "event_id") }
func (s *square) Event(r *Request) string      { return field(r.JSON, "type") }

func (s *square) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	u, err := s.url.forSign("square")
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("X-Square-Hmacsha256-Signature", base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], []byte(u), body)))
	h.Set("Content-Type", "application/json")
	return h, nil
}

// ReadsBody: the delivery id and event type come from the body.
func (*square) ReadsBody() {}

// ReadsURL: the signature covers the URL.
func (*square) ReadsURL() {}
