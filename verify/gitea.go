package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

// Gitea signs the raw body with HMAC-SHA256 and sends bare hex (no prefix)
// in X-Gitea-Signature; Forgejo and Gogs send the same under their own
// names, and Forgejo also fills the X-Gitea-* headers for compatibility.
// https://docs.gitea.com/usage/webhooks
// https://forgejo.org/docs/latest/user/webhooks/
type gitea struct{ keys [][]byte }

var (
	giteaSignature = []string{"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"}
	giteaDelivery  = []string{"X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery"}
	giteaEvent     = []string{"X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event"}
)

func init() {
	register("gitea", Spec{
		Options: []string{"secret", "secrets"},
		New: func(c Config) (Provider, error) {
			keys, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			return &gitea{keys: keys}, nil
		},
	})
}

func (g *gitea) Verify(r *Request) error {
	v, name := firstHeader(r, giteaSignature...)
	if v == "" {
		return fail("missing X-Gitea-Signature (or X-Forgejo-/X-Gogs-Signature)")
	}
	sig := decodeHexDigest(sha256.New, v)
	if sig == nil {
		return fail("%s is not a hex SHA-256 digest", name)
	}
	if !anyMAC(sha256.New, g.keys, sig, r.Body) {
		return fail("signature does not match")
	}
	return nil
}

func (g *gitea) DeliveryID(r *Request) string {
	v, _ := firstHeader(r, giteaDelivery...)
	return v
}

func (g *gitea) Event(r *Request) string {
	v, _ := firstHeader(r, giteaEvent...)
	return v
}

func (g *gitea) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	h := http.Header{}
	h.Set("X-Gitea-Signature", hex.EncodeToString(mac(sha256.New, g.keys[0], body)))
	h.Set("X-Gitea-Event", m.event("push"))
	h.Set("X-Gitea-Delivery", m.id(newUUID))
	h.Set("Content-Type", "application/json")
	return h, nil
}
