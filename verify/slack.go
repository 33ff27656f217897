package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Slack sends "X-Slack-Signature: v0=<hex>", HMAC-SHA256 under the app's
// signing secret over "v0:<X-Slack-Request-Timestamp>:<raw body>". The body
// is JSON for the Events API and a form for slash commands and
// interactivity; the signature covers the raw bytes either way.
// https://api.slack.com/authentication/verifying-requests-from-slack
// https://api.slack.com/events/url_verification
type slack struct {
	keys [][]byte
	tol  time.Duration
}

func init() {
	register("slack", Spec{
		Options: []string{"secret", "secrets", "tolerance"},
		New: func(c Config) (Provider, error) {
			return timestamped(c, func(keys [][]byte, tol time.Duration) Provider { return &slack{keys: keys, tol: tol} })
		},
	})
}

func (s *slack) Verify(r *Request) error {
	ts := r.Header.Get("X-Slack-Request-Timestamp")
	if ts == "" {
		return fail("missing X-Slack-Request-Timestamp")
	}
	sig, err := hexSHA256Header(r, "X-Slack-Signature", "v0=")
	if err != nil {
		return err
	}
	if err := checkTimestamp("X-Slack-Request-Timestamp", ts, clock(r), s.tol); err != nil {
		return err
	}
	if !anyMAC(sha256.New, s.keys, sig, []byte("v0:"+ts+":"), r.Body) {
		return fail("signature does not match")
	}
	return nil
}

// Challenge answers the url_verification handshake Slack sends when a
// Request URL is saved: the challenge echoed back, nothing recorded.
func (s *slack) Challenge(r *Request) (*Answer, bool) {
	v := r.JSON
	if v == nil {
		if err := json.Unmarshal(r.Body, &v); err != nil {
			return nil, false
		}
	}
	if field(v, "type") != "url_verification" {
		return nil, false
	}
	resp, err := json.Marshal(map[string]string{"challenge": field(v, "challenge")})
	if err != nil {
		return nil, false
	}
	return &Answer{ContentType: "application/json", Body: resp}, true
}

// DeliveryID is the Events API's event_id, which Slack keeps across
// retries. Slash commands and interactivity carry none.
func (s *slack) DeliveryID(r *Request) string { return field(r.JSON, "event_id") }

func (s *slack) Event(r *Request) string {
	if e := field(r.JSON, "event", "type"); e != "" {
		return e
	}
	return field(r.JSON, "type")
}

func (s *slack) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := mac(sha256.New, s.keys[0], []byte("v0:"+ts+":"), body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(sig))
	h.Set("Content-Type", "application/json")
	return h, nil
}

// ReadsBody: the delivery id and event type come from the body.
func (*slack) ReadsBody() {}
