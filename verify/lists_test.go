package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// PagerDuty's v3 scheme with the generic provider: X-PagerDuty-Signature
// is a comma separated list of "v1=<hex HMAC-SHA256 of the body>", one per
// secret while PagerDuty rotates it; one match is enough (PagerDuty/
// developer-docs docs/webhooks/04-Signatures.md).
func TestPagerDutySignatureList(t *testing.T) {
	const (
		secret = "pd-secret"
		body   = `{"event":{"id":"01DEN4HPBQAAAG05V5QQYBRZMF","event_type":"incident.triggered"}}`
	)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	good := "v1=" + hex.EncodeToString(m.Sum(nil))
	other := "v1=" + hex.EncodeToString(make([]byte, 32))
	h := map[string]string{"X-PagerDuty-Signature": other + "," + good}
	hdr := func(v string) map[string]string { return with(h, "X-PagerDuty-Signature", v) }
	cfg := Config{Provider: "hmac", Secrets: []string{secret}, Header: "X-PagerDuty-Signature", Prefix: "v1=", Separator: ","}
	runVectors(t, cfg, []vector{
		{"rotating: old then new", h, body, 0, true},
		{"alone", hdr(good), body, 0, true},
		{"among malformed and other versions", hdr("v1=zz,v2=" + good[3:] + ",v1=," + good + ",garbage"), body, 0, true},
		{"with spaces and empty entries", hdr(" ," + other + " , ," + good + " ,"), body, 0, true},
		{"ten entries, the last good", hdr(strings.Repeat(other+",", 9) + good), body, 0, true},
		{"eleven entries", hdr(strings.Repeat(other+",", 10) + good), body, 0, false},
		{"eleven entries, the first good", hdr(good + strings.Repeat(","+other, 10)), body, 0, false},
		{"many empty entries do not count", hdr(strings.Repeat(",", 50) + good), body, 0, true},
		{"only malformed", hdr("v1=zz,v1=,v2=" + good[3:] + "," + good[3:]), body, 0, false},
		{"only empty entries", hdr(", , ,"), body, 0, false},
		{"only wrong signatures", hdr(other + "," + other), body, 0, false},
		{"body changed", h, body + " ", 0, false},
		{"joined by another separator", hdr(other + " " + good), body, 0, false},
	})
	// Without a separator the header is one signature, as before.
	single := cfg
	single.Separator = ""
	runVectors(t, single, []vector{
		{"one", hdr(good), body, 0, true},
		{"a list", h, body, 0, false},
	})
	// A space separated list.
	spaced := cfg
	spaced.Separator = " "
	runVectors(t, spaced, []vector{
		{"space separated", hdr(other + " " + good), body, 0, true},
		{"comma separated", h, body, 0, false},
	})
}

func TestSeparatorErrors(t *testing.T) {
	for _, tc := range []struct {
		c   Config
		msg string
	}{
		{Config{Separator: "a"}, "encoding"},
		{Config{Separator: "=", Encoding: "base64"}, "encoding"},
		{Config{Separator: "+", Encoding: "base64"}, "encoding"},
		{Config{Separator: ":", Prefix: "v1:"}, "prefix"},
	} {
		c := tc.c
		c.Provider, c.Secrets, c.Header = "hmac", []string{"s"}, "X-Sig"
		_, err := New(c)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "separator" || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("%+v: %v", tc.c, err)
		}
	}
}
