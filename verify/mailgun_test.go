package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"
)

// Mailgun's JSON and form shapes, and a subaccount's parent-signature.
func TestMailgunShapes(t *testing.T) {
	const ts, token = "1700000000", "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
	sign := func(key string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(ts + token))
		return hex.EncodeToString(m.Sum(nil))
	}
	good, parent, other := sign("sub-key"), sign("primary-key"), sign("another")
	jsonBody := func(sig, par string) string {
		return `{"signature":{"token":"` + token + `","timestamp":"` + ts + `","signature":"` + sig + `","parent-signature":"` + par + `"},"event-data":{"event":"delivered"}}`
	}
	form := url.Values{"timestamp": {ts}, "token": {token}, "signature": {good}, "event": {"delivered"}}.Encode()
	ct := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	runVectors(t, Config{Provider: "mailgun", Secrets: []string{"sub-key"}}, []vector{
		{"json", nil, jsonBody(good, ""), 1700000000, true},
		{"json, wrong", nil, jsonBody(other, ""), 1700000000, false},
		{"json, stale", nil, jsonBody(good, ""), 1700000000 + 301, false},
		{"form", ct, form, 1700000000, true},
		{"form sent as JSON", nil, form, 1700000000, false},
		{"form, token changed", ct, form + "0", 1700000000, false},
	})
	runVectors(t, Config{Provider: "mailgun", Secrets: []string{"primary-key"}}, []vector{
		{"parent-signature", nil, jsonBody(good, parent), 1700000000, true},
		{"parent-signature wrong", nil, jsonBody(good, other), 1700000000, false},
		{"no parent-signature", nil, jsonBody(good, ""), 1700000000, false},
	})
}
