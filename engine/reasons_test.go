package engine

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// Requests that senders send when set up against the source's secret,
// through the real server: each is refused 401 with the generic body,
// and its log line says what to fix on the sender's side.
func TestRefusalReasonsLogged(t *testing.T) {
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("gitlab-signing-key"))
	te := startEngine(t, "", `
sources:
  gitea: {verify: {provider: gitea, secret: gitea-key}}
  gitlab: {verify: {provider: gitlab, secret: gl-token}}
  meta: {verify: {provider: meta, secret: meta-secret, verify_token: vt-1}}
rules:
  - {name: all, sources: [gitea, gitlab, meta], actions: [{shell: {command: ["true"]}}]}
`, nil)
	signedGitLab, err := verify.Sign(verify.Config{Provider: "gitlab", Secrets: []string{whsec}}, []byte(`{}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name, method, path string
		h                  http.Header
		reason             string
	}{
		// Gitea's addDefaultHeaders for a webhook without a secret.
		{"gitea webhook without a secret", "POST", "/hooks/gitea", http.Header{"X-Gitea-Signature": {""}, "X-Gogs-Signature": {""},
			"X-Hub-Signature": {"sha1="}, "X-Hub-Signature-256": {"sha256="}, "X-Gitea-Event": {"push"}, "Content-Type": {"application/json"}},
			`reason="unauthorized: no signature was sent (the signature headers are empty): the webhook in Gitea, Forgejo or Gogs has no secret; set it to the source's secret"`},
		{"gitlab signing token against a token source", "POST", "/hooks/gitlab", signedGitLab,
			`reason="unauthorized: the delivery is signed (webhook-signature) and carries no X-Gitlab-Token: the webhook in GitLab has a signing token; set the source's secret to it (whsec_...)"`},
		{"a browser at a meta source", "GET", "/hooks/meta", http.Header{"Accept": {"text/html"}},
			`reason="unauthorized: a GET without hub.mode is not Meta's subscription check (Meta sends events as signed POSTs)"`},
	} {
		body := []byte(`{"n":` + strconv.Itoa(i) + `}`)
		if tc.method == "GET" {
			body = nil
		}
		a := te.send(tc.method, tc.path, tc.h, body)
		if a.code != 401 || a.raw != "{\"error\":\"unauthorized\"}\n" {
			t.Errorf("%s: %d %s", tc.name, a.code, a.raw)
		}
		if !strings.Contains(te.logs.String(), tc.reason) {
			t.Errorf("%s: no line with %s in\n%s", tc.name, tc.reason, te.logs.String())
		}
	}
	if te.bolt().LastID() != 0 {
		t.Errorf("%d events recorded", te.bolt().LastID())
	}
}
