package verify

import (
	"bytes"
	"encoding/json"
	"strings"
)

// redactJSONStrings replaces by "[redacted]" every string literal of a JSON
// body whose decoded value secret reports true for, keys included. A
// sender may escape any character of a string (`\/`, `\u002B`: PHP and
// .NET's System.Text.Json do by default), so literals are compared after
// decoding, not as bytes; only literals that could decode to minLen..maxLen
// bytes are looked at, and only those with a backslash are decoded (the
// others are their value). Everything else is kept byte for byte; a body
// that is not JSON is scanned the same way and may keep its text.
func redactJSONStrings(body []byte, minLen, maxLen int, secret func([]byte) bool) []byte {
	var out []byte // nil until a literal is replaced
	last := 0      // body[last:] is not yet copied to out
	for i := 0; i < len(body); {
		q := bytes.IndexByte(body[i:], '"')
		if q < 0 {
			break
		}
		i += q
		end := literalEnd(body, i)
		if end < 0 {
			break
		}
		// Escaping only lengthens: a byte takes at most 6 (\u00XX).
		if n := end - i - 2; n >= minLen && n <= 6*maxLen && secret(literalValue(body[i:end])) {
			out = append(append(out, body[last:i]...), `"`+redacted+`"`...)
			last = end
		}
		i = end
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

// literalValue is the decoded value of the JSON string literal lit (quotes
// included), or nil when it does not decode.
func literalValue(lit []byte) []byte {
	raw := lit[1 : len(lit)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var s string
	if json.Unmarshal(lit, &s) != nil {
		return nil
	}
	return []byte(s)
}

// literalEnd returns the index just past the JSON string literal opening at
// body[start], or -1 when it does not close.
func literalEnd(body []byte, start int) int {
	for j := start + 1; j < len(body); j++ {
		k := bytes.IndexByte(body[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0 // backslashes before the quote: an odd number escapes it
		for b := j - 1; b > start && body[b] == '\\'; b-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
	}
	return -1
}

// redactSecrets replaces every JSON string of body whose value is one of
// keys (compared in constant time) by "[redacted]", however it is escaped.
func redactSecrets(body []byte, keys [][]byte) []byte {
	if len(keys) == 0 || !mayHoldSecret(body, keys) {
		return body
	}
	lo, hi := len(keys[0]), 0
	for _, k := range keys {
		lo, hi = min(lo, len(k)), max(hi, len(k))
	}
	return redactJSONStrings(body, lo, hi, func(s []byte) bool {
		for _, k := range keys {
			if len(k) == len(s) {
				return sameSecret(keys, s)
			}
		}
		return false
	})
}

// mayHoldSecret reports whether body may hold one of keys, escaped or
// not: a cheap test before scanning (an escaped key needs a backslash).
func mayHoldSecret(body []byte, keys [][]byte) bool {
	if bytes.IndexByte(body, '\\') >= 0 {
		return true
	}
	for _, k := range keys {
		if bytes.Contains(body, k) {
			return true
		}
	}
	return false
}

// Secrets finds a configuration's secrets in what a sender sent, so that
// what hookd records of a request holds none in clear. It is built once
// per configuration and is safe for concurrent use.
type Secrets struct {
	keys [][]byte
	strs []string
}

// NewSecrets returns the finder of secrets, and of their upper- and
// lower-case forms (as the redactor hides them), leaving out those
// shorter than minLen (too short to redact: they would hide ordinary
// words).
func NewSecrets(secrets []string, minLen int) *Secrets {
	s := &Secrets{}
	seen := map[string]bool{}
	for _, sec := range secrets {
		for _, form := range []string{sec, strings.ToUpper(sec), strings.ToLower(sec)} {
			if len(form) >= minLen && !seen[form] {
				seen[form] = true
				s.keys, s.strs = append(s.keys, []byte(form)), append(s.strs, form)
			}
		}
	}
	return s
}

// In reports whether v holds one of the secrets.
func (s *Secrets) In(v string) bool {
	for _, k := range s.strs {
		if len(v) >= len(k) && strings.Contains(v, k) {
			return true
		}
	}
	return false
}

// Body returns body with each JSON string whose value is one of the
// secrets replaced by "[redacted]", however the sender escaped it; body
// itself when there is none (a body without a backslash or a secret's
// bytes is not scanned).
func (s *Secrets) Body(body []byte) []byte { return redactSecrets(body, s.keys) }
