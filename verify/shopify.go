package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// Shopify signs the raw body with HMAC-SHA256 under the app's client secret
// and sends the digest base64 encoded (not hex) in X-Shopify-Hmac-Sha256.
// https://shopify.dev/docs/apps/build/webhooks/verify-deliveries
type shopify struct{ keys [][]byte }

func init() {
	register("shopify", Spec{
		Options: []string{"secret", "secrets"},
		New: func(c Config) (Provider, error) {
			keys, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			return &shopify{keys: keys}, nil
		},
	})
}

func (s *shopify) Verify(r *Request) error {
	v := r.Header.Get("X-Shopify-Hmac-Sha256")
	if v == "" {
		return fail("missing X-Shopify-Hmac-Sha256")
	}
	sig := decodeBase64Digest(sha256.New, v)
	if sig == nil {
		return fail("X-Shopify-Hmac-Sha256 is not a base64 SHA-256 digest")
	}
	if !anyMAC(sha256.New, s.keys, sig, r.Body) {
		return fail("signature does not match")
	}
	return nil
}

func (s *shopify) DeliveryID(r *Request) string { return r.Header.Get("X-Shopify-Webhook-Id") }
func (s *shopify) Event(r *Request) string      { return r.Header.Get("X-Shopify-Topic") }

func (s *shopify) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	h := http.Header{}
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], body)))
	h.Set("X-Shopify-Topic", m.event("orders/create"))
	h.Set("X-Shopify-Webhook-Id", m.id(newUUID))
	h.Set("Content-Type", "application/json")
	return h, nil
}
