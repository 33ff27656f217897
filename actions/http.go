package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTP sends one request and judges the answer by its status code.
type HTTP struct {
	Client *http.Client // built once per configured action (NewClient); nil uses a shared default
	Method string       // default POST
	URL    string
	Header http.Header
	Body   []byte
	Expect []int // status codes counted as success; default any 2xx
	// Redact hides the URL's path as well as its query and userinfo in
	// errors and output: for URLs whose path is the secret (Slack, Discord).
	Redact bool
	// UserAgent is sent unless Header sets one (hookd/<version>).
	UserAgent string
}

// Run sends the request. 5xx, 408, 429 and network failures are retryable;
// any other unexpected status is permanent: the same request will get the
// same answer.
func (h *HTTP) Run(ctx context.Context, in *Input) (Result, error) {
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	x := exchange{
		client:  h.Client,
		method:  method,
		url:     h.URL,
		header:  h.Header,
		body:    h.Body,
		label:   "http",
		redact:  h.Redact,
		secrets: credentials(h.Header),
		agent:   h.UserAgent,
	}
	res, err := x.do(ctx)
	if err != nil {
		return res, err
	}
	if h.expected(res.Status) {
		return res, nil
	}
	err = fmt.Errorf("http: %s %s: %s", method, x.shown(), statusText(res.Status))
	if retryableStatus(res.Status) {
		return res, err
	}
	return res, Permanent(err)
}

// credentials lists the credential header values of h, full and without
// their scheme ("Bearer"), so that an answer echoing them is not kept.
func credentials(h http.Header) []string {
	var s []string
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Auth-Token":
			for _, v := range vs {
				s = append(s, v)
				if _, cred, ok := strings.Cut(v, " "); ok {
					s = append(s, strings.TrimSpace(cred))
				}
			}
		}
	}
	return s
}

func (h *HTTP) expected(code int) bool {
	if len(h.Expect) == 0 {
		return code >= 200 && code <= 299
	}
	for _, c := range h.Expect {
		if c == code {
			return true
		}
	}
	return false
}

// retryableStatus reports whether a failed answer may change with time:
// server errors, rate limits and request timeouts.
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return strconv.Itoa(code)
}

// NewClient returns a client for one configured action. Each layer has its
// own bound so that a dead or slow peer fails in a predictable way even when
// timeout is 0 (then only the caller's context bounds the whole exchange).
func NewClient(timeout time.Duration) *http.Client {
	headers := 60 * time.Second
	if timeout > 0 && timeout < headers {
		headers = timeout
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: headers,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: t, Timeout: timeout}
}

var defaultClient = NewClient(0)

// RedactURL keeps a URL's scheme and host and replaces everything else
// (userinfo, path, query, fragment) with "…", for URLs that are secrets.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	s := u.Scheme + "://" + u.Host
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		s += "/…"
	}
	return s
}

// safeURL drops what usually carries credentials (userinfo, query,
// fragment) and keeps the path, for URLs that are not secrets as a whole.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	s := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.User != nil {
		s = u.Scheme + "://…@" + u.Host + u.EscapedPath()
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		s += "?…"
	}
	return s
}

// exchange is one request/answer shared by the HTTP and Slack kinds. Its
// errors are transport failures only; judging the answer is the caller's.
type exchange struct {
	client  *http.Client
	method  string
	url     string
	header  http.Header
	body    []byte
	label   string   // error prefix: "http", "slack"
	redact  bool     // hide the URL's path too
	secrets []string // never to appear in errors or output (a token)
	agent   string   // User-Agent unless header has one; "" leaves Go's
}

func (x *exchange) shown() string {
	if x.redact {
		return RedactURL(x.url)
	}
	return safeURL(x.url)
}

// hidden lists the strings scrubbed from errors and output.
func (x *exchange) hidden() []string {
	s := append([]string(nil), x.secrets...)
	if u, err := url.Parse(x.url); err == nil {
		if p, ok := u.User.Password(); ok {
			s = append(s, p)
		}
		if u.User != nil {
			s = append(s, u.User.String())
		}
		s = append(s, u.RawQuery)
		if x.redact && len(u.Path) > 1 {
			s = append(s, u.EscapedPath(), u.Path)
		}
	}
	// The URL as written, only when it holds more than what errors show:
	// hiding a URL with nothing secret in it hid its host and path too.
	if x.url != x.shown() {
		s = append(s, x.url)
	}
	return s
}

// do sends the request and returns the status, Retry-After and the tail of
// the body; the body is drained to the end so the connection can be reused.
func (x *exchange) do(ctx context.Context) (Result, error) {
	res, _, err := x.doKeep(ctx, 0)
	return res, err
}

// doKeep is do that also returns the whole body when it is at most keep
// bytes long (nil otherwise), for callers that must parse the answer.
func (x *exchange) doKeep(ctx context.Context, keep int) (Result, []byte, error) {
	var res Result
	req, err := http.NewRequestWithContext(ctx, x.method, x.url, bytes.NewReader(x.body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error repeats the URL
		}
		return res, nil, Permanent(x.scrubErr(fmt.Errorf("%s: %s %s: bad request: %w", x.label, x.method, x.shown(), err)))
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" || req.URL.Host == "" {
		return res, nil, Permanent(fmt.Errorf("%s: %s %s: bad request: URL must be http or https with a host", x.label, x.method, x.shown()))
	}
	if err := badHeader(x.header); err != nil {
		return res, nil, Permanent(fmt.Errorf("%s: %s %s: bad request: %w", x.label, x.method, x.shown(), err))
	}
	for k, vs := range x.header {
		if http.CanonicalHeaderKey(k) == "Host" && len(vs) > 0 {
			req.Host = vs[0] // net/http ignores a Host header field
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if x.agent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", x.agent)
	}
	c := x.client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return res, nil, x.scrubErr(fmt.Errorf("%s: %s %s: %w", x.label, x.method, x.shown(), err))
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	t := newTail(MaxOutput)
	var w io.Writer = t
	var whole *bytes.Buffer
	if keep > 0 {
		whole = new(bytes.Buffer)
		w = io.MultiWriter(t, &capped{buf: whole, max: keep})
	}
	_, rerr := io.Copy(w, resp.Body)
	res.Output = x.scrub(t.Bytes())
	if rerr == nil && !t.truncated {
		res.Answer = res.Output
	}
	if rerr != nil {
		// The status is in; a body cut short is recorded, not fatal: judging
		// the answer is the caller's.
		res.Output = append(res.Output, fmt.Sprintf("\n[%s: reading answer: %v]", x.label, x.scrubErr(rerr))...)
	}
	var kept []byte
	if whole != nil && whole.Len() <= keep && rerr == nil {
		kept = whole.Bytes()
	}
	return res, kept, nil
}

// capped keeps the first max+1 bytes written, enough to tell whether the
// whole stream fitted in max.
type capped struct {
	buf *bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max + 1 - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (x *exchange) scrub(b []byte) []byte {
	for _, s := range x.hidden() {
		if len(s) >= 4 && bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte("…"))
		}
	}
	return b
}

// scrubErr returns err unchanged unless its text holds a secret; then it
// returns the scrubbed text. The cause stays reachable (for errors.Is) only
// when its own text is clean.
func (x *exchange) scrubErr(err error) error {
	msg := err.Error()
	clean := string(x.scrub([]byte(msg)))
	if clean == msg {
		return err
	}
	cause := errors.Unwrap(err)
	if cause != nil && string(x.scrub([]byte(cause.Error()))) != cause.Error() {
		cause = nil
	}
	return msgError{msg: clean, err: cause}
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110, section 10.2.3). Unusable or past values give 0; values are
// capped at a day, which also keeps the Duration from overflowing.
func parseRetryAfter(v string, now time.Time) time.Duration {
	const max = 24 * time.Hour
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n > uint64(max/time.Second) {
			return max
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	switch {
	case d <= 0:
		return 0
	case d > max:
		return max
	}
	return d.Round(time.Second)
}
