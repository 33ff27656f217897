package actions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A header that can never be sent is a permanent failure naming the
// header, never its value; no request leaves.
func TestHTTPBadHeaderIsPermanent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	for _, tc := range []struct {
		name   string
		header http.Header
		want   string
	}{
		{"newline in value", http.Header{"X-Msg": {"line one\nsecret-tail"}}, `header X-Msg: its value holds a newline`},
		{"carriage return", http.Header{"X-Msg": {"a\rsecret-tail"}}, `header X-Msg: its value holds a carriage return`},
		{"NUL", http.Header{"Authorization": {"Bearer \x00secret-tail"}}, `header Authorization: its value holds a NUL byte`},
		{"DEL", http.Header{"X-A": {"ok", "x\x7fsecret-tail"}}, `header X-A: its value holds the control character 0x7f`},
		{"space in name", http.Header{"X Msg": {"secret-tail"}}, `header name "X Msg" holds a space`},
		{"colon in name", http.Header{"X:Msg": {"secret-tail"}}, `header name "X:Msg" holds ":"`},
		{"newline in Host", http.Header{"Host": {"a\nsecret-tail"}}, `header Host: its value holds a newline`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &HTTP{URL: srv.URL + "/h?k=v", Header: tc.header}
			_, err := a.Run(context.Background(), &Input{})
			if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (permanent %v), want permanent %q", err, IsPermanent(err), tc.want)
			}
			if strings.Contains(err.Error(), "secret-tail") {
				t.Fatalf("the header's value is in the error: %v", err)
			}
		})
	}
	// Tabs and non-ASCII text are valid values.
	a := &HTTP{URL: srv.URL, Header: http.Header{"X-Msg": {"a\tb é"}}}
	if _, err := a.Run(context.Background(), &Input{}); err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d requests reached the server, want 1", n)
	}
}
