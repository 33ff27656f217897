package verify

import (
	"bytes"
	"encoding/json"
)

// redactJSONStrings replaces by "[redacted]" every string literal of a JSON
// body whose decoded value secret reports true for, keys included. A
// sender may escape any character of a string (`\/`, `\u002B`: PHP and
// .NET's System.Text.Json do by default), so literals are compared after
// decoding, not as bytes; only literals that could decode to minLen..maxLen
// bytes are decoded. Everything else is kept byte for byte; a body
// that is not JSON is scanned the same way and may keep its text.
func redactJSONStrings(body []byte, minLen, maxLen int, secret func(string) bool) []byte {
	var out []byte // nil until a literal is replaced
	last := 0      // body[last:] is not yet copied to out
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		end := literalEnd(body, i)
		if end < 0 {
			break
		}
		// Escaping only lengthens: a byte takes at most 6 (\u00XX).
		var s string
		if n := end - i - 2; n >= minLen && n <= 6*maxLen &&
			json.Unmarshal(body[i:end], &s) == nil && secret(s) {
			out = append(append(out, body[last:i]...), `"`+redacted+`"`...)
			last = end
		}
		i = end - 1
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

// literalEnd returns the index just past the JSON string literal opening at
// body[start], or -1 when it does not close.
func literalEnd(body []byte, start int) int {
	for j := start + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
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
	return redactJSONStrings(body, lo, hi, func(s string) bool {
		for _, k := range keys {
			if len(k) == len(s) {
				return sameSecret(keys, []byte(s))
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
