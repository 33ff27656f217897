package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
)

// A GitLab delivery signed as GitLab's docs show it: the key is the base64
// after whsec_ (Base64.strict_decode64(token.delete_prefix('whsec_'))), the
// signed content "<webhook-id>.<webhook-timestamp>.<body>", the header
// "v1,<base64 digest>", and webhook-id equal to Idempotency-Key.
func TestGitLabSigningToken(t *testing.T) {
	const (
		token = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id    = "f3b8a3a5-3f0e-4a4c-9d51-6ad5f8f0b0a1"
		ts    = "1700000000"
		now   = 1700000000
		body  = `{"object_kind":"push","ref":"refs/heads/main"}`
	)
	key, err := base64.StdEncoding.DecodeString(token[len("whsec_"):])
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key []byte) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "." + body))
		return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	sig := sign(key)
	h := map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig,
		"Idempotency-Key": id, "X-Gitlab-Event": "Push Hook"}
	signedOnly := Config{Provider: "gitlab", Secrets: []string{token}}
	runVectors(t, signedOnly, []vector{
		{"as GitLab signs it", h, body, now, true},
		{"among other versions and signatures", with(h, "webhook-signature", "v1a,abc "+sign([]byte("old"))+" "+sig), body, now, true},
		{"keyed with the token as text", with(h, "webhook-signature", sign([]byte(token))), body, now, false},
		{"body changed", h, body + " ", now, false},
		{"id changed", with(h, "webhook-id", id+"x"), body, now, false},
		{"too old", h, body, now + 301, false},
		{"too far in the future", h, body, now - 301, false},
		{"no timestamp", with(h, "webhook-timestamp", ""), body, now, false},
		{"a token instead", map[string]string{"X-Gitlab-Token": token}, body, now, false},
	})
	both := Config{Provider: "gitlab", Secrets: []string{"plain-token", token}}
	runVectors(t, both, []vector{
		{"signed", h, body, now, true},
		{"token", map[string]string{"X-Gitlab-Token": "plain-token"}, body, now, true},
		{"signed badly, with the right token", with(with(h, "webhook-signature", sign([]byte("x"))), "X-Gitlab-Token", "plain-token"), body, now, false},
		{"wrong token", map[string]string{"X-Gitlab-Token": "other"}, body, now, false},
		{"the signing token sent as the token", map[string]string{"X-Gitlab-Token": token}, body, now, false},
		{"nothing", map[string]string{"X-Gitlab-Event": "Push Hook"}, body, now, false},
	})
	tokenOnly := Config{Provider: "gitlab", Secrets: []string{"plain-token"}}
	runVectors(t, tokenOnly, []vector{
		{"signed, no signing token configured", h, body, now, false},
		{"signed and the token", with(h, "X-Gitlab-Token", "plain-token"), body, now, true},
	})

	p := mustNew(t, signedOnly)
	r := &Request{Header: signed(t, signedOnly, body, t0).Header}
	if r.Header.Get("X-Gitlab-Token") != "" || r.Header.Get("webhook-id") != r.Header.Get("Idempotency-Key") {
		t.Errorf("Sign with a signing token: %v", r.Header)
	}
	if got := p.DeliveryID(&Request{Header: map[string][]string{"Webhook-Id": {id}}}); got != id {
		t.Errorf("delivery id from webhook-id: %q", got)
	}
	if _, err := New(Config{Provider: "gitlab", Secrets: []string{"whsec_not base64!"}}); err == nil {
		t.Error("a signing token that is not base64 was accepted")
	}
	var fe *FieldError
	if _, err := New(Config{Provider: "gitlab", Secrets: []string{"plain-token"}, Tolerance: 60e9}); !errors.As(err, &fe) || fe.Field != "tolerance" {
		t.Errorf("tolerance without a signing token: %v", err)
	}
}
