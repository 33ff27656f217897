package actions

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPSendsRequest(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		wantMethod string
		header     http.Header
		body       []byte
	}{
		{"default POST", "", "POST", http.Header{"Content-Type": {"application/json"}}, []byte(`{"sha":"abc"}`)},
		{"PUT with headers", "PUT", "PUT", http.Header{"Authorization": {"Bearer t0k"}, "X-Multi": {"a", "b"}}, []byte("plain")},
		{"GET without body", "GET", "GET", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seen struct {
				method string
				header http.Header
				body   []byte
				uri    string
			}
			got := make(chan seen, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- seen{r.Method, r.Header.Clone(), b, r.RequestURI}
				io.WriteString(w, "accepted")
			}))
			defer srv.Close()

			a := &HTTP{Client: NewClient(5 * time.Second), Method: tt.method, URL: srv.URL + "/deploys?x=1", Header: tt.header, Body: tt.body}
			res, err := a.Run(context.Background(), &Input{})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Status != 200 || string(res.Output) != "accepted" {
				t.Errorf("result = %d %q, want 200 \"accepted\"", res.Status, res.Output)
			}
			s := <-got
			if s.method != tt.wantMethod {
				t.Errorf("method = %s, want %s", s.method, tt.wantMethod)
			}
			if s.uri != "/deploys?x=1" {
				t.Errorf("request URI = %q", s.uri)
			}
			if !bytes.Equal(s.body, tt.body) {
				t.Errorf("body = %q, want %q", s.body, tt.body)
			}
			for k, vs := range tt.header {
				if g := s.header.Values(k); strings.Join(g, ",") != strings.Join(vs, ",") {
					t.Errorf("header %s = %q, want %q", k, g, vs)
				}
			}
		})
	}
}

func TestHTTPHostHeader(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Host }))
	defer srv.Close()
	a := &HTTP{URL: srv.URL, Header: http.Header{"host": {"status.example.com"}}}
	if _, err := a.Run(context.Background(), &Input{}); err != nil {
		t.Fatal(err)
	}
	if h := <-got; h != "status.example.com" {
		t.Errorf("Host = %q", h)
	}
}

func TestHTTPStatus(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		expect     []int
		wantErr    bool
		permanent  bool
		wantWait   time.Duration // lower bound; 0 means exactly 0
	}{
		{"200", 200, "", nil, false, false, 0},
		{"204", 204, "", nil, false, false, 0},
		{"500 retryable", 500, "", nil, true, false, 0},
		{"503 retry-after seconds", 503, "7", nil, true, false, 7 * time.Second},
		{"429 retry-after seconds", 429, "30", nil, true, false, 30 * time.Second},
		{"429 retry-after date", 429, date, nil, true, false, 80 * time.Second},
		{"408 retryable", 408, "", nil, true, false, 0},
		{"400 permanent", 400, "", nil, true, true, 0},
		{"404 permanent", 404, "", nil, true, true, 0},
		{"304 permanent", 304, "", nil, true, true, 0},
		{"expected 202 got 200", 200, "", []int{202}, true, true, 0},
		{"expected 409", 409, "", []int{200, 409}, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			a := &HTTP{Client: NewClient(5 * time.Second), URL: srv.URL, Expect: tt.expect}
			res, err := a.Run(context.Background(), &Input{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, IsPermanent(err), tt.permanent)
			}
			if res.Status != tt.status {
				t.Errorf("Status = %d, want %d", res.Status, tt.status)
			}
			switch {
			case tt.wantWait == 0 && res.RetryAfter != 0:
				t.Errorf("RetryAfter = %v, want 0", res.RetryAfter)
			case tt.wantWait != 0 && (res.RetryAfter < tt.wantWait || res.RetryAfter > tt.wantWait+15*time.Second):
				t.Errorf("RetryAfter = %v, want about %v", res.RetryAfter, tt.wantWait)
			}
		})
	}
}

// Retrying is the engine's job: the same action value, run twice, must
// report the first failure as retryable and then succeed.
func TestHTTPFailThenSucceed(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "done")
	}))
	defer srv.Close()
	a := &HTTP{Client: NewClient(5 * time.Second), URL: srv.URL, Body: []byte("x")}
	res, err := a.Run(context.Background(), &Input{})
	if err == nil || IsPermanent(err) || res.Status != 500 {
		t.Fatalf("first attempt: status %d, err %v; want a retryable 500", res.Status, err)
	}
	res, err = a.Run(context.Background(), &Input{})
	if err != nil || res.Status != 200 || string(res.Output) != "done" {
		t.Fatalf("second attempt: status %d, output %q, err %v", res.Status, res.Output, err)
	}
	if calls.Load() != 2 {
		t.Errorf("server saw %d requests, want 2", calls.Load())
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&HTTP{Client: NewClient(0), URL: srv.URL}).Run(ctx, &Input{})
	if err == nil {
		t.Fatal("slow server: no error")
	}
	if IsPermanent(err) {
		t.Errorf("timeout is permanent: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestHTTPOutputTail(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 3*MaxOutput/16)
	body = append(body, "THE-END"...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	res, err := (&HTTP{URL: srv.URL}).Run(context.Background(), &Input{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Output) != MaxOutput {
		t.Fatalf("len(Output) = %d, want %d", len(res.Output), MaxOutput)
	}
	if !bytes.Equal(res.Output, body[len(body)-MaxOutput:]) {
		t.Error("Output is not the last MaxOutput bytes of the body")
	}
}

// refusedURL returns an address on which nothing listens.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestHTTPErrorsHideSecrets(t *testing.T) {
	base := refusedURL(t)
	host := strings.TrimPrefix(base, "http://")
	tests := []struct {
		name    string
		url     string
		redact  bool
		hidden  []string
		visible []string
	}{
		{"redacted path", base + "/services/T0/B0/SEKRITPATH", true, []string{"SEKRITPATH", "/services"}, []string{"POST http://" + host + "/…", "connect"}},
		{"query", base + "/hook?token=SEKRITQUERY", false, []string{"SEKRITQUERY"}, []string{"http://" + host + "/hook?…"}},
		{"userinfo", "http://bob:SEKRITPASS@" + host + "/x", false, []string{"SEKRITPASS", "bob"}, []string{"http://…@" + host + "/x"}},
		{"bad scheme", "ftp://example.com/SEKRITPATH", true, []string{"SEKRITPATH"}, []string{"ftp://example.com/…"}},
		{"unparsable", "http://example.com/SEKRITPATH/%zz", true, []string{"SEKRITPATH"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&HTTP{URL: tt.url, Redact: tt.redact}).Run(context.Background(), &Input{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			for _, s := range tt.hidden {
				if strings.Contains(msg, s) {
					t.Errorf("error %q contains %q", msg, s)
				}
			}
			for _, s := range tt.visible {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q lacks %q", msg, s)
				}
			}
		})
	}
}

// A server that echoes the request (as some error pages do) must not put a
// redacted URL's secret into the kept output.
func TestHTTPOutputHidesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		io.WriteString(w, "no such hook: "+r.RequestURI)
	}))
	defer srv.Close()
	res, err := (&HTTP{URL: srv.URL + "/services/T0/B0/SEKRITPATH", Redact: true}).Run(context.Background(), &Input{})
	if !IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if bytes.Contains(res.Output, []byte("SEKRITPATH")) || strings.Contains(err.Error(), "SEKRITPATH") {
		t.Errorf("secret leaked: output %q, err %q", res.Output, err)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…"},
		{"https://hooks.example.com", "https://hooks.example.com"},
		{"https://hooks.example.com/", "https://hooks.example.com"},
		{"https://u:p@hooks.example.com", "https://hooks.example.com/…"},
		{"https://hooks.example.com?k=v", "https://hooks.example.com/…"},
		{"http://127.0.0.1:8080/x#frag", "http://127.0.0.1:8080/…"},
		{"not a url", "…"},
		{"%zz", "…"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"-1", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999999999999", 24 * time.Hour},
		{now.Add(45 * time.Second).Format(http.TimeFormat), 45 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(72 * time.Hour).Format(http.TimeFormat), 24 * time.Hour},
		{"Fri, 02 Jan 2026 03:05:05 GMT", time.Minute},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHTTPOutputHidesCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, "bad credentials: "+r.Header.Get("Authorization")+" / "+r.Header.Get("X-Api-Key"))
	}))
	defer srv.Close()
	h := http.Header{"Authorization": {"Bearer SEKRIT-STATUS-TOKEN"}, "x-api-key": {"SEKRIT-KEY"}}
	res, err := (&HTTP{URL: srv.URL, Header: h}).Run(context.Background(), nil)
	if !IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if bytes.Contains(res.Output, []byte("SEKRIT")) || !bytes.Contains(res.Output, []byte("bad credentials")) {
		t.Errorf("output = %q", res.Output)
	}
}
