package engine

import (
	"reflect"
	"testing"
)

func TestParseBody(t *testing.T) {
	for _, tc := range []struct {
		name, ct, raw string
		want          any
	}{
		{"object", "application/json", `{"a":1,"b":"x"}`, map[string]any{"a": 1, "b": "x"}},
		{"big id stays exact", "application/json", `{"id":820982911946154508}`, map[string]any{"id": 820982911946154508}},
		{"float", "application/json", `{"p":25.99,"e":1e3}`, map[string]any{"p": 25.99, "e": 1000.0}},
		{"no content type", "", ` [1, 2.5]`, []any{1, 2.5}},
		{"malformed", "application/json", `{"a":`, nil},
		{"trailing data", "application/json", `{"a":1} {"b":2}`, nil},
		{"empty", "application/json", ``, nil},
		{"text", "text/plain", `hello`, nil},
		{"form", "application/x-www-form-urlencoded", `a=1&b=two&a=3`, map[string]any{"a": "1", "b": "two"}},
		{"github form payload", "application/x-www-form-urlencoded", `payload=%7B%22ref%22%3A%22main%22%7D`, map[string]any{"ref": "main"}},
		{"nesting bomb", "application/json", string(make([]byte, 0)) + deep(20000), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseBody(tc.ct, []byte(tc.raw))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseBody = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func deep(n int) string {
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		b = append(b, '[')
	}
	for i := 0; i < n; i++ {
		b = append(b, ']')
	}
	return string(b)
}
