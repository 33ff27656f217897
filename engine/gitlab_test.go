package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// A gitlab source with a token and a signing token takes either, through
// the real server; the event is X-Gitlab-Event and the id Idempotency-Key.
func TestGitLabTokenOrSignature(t *testing.T) {
	const signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	te := startEngine(t, "", `
sources:
  gitlab:
    verify: {provider: gitlab, secrets: [gl-token, "`+signing+`"], tolerance: 2m}
rules:
  - name: r
    source: gitlab
    actions: [{shell: {script: 'printf "%s|%s\n" "$HOOKD_EVENT" "$HOOKD_DELIVERY_ID" >> "$OUT"', env: {OUT: "$DIR/ran"}}}]
`, nil)
	key, _ := base64.StdEncoding.DecodeString(signing[len("whsec_"):])
	body := []byte(`{"object_kind":"push","ref":"refs/heads/main"}`)
	// As GitLab builds it: webhook-id is the Idempotency-Key.
	signedAt := func(id string, at time.Time, k []byte) http.Header {
		ts := strconv.FormatInt(at.Unix(), 10)
		m := hmac.New(sha256.New, k)
		m.Write([]byte(id + "." + ts + "." + string(body)))
		return http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Event": {"Push Hook"}, "Idempotency-Key": {id},
			"X-Gitlab-Event-Uuid": {id + "-event"}, "Webhook-Id": {id}, "Webhook-Timestamp": {ts},
			"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))}}
	}
	now := time.Now()
	for _, tc := range []struct {
		what string
		h    http.Header
		code int
	}{
		{"signed", signedAt("id-signed", now, key), 200},
		{"token", http.Header{"X-Gitlab-Token": {"gl-token"}, "X-Gitlab-Event": {"Push Hook"}, "Idempotency-Key": {"id-token"}}, 200},
		{"signed with another key", signedAt("id-wrong", now, []byte("other")), 401},
		{"signed three minutes ago", signedAt("id-old", now.Add(-3*time.Minute), key), 401},
		{"wrong token", http.Header{"X-Gitlab-Token": {"other"}, "X-Gitlab-Event": {"Push Hook"}}, 401},
	} {
		if a := te.send("POST", "/hooks/gitlab", tc.h, body); a.code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.what, a.code, a.raw, tc.code)
		}
	}
	te.waitJobs(2)
	got := readLines(t, filepath.Join(te.dir, "ran"))
	slices.Sort(got)
	if want := []string{"Push Hook|id-signed", "Push Hook|id-token"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}
