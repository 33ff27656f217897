package rules

import (
	"testing"
	"time"
)

// A template renders values as the sender wrote them: strings as they
// are, other values as compact JSON, with `<`, `>` and `&` kept.
func TestStringify(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"a <b> & c", "a <b> & c"},
		{42, "42"},
		{1.5, "1.5"},
		{true, "true"},
		{[]any{"x<y", 1}, `["x<y",1]`},
		{map[string]any{"msg": "fix <tag> & \"quote\"\n", "a": nil}, `{"a":null,"msg":"fix <tag> & \"quote\"\n"}`},
		{time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), "2026-12-01T10:00:00Z"},
	} {
		got, err := Stringify(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Stringify(%#v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
