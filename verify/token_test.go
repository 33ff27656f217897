package verify

import (
	"net/http"
	"testing"
)

// With header Authorization, the token is taken alone or after any scheme
// in any case; a secret written with its scheme matches that scheme in any
// case. Any other header compares the whole value.
func TestTokenAuthorization(t *testing.T) {
	for _, tc := range []struct {
		header  string
		secrets []string
		value   string
		ok      bool
	}{
		{"Authorization", []string{"tok-1"}, "tok-1", true},
		{"Authorization", []string{"tok-1"}, "Bearer tok-1", true},
		{"Authorization", []string{"tok-1"}, "bearer tok-1", true},
		{"Authorization", []string{"tok-1"}, "BEARER   tok-1", true},
		{"Authorization", []string{"tok-1"}, "token tok-1", true},
		{"authorization", []string{"tok-1"}, "Bearer tok-1", true},
		{"Authorization", []string{"tok-1"}, "Bearer tok-2", false},
		{"Authorization", []string{"tok-1"}, "Bearer", false},
		{"Authorization", []string{"tok-1"}, "Bearertok-1", false},
		{"Authorization", []string{"tok-1"}, "Bearer tok-1x", false},
		{"Authorization", []string{"tok-1"}, "Be@rer tok-1", false}, // not a scheme
		{"Authorization", []string{"tok-1"}, "tok-1 Bearer", false},
		{"Authorization", []string{"Bearer tok-1"}, "Bearer tok-1", true},
		{"Authorization", []string{"Bearer tok-1"}, "bearer tok-1", true},
		{"Authorization", []string{"Bearer tok-1"}, "BEARER tok-1", true},
		{"Authorization", []string{"Bearer tok-1"}, "Bearer  tok-1", true},
		{"Authorization", []string{"Bearer tok-1"}, "tok-1", false},
		{"Authorization", []string{"Bearer tok-1"}, "Token tok-1", false},
		{"Authorization", []string{"Bearer tok-1"}, "bearer TOK-1", false}, // the token keeps its case
		{"Authorization", []string{"old", "Bearer new"}, "Bearer old", true},
		{"Authorization", []string{"old", "Bearer new"}, "bearer new", true},
		{"X-Token", []string{"tok-1"}, "tok-1", true},
		{"X-Token", []string{"tok-1"}, "Bearer tok-1", false},
		{"X-Token", []string{"Bearer tok-1"}, "bearer tok-1", false},
	} {
		p, err := New(Config{Provider: "token", Secrets: tc.secrets, Header: tc.header})
		if err != nil {
			t.Fatal(err)
		}
		err = p.Verify(&Request{Header: http.Header{http.CanonicalHeaderKey(tc.header): {tc.value}}})
		if (err == nil) != tc.ok {
			t.Errorf("%s: %q against %q: %v, want ok=%v", tc.header, tc.value, tc.secrets, err, tc.ok)
		}
	}
}
