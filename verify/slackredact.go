package verify

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
)

// RedactBody replaces Slack's deprecated verification token, a credential
// Slack still sends in every request, by "[redacted]": the top-level
// "token" of an Events API body (JSON), the token field of a slash
// command's form, and the "token" of an interactivity form's payload
// (JSON). The signature was checked on the bytes as sent; the body is
// recorded, and rules see it, with the token replaced. Nothing else
// changes, byte for byte.
// https://api.slack.com/authentication/verifying-requests-from-slack#verification_token_deprecation
func (s *slack) RedactBody(body []byte) []byte {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return redactJSONToken(body)
	}
	if !bytes.Contains(body, []byte("token=")) && !bytes.Contains(body, []byte("payload=")) {
		return body
	}
	parts := strings.Split(string(body), "&")
	changed := false
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		switch k {
		case "token":
			if v != "" {
				parts[i], changed = "token="+url.QueryEscape(redacted), true
			}
		case "payload":
			dv, err := url.QueryUnescape(v)
			if err != nil {
				continue
			}
			if r := redactJSONToken([]byte(dv)); !bytes.Equal(r, []byte(dv)) {
				parts[i], changed = "payload="+url.QueryEscape(string(r)), true
			}
		}
	}
	if !changed {
		return body
	}
	return []byte(strings.Join(parts, "&"))
}

const redacted = "[redacted]"

// redactJSONToken replaces the body's top-level "token" by "[redacted]",
// and every other JSON string of the same value, however it is escaped.
func redactJSONToken(body []byte) []byte {
	if !bytes.Contains(body, []byte(`"token"`)) {
		return body
	}
	var top struct {
		Token json.RawMessage `json:"token"`
	}
	var tok string
	if json.Unmarshal(body, &top) != nil || json.Unmarshal(top.Token, &tok) != nil || tok == "" {
		return body
	}
	return redactJSONStrings(body, len(tok), len(tok), func(s []byte) bool { return string(s) == tok })
}
