package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
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

// DeliveryID is X-Shopify-Event-Id and the topic, "EVENT-ID:TOPIC":
// Shopify's "Ignore duplicate webhooks" keys duplicates on the event id,
// which a retry keeps, while one event can also reach the same URL as
// webhooks of different topics (a product created and published: the
// products/create and products/update webhooks), which are not duplicates.
// Without the event id header (older deliveries), X-Shopify-Webhook-Id.
// https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates
func (s *shopify) DeliveryID(r *Request) string {
	if id := r.Header.Get("X-Shopify-Event-Id"); id != "" {
		return id + ":" + r.Header.Get("X-Shopify-Topic")
	}
	return r.Header.Get("X-Shopify-Webhook-Id")
}

func (s *shopify) Event(r *Request) string { return r.Header.Get("X-Shopify-Topic") }

// Sign takes the delivery id as hookd shows it, EVENT-ID:TOPIC.
func (s *shopify) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	topic, event := m.event("orders/create"), newUUID()
	if m.ID != "" {
		e, t, ok := strings.Cut(m.ID, ":")
		if !ok || e == "" || t == "" || (m.Event != "" && t != m.Event) {
			return nil, &FieldError{Field: "id", Msg: "a shopify delivery id is X-Shopify-Event-Id:X-Shopify-Topic (for example 7a1c...:" + topic + ")"}
		}
		event, topic = e, t
	}
	h := http.Header{}
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], body)))
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Webhook-Id", newUUID())
	h.Set("X-Shopify-Event-Id", event)
	h.Set("Content-Type", "application/json")
	return h, nil
}
