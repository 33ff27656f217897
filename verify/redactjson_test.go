package verify

import (
	"testing"
)

// A secret a sender puts in the body is redacted however the sender's JSON
// encoder escaped it: PHP escapes "/", .NET's System.Text.Json "+", Go's
// encoder "&", "<" and ">", and any encoder may write \uXXXX.
func TestBodySecretsRedactedWhateverTheEscaping(t *testing.T) {
	const graphKey, giteaKey = "Gr4ph+St4te/K3y==", "s3cr&t<1>"
	for _, tc := range []struct{ provider, in, want string }{
		{"graph", `{"value":[{"clientState":"Gr4ph+St4te/K3y=="}]}`, `{"value":[{"clientState":"[redacted]"}]}`},
		{"graph", `{"value":[{"clientState":"Gr4ph\u002BSt4te/K3y=="}]}`, `{"value":[{"clientState":"[redacted]"}]}`},
		{"graph", `{"value":[{"clientState":"Gr4ph+St4te\/K3y\u003D\u003d"}]}`, `{"value":[{"clientState":"[redacted]"}]}`},
		{"graph", `{"value":[{"clientState":"\u0047r4ph+St4te/K3y==","a":"x\"y"}]}`, `{"value":[{"clientState":"[redacted]","a":"x\"y"}]}`},
		// Not the secret: a longer string holding it, another value.
		{"graph", `{"value":[{"clientState":"Gr4ph+St4te/K3y==","r":"xGr4ph+St4te/K3y==x","n":"Gr4ph+St4te/K3y="}]}`,
			`{"value":[{"clientState":"[redacted]","r":"xGr4ph+St4te/K3y==x","n":"Gr4ph+St4te/K3y="}]}`},
		{"gitea", `{"secret":"s3cr\u0026t\u003c1\u003e","ref":"refs/heads/main","commits":[{"message":"a\nb"}]}`,
			`{"secret":"[redacted]","ref":"refs/heads/main","commits":[{"message":"a\nb"}]}`},
		{"gitea", `{"secret":"s3cr&t<1>","ref":"refs/heads/main"}`, `{"secret":"[redacted]","ref":"refs/heads/main"}`},
		{"gitea", `{"ref":"refs/heads/main","m":"a\\b \"s3cr&t<1>\""}`, `{"ref":"refs/heads/main","m":"a\\b \"s3cr&t<1>\""}`},
		{"slack", `{"token":"gIkuva\/NzQ","event":{"text":"gIkuva/NzQ"},"type":"event_callback"}`,
			`{"token":"[redacted]","event":{"text":"[redacted]"},"type":"event_callback"}`},
		{"graph", `{"value":[{"clientState":"Gr4ph+St4te/K3y==`, `{"value":[{"clientState":"Gr4ph+St4te/K3y==`}, // unclosed
	} {
		c := Config{Provider: tc.provider}
		switch tc.provider {
		case "graph":
			c.Secrets = []string{"other-state", graphKey}
		case "gitea":
			c.Secrets = []string{giteaKey}
		case "slack":
			c = testConfigs["slack"]
		}
		p := mustNew(t, c).(BodyRedactor)
		if got := string(p.RedactBody([]byte(tc.in))); got != tc.want {
			t.Errorf("%s %s:\n got %s\nwant %s", tc.provider, tc.in, got, tc.want)
		}
	}
}
