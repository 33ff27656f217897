package actions

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Errors name the scheme, host and path of the URL that failed, and hide
// only what may be secret: userinfo, the query, and the whole path of a
// URL declared secret (Slack, Discord webhooks).
func TestHTTPErrorsShowWhereTheyWent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		url    string
		redact bool
		want   string
		hidden []string
	}{
		{srv.URL + "/deploys/site", false, "http: POST " + srv.URL + "/deploys/site: 502 Bad Gateway", nil},
		{closed + "/deploys/site", false, "http: POST " + closed + "/deploys/site: dial tcp", nil},
		{closed + "/hook?token=s3cr3t-value", false, "http: POST " + closed + "/hook?…: dial tcp", []string{"s3cr3t-value"}},
		{strings.Replace(closed, "://", "://deploy:pa55word@", 1) + "/hook", false, "http: POST http://…@", []string{"pa55word"}},
		{closed + "/services/T000/B000/XXXXXXXXXXXXXXXX", true, "http: POST " + closed + "/…: dial tcp", []string{"XXXXXXXXXXXXXXXX", "/services"}},
	} {
		_, err := (&HTTP{URL: tc.url, Redact: tc.redact}).Run(context.Background(), &Input{})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Fatalf("%s: error %v, want it to start with %q", tc.url, err, tc.want)
		}
		for _, h := range tc.hidden {
			if strings.Contains(err.Error(), h) {
				t.Fatalf("%s: error shows %q: %v", tc.url, h, err)
			}
		}
	}
}
