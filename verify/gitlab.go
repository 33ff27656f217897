package verify

import (
	"net/http"
	"time"
)

// GitLab sends the webhook's secret token itself in X-Gitlab-Token; nothing
// is signed. (GitLab's newer signing token follows Standard Webhooks: use the
// `standard` provider for it.) Idempotency-Key (GitLab 17.4+) stays the same
// across retries; X-Gitlab-Event-UUID identifies the event on older versions.
// https://docs.gitlab.com/user/project/integrations/webhooks/
type gitlab struct{ keys [][]byte }

func init() {
	register("gitlab", Spec{
		Options: []string{"secret", "secrets"},
		New: func(c Config) (Provider, error) {
			keys, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			return &gitlab{keys: keys}, nil
		},
	})
}

func (g *gitlab) Verify(r *Request) error {
	v := r.Header.Get("X-Gitlab-Token")
	if v == "" {
		return fail("missing X-Gitlab-Token")
	}
	if !sameSecret(g.keys, []byte(v)) {
		return fail("X-Gitlab-Token does not match")
	}
	return nil
}

func (g *gitlab) DeliveryID(r *Request) string {
	v, _ := firstHeader(r, "Idempotency-Key", "X-Gitlab-Event-UUID")
	return v
}

func (g *gitlab) Event(r *Request) string { return r.Header.Get("X-Gitlab-Event") }

func (g *gitlab) SensitiveHeaders() []string { return []string{"X-Gitlab-Token"} }
func (g *gitlab) SensitiveQuery() []string   { return nil }

func (g *gitlab) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	id := m.id(newUUID)
	h := http.Header{}
	h.Set("X-Gitlab-Token", string(g.keys[0]))
	h.Set("X-Gitlab-Event", m.event("Push Hook"))
	h.Set("X-Gitlab-Event-UUID", id)
	h.Set("Idempotency-Key", id)
	h.Set("Content-Type", "application/json")
	return h, nil
}
