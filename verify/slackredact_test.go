package verify

import (
	"net/url"
	"testing"
)

// Slack's verification token is replaced in every body shape Slack sends
// it in, and nothing else changes.
func TestSlackRedactsVerificationToken(t *testing.T) {
	const tok = "gIkuvaNzQIHg97ATvDxqgjtO"
	payload := `{"type":"block_actions","token":"` + tok + `","user":{"id":"U1"},"actions":[{"value":"approve"}]}`
	for _, tc := range []struct{ name, in, want string }{
		{"slash command", "token=" + tok + "&team_id=T0001&command=%2Fdeploy&text=prod",
			"token=%5Bredacted%5D&team_id=T0001&command=%2Fdeploy&text=prod"},
		{"token not first", "team_id=T0001&token=" + tok + "&text=a+b", "team_id=T0001&token=%5Bredacted%5D&text=a+b"},
		{"interactivity", "payload=" + url.QueryEscape(payload),
			"payload=" + url.QueryEscape(`{"type":"block_actions","token":"[redacted]","user":{"id":"U1"},"actions":[{"value":"approve"}]}`)},
		{"events API", `{"token":"` + tok + `","team_id":"T1","event":{"type":"app_mention","text":"hi"},"type":"event_callback"}`,
			`{"token":"[redacted]","team_id":"T1","event":{"type":"app_mention","text":"hi"},"type":"event_callback"}`},
		{"no token", "team_id=T0001&text=token", "team_id=T0001&text=token"},
		{"empty token", "token=&text=x", "token=&text=x"},
		{"a token deeper only", `{"event":{"token":"x"}}`, `{"event":{"token":"x"}}`},
		{"not JSON", `{"token":`, `{"token":`},
	} {
		p := mustNew(t, testConfigs["slack"]).(BodyRedactor)
		if got := string(p.RedactBody([]byte(tc.in))); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
