package verify

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The reason a refusal is logged with points the operator at what to fix:
// a sender that sent its signature headers empty (its webhook has no
// secret) is told apart from a malformed signature, a GitLab delivery of
// the other kind of secret is named, and a GET to a meta source that is
// no subscription check is called that. No reason holds a secret.
func TestRefusalReasons(t *testing.T) {
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("gitlab-signing-key"))
	now := time.Now()
	ts := func() string { return now.Format(time.RFC3339) }
	unix := func() string { return strconv.FormatInt(now.Unix(), 10) }
	for _, tc := range []struct {
		name   string
		c      Config
		method string
		h      map[string]string
		query  string
		want   string
	}{
		{"gitea webhook without a secret", Config{Provider: "gitea"}, "POST",
			map[string]string{"X-Gitea-Signature": "", "X-Gogs-Signature": "", "X-Hub-Signature": "sha1=", "X-Hub-Signature-256": "sha256=", "X-Gitea-Event": "push"}, "",
			"no signature was sent (the signature headers are empty): the webhook in Gitea, Forgejo or Gogs has no secret"},
		{"forgejo webhook without a secret", Config{Provider: "gitea"}, "POST",
			map[string]string{"X-Forgejo-Signature": "", "X-Gitea-Signature": "", "X-Gogs-Signature": "", "X-Hub-Signature-256": "sha256="}, "",
			"no signature was sent"},
		{"gogs webhook without a secret", Config{Provider: "gitea"}, "POST", map[string]string{"X-Gogs-Signature": ""}, "", "no signature was sent"},
		{"gitea GET without a secret", Config{Provider: "gitea"}, "GET", map[string]string{"X-Gitea-Signature": "", "X-Hub-Signature-256": "sha256="}, "payload=%7B%7D", "no signature was sent"},
		{"gitea, no signature header", Config{Provider: "gitea"}, "POST", nil, "", "missing X-Gitea-Signature"},
		{"gitea, malformed", Config{Provider: "gitea"}, "POST", map[string]string{"X-Gitea-Signature": "zz"}, "", "X-Gitea-Signature is not a hex SHA-256 digest"},
		{"gitea, malformed X-Hub-Signature-256", Config{Provider: "gitea"}, "POST", map[string]string{"X-Gitea-Signature": "", "X-Hub-Signature-256": "sha256=zz"}, "", "X-Hub-Signature-256 is not a hex SHA-256 digest"},
		{"gitlab token source, signed delivery", Config{Provider: "gitlab"}, "POST",
			map[string]string{"webhook-id": "msg_1", "webhook-timestamp": unix(), "webhook-signature": "v1,AAAA", "X-Gitlab-Event": "Push Hook"}, "",
			"the delivery is signed (webhook-signature) and carries no X-Gitlab-Token: the webhook in GitLab has a signing token; set the source's secret to it (whsec_...)"},
		{"gitlab token source, nothing", Config{Provider: "gitlab"}, "POST", nil, "", "missing X-Gitlab-Token"},
		{"gitlab signing source, token delivery", Config{Provider: "gitlab", Secrets: []string{whsec}}, "POST", map[string]string{"X-Gitlab-Token": "tok-guess"}, "",
			"the delivery carries X-Gitlab-Token and no webhook-signature"},
		{"gitlab signing source, nothing", Config{Provider: "gitlab", Secrets: []string{whsec}}, "POST", nil, "", "missing webhook-signature (the source has a signing token only)"},
		{"meta GET without hub.mode (a browser)", Config{Provider: "meta"}, "GET", map[string]string{"Accept": "text/html"}, "", "a GET without hub.mode is not Meta's subscription check"},
		{"meta GET with a typo'd query", Config{Provider: "meta"}, "GET", nil, "hub_mode=subscribe", "a GET without hub.mode is not Meta's subscription check"},
		{"meta POST, sha256= alone", Config{Provider: "meta"}, "POST", map[string]string{"X-Hub-Signature-256": "sha256="}, "", "no signature was sent (X-Hub-Signature-256 holds sha256= and no digest)"},
		{"meta POST, unsigned", Config{Provider: "meta"}, "POST", nil, "", "missing X-Hub-Signature-256"},
		{"github, sent empty", Config{Provider: "github"}, "POST", map[string]string{"X-Hub-Signature-256": ""}, "", "no signature was sent (X-Hub-Signature-256 is empty)"},
		{"github, sha256= alone", Config{Provider: "github"}, "POST", map[string]string{"X-Hub-Signature-256": "sha256="}, "", "no signature was sent (X-Hub-Signature-256 holds sha256= and no digest)"},
		{"github, absent", Config{Provider: "github"}, "POST", nil, "", "missing X-Hub-Signature-256"},
		{"github, malformed", Config{Provider: "github"}, "POST", map[string]string{"X-Hub-Signature-256": "sha256=zz"}, "", "X-Hub-Signature-256 is not a hex SHA-256 digest"},
		{"github, no prefix", Config{Provider: "github"}, "POST", map[string]string{"X-Hub-Signature-256": "zz"}, "", "X-Hub-Signature-256 lacks the sha256= prefix"},
		{"bitbucket, sha256= alone", Config{Provider: "bitbucket"}, "POST", map[string]string{"X-Hub-Signature": "sha256="}, "", "no signature was sent (X-Hub-Signature holds sha256= and no digest)"},
		{"jira, sha256= alone", Config{Provider: "jira"}, "POST", map[string]string{"X-Hub-Signature": "sha256="}, "", "no signature was sent"},
		{"intercom, sha1= alone", Config{Provider: "intercom"}, "POST", map[string]string{"X-Hub-Signature": "sha1="}, "", "no signature was sent (X-Hub-Signature holds sha1= and no digest)"},
		{"intercom, sent empty", Config{Provider: "intercom"}, "POST", map[string]string{"X-Hub-Signature": ""}, "", "no signature was sent (X-Hub-Signature is empty)"},
		{"typeform, sha256= alone", Config{Provider: "typeform"}, "POST", map[string]string{"Typeform-Signature": "sha256="}, "", "no signature was sent"},
		{"sentry, sent empty", Config{Provider: "sentry"}, "POST", map[string]string{"Sentry-Hook-Signature": ""}, "", "no signature was sent (Sentry-Hook-Signature is empty)"},
		{"slack, v0= alone", Config{Provider: "slack"}, "POST", map[string]string{"X-Slack-Request-Timestamp": unix(), "X-Slack-Signature": "v0="}, "", "no signature was sent (X-Slack-Signature holds v0= and no digest)"},
		{"twitch, sha256= alone", Config{Provider: "twitch"}, "POST",
			map[string]string{twitchID: "m1", twitchTS: ts(), twitchSig: "sha256="}, "", "no signature was sent (Twitch-Eventsub-Message-Signature holds sha256= and no digest)"},
		{"hmac with a prefix, prefix alone", Config{Provider: "hmac", Header: "X-Sig", Prefix: "sha256="}, "POST", map[string]string{"X-Sig": "sha256="}, "", "no signature was sent (X-Sig holds sha256= and no digest)"},
		{"hmac, sent empty", Config{Provider: "hmac", Header: "X-Sig"}, "POST", map[string]string{"X-Sig": ""}, "", "no signature was sent (X-Sig is empty)"},
		{"hmac, malformed", Config{Provider: "hmac", Header: "X-Sig"}, "POST", map[string]string{"X-Sig": "zz"}, "", "X-Sig is not a well-formed digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if c.Secrets == nil {
				c.Secrets = []string{"s3cr3t-value"}
			}
			p, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range tc.h {
				h[http.CanonicalHeaderKey(k)] = []string{v}
			}
			q, _ := url.ParseQuery(tc.query)
			body := []byte(`{"object":"page"}`)
			if tc.method == "GET" {
				body = nil
			}
			r := &Request{Method: tc.method, Header: h, Query: q, Body: body, Now: now}
			if g, ok := p.(Greeter); ok {
				if _, greeted, _ := g.Greet(r); greeted {
					t.Fatal("taken for a handshake")
				}
			}
			err = p.Verify(r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("reason %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the reason holds the secret: %v", err)
			}
		})
	}
}
