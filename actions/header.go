package actions

import (
	"fmt"
	"net/http"
	"sort"
)

// badHeader says which header can never be sent: a name that is not an
// HTTP token, or a value holding a control character (a newline rendered
// from a payload, say). net/http refuses such a request at every attempt,
// so it is no network error to retry. The value is never shown: it may
// carry a secret.
func badHeader(h http.Header) error {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "" {
			return fmt.Errorf("a header has an empty name")
		}
		for i := 0; i < len(k); i++ {
			if !isTokenByte(k[i]) {
				return fmt.Errorf("header name %q holds %s, which HTTP forbids in a name", k, describeByte(k[i]))
			}
		}
		for _, v := range h[k] {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c != '\t' && (c < ' ' || c == 0x7f) {
					return fmt.Errorf("header %s: its value holds %s, which HTTP forbids in a header (at byte %d of %d)", http.CanonicalHeaderKey(k), describeByte(c), i+1, len(v))
				}
			}
		}
	}
	return nil
}

func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func describeByte(c byte) string {
	switch c {
	case '\n':
		return "a newline"
	case '\r':
		return "a carriage return"
	case ' ':
		return "a space"
	case 0:
		return "a NUL byte"
	}
	if c < ' ' || c == 0x7f {
		return fmt.Sprintf("the control character 0x%02x", c)
	}
	if c >= 0x80 {
		return "a non-ASCII byte"
	}
	return fmt.Sprintf("%q", string(c))
}
