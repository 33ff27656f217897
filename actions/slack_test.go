package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	hookPath  = "/services/T0001/B0001/SEKRITHOOKPATH"
	testToken = "xoxb-1234-SEKRITTOKEN"
)

const testBlocks = `[{"type":"section","text":{"type":"mrkdwn","text":"*deployed* abc1234"}}]`

// request is what a test Slack server saw.
type request struct {
	method, path, contentType, auth string
	fields                          map[string]json.RawMessage
}

// slackServer answers every request with answer and reports what it saw.
func slackServer(t *testing.T, answer http.HandlerFunc) (*httptest.Server, <-chan request) {
	t.Helper()
	seen := make(chan request, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var f map[string]json.RawMessage
		if err := json.Unmarshal(b, &f); err != nil {
			t.Errorf("request body is not a JSON object: %v: %q", err, b)
		}
		seen <- request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), f}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func keys(m map[string]json.RawMessage) string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Errorf("%s is not a JSON string", raw)
	}
	return s
}

func sameJSON(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("bad JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Errorf("JSON = %s, want %s", ga, gb)
	}
}

// noSecrets fails the test if the webhook path or the token shows anywhere.
func noSecrets(t *testing.T, err error, res Result) {
	t.Helper()
	for _, s := range []string{"SEKRITHOOKPATH", "/services/T0001", "SEKRITTOKEN", testToken} {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains secret %q", err, s)
		}
		if bytes.Contains(res.Output, []byte(s)) {
			t.Errorf("output %q contains secret %q", res.Output, s)
		}
	}
}

func TestSlackWebhookRequest(t *testing.T) {
	tests := []struct {
		name     string
		slack    Slack
		wantKeys string
	}{
		{"text only", Slack{Text: "deployed octo/site at abc1234"}, "text"},
		{"blocks and text", Slack{Text: "fallback", Blocks: json.RawMessage(testBlocks)}, "blocks,text"},
		{"blocks only", Slack{Blocks: json.RawMessage(testBlocks)}, "blocks"},
		{"all fields", Slack{Text: "hi <@U1> & \"q\"", Blocks: json.RawMessage(testBlocks), Username: "hookd", IconEmoji: ":rocket:"}, "blocks,icon_emoji,text,username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := slackServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
			a := tt.slack
			a.WebhookURL = srv.URL + hookPath
			res, err := a.Run(context.Background(), &Input{})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Status != 200 || string(res.Output) != "ok" {
				t.Errorf("result = %d %q", res.Status, res.Output)
			}
			r := <-seen
			if r.method != "POST" || r.path != hookPath || r.contentType != "application/json" {
				t.Errorf("request = %s %s (%s)", r.method, r.path, r.contentType)
			}
			if r.auth != "" {
				t.Errorf("webhook sent Authorization %q", r.auth)
			}
			if got := keys(r.fields); got != tt.wantKeys {
				t.Errorf("fields = %s, want %s", got, tt.wantKeys)
			}
			if f, ok := r.fields["text"]; ok && str(t, f) != a.Text {
				t.Errorf("text = %s, want %q", f, a.Text)
			}
			if f, ok := r.fields["blocks"]; ok {
				sameJSON(t, f, testBlocks)
			}
			if f, ok := r.fields["username"]; ok && str(t, f) != a.Username {
				t.Errorf("username = %s", f)
			}
			if f, ok := r.fields["icon_emoji"]; ok && str(t, f) != a.IconEmoji {
				t.Errorf("icon_emoji = %s", f)
			}
		})
	}
}

func TestSlackWebhookAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		permanent  bool
		wantInErr  string
		wantWait   time.Duration
	}{
		{"invalid_payload", 400, "invalid_payload", "", true, "400 Bad Request: invalid_payload", 0},
		{"no_text", 400, "no_text\n", "", true, "no_text", 0},
		{"action_prohibited", 403, "action_prohibited", "", true, "action_prohibited", 0},
		{"channel_not_found", 404, "channel_not_found", "", true, "channel_not_found", 0},
		{"channel_is_archived", 410, "channel_is_archived", "", true, "channel_is_archived", 0},
		{"echoes the URL", 404, "no_service for " + hookPath, "", true, "no_service for …", 0},
		{"rollup_error", 500, "rollup_error", "", false, "rollup_error", 0},
		{"rate limited", 429, "rate_limited", "12", false, "429 Too Many Requests", 12 * time.Second},
		{"unavailable", 503, "", "", false, "503 Service Unavailable", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := slackServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			res, err := (&Slack{WebhookURL: srv.URL + hookPath, Text: "x"}).Run(context.Background(), &Input{})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", IsPermanent(err), tt.permanent)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q lacks %q", err, tt.wantInErr)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(srv.URL, "http://")+"/…") {
				t.Errorf("error %q does not name the redacted webhook", err)
			}
			if res.Status != tt.status || res.RetryAfter != tt.wantWait {
				t.Errorf("Status %d RetryAfter %v, want %d %v", res.Status, res.RetryAfter, tt.status, tt.wantWait)
			}
			noSecrets(t, err, res)
		})
	}
}

func TestSlackWebhookFailThenSucceed(t *testing.T) {
	var calls atomic.Int32
	srv, _ := slackServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(500)
			io.WriteString(w, "rollup_error")
			return
		}
		io.WriteString(w, "ok")
	})
	a := &Slack{WebhookURL: srv.URL + hookPath, Text: "x"}
	if _, err := a.Run(context.Background(), &Input{}); err == nil || IsPermanent(err) {
		t.Fatalf("first attempt: err = %v, want retryable", err)
	}
	if _, err := a.Run(context.Background(), &Input{}); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
}

func TestSlackWebhookUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := (&Slack{WebhookURL: refusedURL(t) + hookPath, Text: "x"}).Run(ctx, &Input{})
	if err == nil || IsPermanent(err) {
		t.Fatalf("err = %v, want retryable", err)
	}
	t.Log(err)
	noSecrets(t, err, res)
}

func TestSlackPostMessageRequest(t *testing.T) {
	srv, seen := slackServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true,"channel":"C123ABC456","ts":"1503435956.000247","message":{"text":"hi"}}`)
	})
	a := &Slack{
		Token:     testToken,
		Channel:   "#deploys",
		APIURL:    srv.URL + "/api/",
		Text:      "deployed",
		Blocks:    json.RawMessage(testBlocks),
		Username:  "hookd",
		IconEmoji: ":rocket:",
	}
	res, err := a.Run(context.Background(), &Input{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Status != 200 || !bytes.Contains(res.Output, []byte(`"ts":"1503435956.000247"`)) {
		t.Errorf("result = %d %q", res.Status, res.Output)
	}
	r := <-seen
	if r.method != "POST" || r.path != "/api/chat.postMessage" {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	if r.contentType != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", r.contentType)
	}
	if r.auth != "Bearer "+testToken {
		t.Errorf("Authorization = %q", r.auth)
	}
	if got := keys(r.fields); got != "blocks,channel,icon_emoji,text,username" {
		t.Errorf("fields = %s", got)
	}
	if str(t, r.fields["channel"]) != "#deploys" || str(t, r.fields["text"]) != "deployed" {
		t.Errorf("channel, text = %s, %s", r.fields["channel"], r.fields["text"])
	}
	if _, ok := r.fields["token"]; ok {
		t.Error("token sent in the body as well as the header")
	}
	sameJSON(t, r.fields["blocks"], testBlocks)
}

func TestSlackPostMessageAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		wantErr    bool
		permanent  bool
		wantInErr  string
		wantWait   time.Duration
	}{
		{"ok", 200, `{"ok":true,"ts":"1.2"}`, "", false, false, "", 0},
		{"ok with warning", 200, `{"ok":true,"warning":"missing_charset"}`, "", false, false, "", 0},
		{"channel_not_found", 200, `{"ok":false,"error":"channel_not_found"}`, "", true, true, "chat.postMessage: channel_not_found", 0},
		{"not_in_channel", 200, `{"ok":false,"error":"not_in_channel"}`, "", true, true, "not_in_channel", 0},
		{"invalid_auth", 200, `{"ok":false,"error":"invalid_auth"}`, "", true, true, "invalid_auth", 0},
		{"error echoing the token", 200, `{"ok":false,"error":"token ` + testToken + ` revoked","token":"` + testToken + `"}`, "", true, true, "token … revoked", 0},
		{"no error string", 200, `{"ok":false}`, "", true, true, "ok is false", 0},
		{"internal_error", 200, `{"ok":false,"error":"internal_error"}`, "", true, false, "internal_error", 0},
		{"ratelimited in body", 200, `{"ok":false,"error":"ratelimited"}`, "", true, false, "ratelimited", 0},
		{"HTTP 429", 429, `{"ok":false,"error":"ratelimited"}`, "30", true, false, "429 Too Many Requests: ratelimited", 30 * time.Second},
		{"HTTP 503", 503, "", "", true, false, "503 Service Unavailable", 0},
		{"HTTP 404", 404, "not found", "", true, true, "404 Not Found: not found", 0},
		{"not JSON", 200, "<html>hello</html>", "", true, true, "not Slack API JSON", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := slackServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			res, err := (&Slack{Token: testToken, Channel: "C1", APIURL: srv.URL, Text: "x"}).Run(context.Background(), &Input{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				t.Log(err)
				if IsPermanent(err) != tt.permanent {
					t.Errorf("IsPermanent = %v, want %v", IsPermanent(err), tt.permanent)
				}
				if !strings.Contains(err.Error(), tt.wantInErr) {
					t.Errorf("error %q lacks %q", err, tt.wantInErr)
				}
			}
			if res.Status != tt.status || res.RetryAfter != tt.wantWait {
				t.Errorf("Status %d RetryAfter %v, want %d %v", res.Status, res.RetryAfter, tt.status, tt.wantWait)
			}
			noSecrets(t, err, res)
		})
	}
}

// Slack echoes the posted message; a big one must not make a successful
// post look like a failure because the kept output is only a tail.
func TestSlackPostMessageLargeAnswer(t *testing.T) {
	big := strings.Repeat("x", 3*MaxOutput)
	srv, _ := slackServer(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "message": map[string]string{"text": big}})
	})
	res, err := (&Slack{Token: testToken, Channel: "C1", APIURL: srv.URL, Text: "x"}).Run(context.Background(), &Input{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Output) != MaxOutput {
		t.Errorf("len(Output) = %d, want %d", len(res.Output), MaxOutput)
	}
}

func TestSlackPostMessageTimeout(t *testing.T) {
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
	res, err := (&Slack{Token: testToken, Channel: "C1", APIURL: srv.URL, Text: "x"}).Run(ctx, &Input{})
	if err == nil || IsPermanent(err) {
		t.Fatalf("err = %v, want retryable", err)
	}
	noSecrets(t, err, res)
}

func TestSlackInvalid(t *testing.T) {
	tests := []struct {
		name  string
		slack Slack
	}{
		{"nothing to say", Slack{WebhookURL: "https://hooks.slack.com" + hookPath}},
		{"blocks not JSON", Slack{WebhookURL: "https://hooks.slack.com" + hookPath, Blocks: json.RawMessage(`[{`)}},
		{"token without channel", Slack{Token: testToken, Text: "x"}},
		{"no destination", Slack{Text: "x"}},
		{"bad webhook URL", Slack{WebhookURL: "hooks.slack.com" + hookPath, Text: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.slack.Run(context.Background(), &Input{})
			if !IsPermanent(err) {
				t.Fatalf("err = %v, want permanent", err)
			}
			noSecrets(t, err, res)
		})
	}
}
