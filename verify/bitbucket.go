package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// Bitbucket Cloud signs the raw body with HMAC-SHA256 and sends it hex
// encoded in X-Hub-Signature with a "sha256=" prefix (unlike GitHub, whose
// X-Hub-Signature is SHA-1). A webhook without a secret sends no signature.
// https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/
// https://bitbucket.org/blog/enhanced-webhook-security
type bitbucket struct{ keys [][]byte }

func init() {
	register("bitbucket", Spec{
		Options: []string{"secret", "secrets"},
		New: func(c Config) (Provider, error) {
			keys, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			return &bitbucket{keys: keys}, nil
		},
	})
}

func (b *bitbucket) Verify(r *Request) error {
	sig, err := hexSHA256Header(r, "X-Hub-Signature", "sha256=")
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, b.keys, sig, r.Body) {
		return fail("signature does not match")
	}
	return nil
}

func (b *bitbucket) DeliveryID(r *Request) string { return r.Header.Get("X-Request-UUID") }
func (b *bitbucket) Event(r *Request) string      { return r.Header.Get("X-Event-Key") }

func (b *bitbucket) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	h := http.Header{}
	h.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(mac(sha256.New, b.keys[0], body)))
	h.Set("X-Event-Key", m.event("repo:push"))
	h.Set("X-Request-UUID", m.id(newUUID))
	h.Set("Content-Type", "application/json")
	return h, nil
}
