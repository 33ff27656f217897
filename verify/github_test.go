package verify

import (
	"net/http"
	"testing"
)

// The example from GitHub's "Validating webhook deliveries" page.
func TestGitHubPublishedVector(t *testing.T) {
	p, err := New(Config{Provider: "github", Secrets: []string{"It's a Secret to Everybody"}})
	if err != nil {
		t.Fatal(err)
	}
	const sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	for _, tc := range []struct {
		name string
		sig  string
		body string
		ok   bool
	}{
		{"published", sig, "Hello, World!", true},
		{"body changed", sig, "Hello, World?", false},
		{"signature changed", sig[:len(sig)-1] + "6", "Hello, World!", false},
		{"no prefix", sig[len("sha256="):], "Hello, World!", false},
		{"truncated", sig[:20], "Hello, World!", false},
		{"missing", "", "Hello, World!", false},
		{"not hex", "sha256=zz" + sig[9:], "Hello, World!", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.sig != "" {
				h.Set("X-Hub-Signature-256", tc.sig)
			}
			err := p.Verify(&Request{Header: h, Body: []byte(tc.body)})
			if (err == nil) != tc.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestGitHubNeedsSecret(t *testing.T) {
	for _, secrets := range [][]string{nil, {""}} {
		if _, err := New(Config{Provider: "github", Secrets: secrets}); err == nil {
			t.Fatalf("secrets %q: want an error", secrets)
		}
	}
}
