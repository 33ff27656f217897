package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// GitHub signs the raw body with HMAC-SHA256 and sends it hex encoded in
// X-Hub-Signature-256 with a "sha256=" prefix.
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
type github struct{ keys [][]byte }

func init() {
	register("github", Spec{
		Options: []string{"secret", "secrets"},
		New: func(c Config) (Provider, error) {
			keys, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			return &github{keys: keys}, nil
		},
	})
}

func (g *github) Verify(r *Request) error {
	sig, err := hexSHA256Header(r, "X-Hub-Signature-256", "sha256=")
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, g.keys, sig, r.Body) {
		return fail("signature does not match")
	}
	return nil
}

func (g *github) DeliveryID(r *Request) string { return r.Header.Get("X-GitHub-Delivery") }
func (g *github) Event(r *Request) string      { return r.Header.Get("X-GitHub-Event") }

func (g *github) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac(sha256.New, g.keys[0], body)))
	h.Set("X-GitHub-Event", m.event("push"))
	h.Set("X-GitHub-Delivery", m.id(newUUID))
	h.Set("Content-Type", "application/json")
	return h, nil
}
