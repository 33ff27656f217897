package ui

import (
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// Every provider the empty state offers a hookd sign command for signs
// with the secret alone, the body as it is.
func TestSignArgsNeedOnlyASecret(t *testing.T) {
	for name, args := range signArgs {
		c := verify.Config{Provider: name}
		if strings.Contains(args, "-secret") {
			c.Secrets = []string{"whsec_c2VjcmV0"} // standard's form; a plain string for the others
		}
		body := []byte(`{"id":"1"}`)
		sent, _, err := verify.SignRequest(c, body, time.Now(), verify.Meta{})
		if err != nil || string(sent) != string(body) {
			t.Errorf("%s: hookd sign %s: %v (body %q)", name, args, err, sent)
		}
	}
}
