package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Gitea signs the JSON payload with HMAC-SHA256 and sends bare hex (no
// prefix) in X-Gitea-Signature and X-Gogs-Signature, and "sha256=" hex in
// X-Hub-Signature-256; Forgejo adds X-Forgejo-Signature, Gogs sends only
// X-Gogs-Signature. The signature covers the payload, not the request body:
// with the content type set to form, the body is payload=<url-encoded JSON>,
// and with the HTTP method GET, the payload is the query parameter of that
// name and there is no body.
// https://docs.gitea.com/usage/webhooks
// https://forgejo.org/docs/latest/user/webhooks/
// Gitea services/webhook/deliver.go (newDefaultRequest, addDefaultHeaders),
// Forgejo services/webhook/default.go and shared/payloader.go, Gogs
// internal/database/webhook.go (prepareHookTasks, deliver).
type gitea struct{ keys [][]byte }

var (
	giteaSignature = []string{"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"}
	giteaDelivery  = []string{"X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery"}
	giteaEvent     = []string{"X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event"}
)

const formType = "application/x-www-form-urlencoded"

func init() {
	register("gitea", Spec{
		Options: []string{"secret", "secrets"},
		Covers:  []string{"forgejo", "gogs"},
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
	sig, err := g.signature(r)
	if err != nil {
		return err
	}
	payload, _, err := g.payload(r)
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, g.keys, sig, payload) {
		return fail("signature does not match")
	}
	return nil
}

// signature returns the decoded digest of the first signature header the
// request carries: they all hold the same MAC.
//
// A webhook without a secret sends every signature header empty, and
// X-Hub-Signature-256 as "sha256=" alone (Gitea's and Forgejo's
// addDefaultHeaders, Gogs' deliver): the reason says so, not that a
// header is malformed.
func (g *gitea) signature(r *Request) ([]byte, error) {
	v, name := firstHeader(r, giteaSignature...)
	if v == "" {
		hub := r.Header.Get("X-Hub-Signature-256")
		if hub == "" && !sentAny(r, giteaSignature...) {
			return nil, fail("missing X-Gitea-Signature (or X-Forgejo-/X-Gogs-Signature, X-Hub-Signature-256)")
		}
		if strings.TrimSpace(strings.TrimPrefix(hub, "sha256=")) == "" {
			return nil, fail("no signature was sent (the signature headers are empty): the webhook in Gitea, Forgejo or Gogs has no secret; set it to the source's secret")
		}
		var err error
		if v, err = cutSignature("X-Hub-Signature-256", hub, "sha256="); err != nil {
			return nil, err
		}
		name = "X-Hub-Signature-256"
	}
	sig := decodeHexDigest(sha256.New, v)
	if sig == nil {
		return nil, fail("%s is not a hex SHA-256 digest", name)
	}
	return sig, nil
}

// payload returns the signed payload: the query's payload for a GET, the
// form's payload for a form body, else the body itself. wrapped reports
// whether it came out of a form or query. A form or query that carries
// anything but one payload is refused: the rest would not be signed.
func (g *gitea) payload(r *Request) (p []byte, wrapped bool, err error) {
	if r.Method == http.MethodGet {
		if len(r.Body) > 0 {
			return nil, false, fail("a GET delivery has no body")
		}
		vals := r.Query["payload"]
		if len(vals) != 1 || vals[0] == "" {
			return nil, false, fail("a GET delivery needs one payload query parameter")
		}
		return []byte(vals[0]), true, nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != formType {
		return r.Body, false, nil
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, false, fail("the form body does not parse")
	}
	vals := form["payload"]
	if len(form) != 1 || len(vals) != 1 || vals[0] == "" {
		return nil, false, fail("a form delivery carries one payload field and nothing else")
	}
	return []byte(vals[0]), true, nil
}

// Payload returns the JSON payload of a verified form or GET delivery.
func (g *gitea) Payload(r *Request) ([]byte, bool) {
	p, wrapped, err := g.payload(r)
	return p, wrapped && err == nil
}

// AcceptsGET: Gitea and Forgejo offer "HTTP method: GET".
func (*gitea) AcceptsGET() {}

func (g *gitea) DeliveryID(r *Request) string {
	v, _ := firstHeader(r, giteaDelivery...)
	return v
}

func (g *gitea) Event(r *Request) string {
	v, _ := firstHeader(r, giteaEvent...)
	return v
}

// Sign returns the headers of a Gitea delivery with one signature header;
// the signature covers body, the JSON payload, whether that is then sent
// as JSON, as a form field or in the query.
func (g *gitea) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	h := http.Header{}
	h.Set("X-Gitea-Signature", hex.EncodeToString(mac(sha256.New, g.keys[0], body)))
	h.Set("X-Gitea-Event", m.event("push"))
	h.Set("X-Gitea-Delivery", m.id(newUUID))
	h.Set("Content-Type", "application/json")
	return h, nil
}

// RedactBody replaces the secret where the sender put it in the payload:
// Gogs, and Gitea before 1.14, sent the webhook's secret as its "secret"
// field (Gogs internal/database/webhook.go, p.SetSecret).
func (g *gitea) RedactBody(body []byte) []byte { return redactSecrets(body, g.keys) }
