package verify

import (
	"fmt"
	"testing"
)

// Secrets.Body replaces the JSON strings equal to a secret however they
// are escaped, keys included, and nothing else; In finds a secret inside a
// value.
func TestSecretsBody(t *testing.T) {
	s := NewSecrets([]string{"tok-SECRET-1", "abc", "other-secret"}, 4)
	for _, tc := range []struct{ in, want string }{
		{`{"a":"tok-SECRET-1"}`, `{"a":"[redacted]"}`},
		{`{"tok-SECRET-1":1}`, `{"[redacted]":1}`},
		{`{"a":"tok\u002dSECRET\u002d1","b":"x\n"}`, `{"a":"[redacted]","b":"x\n"}`},
		{`{"a":"tok-SECRET-1 and more","b":"tok-SECRET-"}`, `{"a":"tok-SECRET-1 and more","b":"tok-SECRET-"}`},
		{`{"a":"q\"tok-SECRET-1","b":"\\","c":"other-secret"}`, `{"a":"q\"tok-SECRET-1","b":"\\","c":"[redacted]"}`},
		{`{"a":"abc"}`, `{"a":"abc"}`}, // too short to redact
		{`["tok-SECRET-1"`, `["[redacted]"`},
		{`{"a":"tok-SECRET-1`, `{"a":"tok-SECRET-1`},
		{`not json "tok-SECRET-1"`, `not json "[redacted]"`},
		// Upper- and lower-cased, as the redactor hides them.
		{`{"a":"TOK-SECRET-1","b":"tok-secret-1","c":"Tok-Secret-1"}`, `{"a":"[redacted]","b":"[redacted]","c":"Tok-Secret-1"}`},
	} {
		if got := string(s.Body([]byte(tc.in))); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
	for v, want := range map[string]bool{"Bearer tok-SECRET-1": true, "Bearer TOK-SECRET-1": true, "OTHER-SECRET": true, "tok-SECRET": false, "abc": false, "": false} {
		if s.In(v) != want {
			t.Errorf("In(%q) = %v", v, !want)
		}
	}
}

// BenchmarkSecretsBody measures the scan of a GitHub-sized push (about
// 7 KB) for two secrets: without a backslash it is skipped after a search
// for each secret; with one (a commit message's \n) every string literal is
// looked at.
func BenchmarkSecretsBody(b *testing.B) {
	s := NewSecrets([]string{"k-0123456789-deploy", "s3cr3t-for-tests-long"}, 4)
	var body []byte
	body = append(body, '{')
	for i := 0; len(body) < 7000; i++ {
		body = fmt.Appendf(body, `"field_%d":"https://api.github.com/repos/octo/app/%d","n%d":%d,`, i, i, i, i)
	}
	plain := append(append([]byte{}, body...), `"message":"fix"}`...)
	escaped := append(append([]byte{}, body...), `"message":"fix\nthe build"}`...)
	for _, c := range []struct {
		name string
		body []byte
	}{{"plain", plain}, {"backslash", escaped}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			for range b.N {
				s.Body(c.body)
			}
		})
	}
}
