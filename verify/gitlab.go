package verify

import (
	"net/http"
	"strings"
	"time"
)

// GitLab authenticates a webhook with a secret token, sent as is in
// X-Gitlab-Token, or with a signing token (GitLab 19.0+), which follows
// Standard Webhooks: webhook-id (the Idempotency-Key), webhook-timestamp and
// webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>", keyed
// with the base64 that follows whsec_ in the token. A webhook may have both.
// Secrets that start with whsec_ are signing tokens, the others tokens; a
// request is checked by its signature when it carries one and a signing
// token is configured, else by its token. Idempotency-Key (GitLab 17.4+)
// stays the same across retries; X-Gitlab-Event-UUID identifies the event
// on older versions.
// https://docs.gitlab.com/user/project/integrations/webhooks/#signing-tokens
// https://gitlab.com/gitlab-org/gitlab/-/merge_requests/230944 and 231325
type gitlab struct {
	tokens      [][]byte
	signed      *standard // nil without a signing token
	signedFirst bool      // the first secret is the signing token: Sign uses it
}

func init() {
	register("gitlab", Spec{
		Options: []string{"secret", "secrets", "tolerance"},
		New:     newGitLab,
	})
}

func newGitLab(c Config) (Provider, error) {
	secrets, err := requireSecrets(c)
	if err != nil {
		return nil, err
	}
	g := &gitlab{signedFirst: strings.HasPrefix(string(secrets[0]), "whsec_")}
	var keys [][]byte
	for i, s := range secrets {
		if !strings.HasPrefix(string(s), "whsec_") {
			g.tokens = append(g.tokens, s)
			continue
		}
		k, err := whsecKey(s, i, "a GitLab signing token")
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if keys == nil {
		if c.Tolerance != 0 {
			return nil, &FieldError{Field: "tolerance", Msg: "applies to a signing token (a secret that starts with whsec_) only"}
		}
		return g, nil
	}
	tol, err := toleranceOf(c)
	if err != nil {
		return nil, err
	}
	g.signed = &standard{keys: keys, tol: tol}
	return g, nil
}

func (g *gitlab) Verify(r *Request) error {
	sig := r.Header.Get("webhook-signature")
	tok := r.Header.Get("X-Gitlab-Token")
	switch {
	case sig != "" && g.signed != nil:
		return g.signed.check(r, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), sig, "webhook-")
	case tok != "" && g.tokens != nil:
		if !sameSecret(g.tokens, []byte(tok)) {
			return fail("X-Gitlab-Token does not match")
		}
		return nil
	case g.signed == nil && sig != "":
		return fail("the delivery is signed (webhook-signature) and carries no X-Gitlab-Token: the webhook in GitLab has a signing token; set the source's secret to it (whsec_...)")
	case g.signed == nil:
		return fail("missing X-Gitlab-Token (does the webhook in GitLab have a secret token?)")
	case g.tokens == nil && tok != "":
		return fail("the delivery carries X-Gitlab-Token and no webhook-signature: the webhook in GitLab has a secret token, and the source a signing token only; add the secret token to the source's secrets")
	case g.tokens == nil:
		return fail("missing webhook-signature (the source has a signing token only)")
	}
	return fail("missing X-Gitlab-Token or webhook-signature")
}

func (g *gitlab) DeliveryID(r *Request) string {
	v, _ := firstHeader(r, "Idempotency-Key", "webhook-id", "X-Gitlab-Event-UUID")
	return v
}

func (g *gitlab) Event(r *Request) string { return r.Header.Get("X-Gitlab-Event") }

func (g *gitlab) SensitiveHeaders() []string { return []string{"X-Gitlab-Token"} }
func (g *gitlab) SensitiveQuery() []string   { return nil }

// Sign sends the first secret the way GitLab would: signed when it is a
// signing token, else as the token.
func (g *gitlab) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	id := m.id(newUUID)
	h := http.Header{}
	if g.signedFirst {
		g.signed.sign(h, id, body, now)
	} else {
		h.Set("X-Gitlab-Token", string(g.tokens[0]))
	}
	h.Set("X-Gitlab-Event", m.event("Push Hook"))
	h.Set("X-Gitlab-Event-UUID", id)
	h.Set("Idempotency-Key", id)
	h.Set("Content-Type", "application/json")
	return h, nil
}
