package verify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Mailgun puts its signature in the body: a JSON webhook carries
// "signature": {"timestamp", "token", "signature"}, a form post (routes,
// legacy webhooks) the fields timestamp, token and signature. The
// signature is the hex HMAC-SHA256, under the webhook signing key, of
// timestamp followed by token; an event of a subaccount's domain also
// carries "parent-signature", the same under the primary account's key,
// and either may match. The body itself is not signed: the token,
// unique per delivery, is the delivery id, so a second request with the
// same signature is a duplicate whatever its body.
// https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks/
type mailgun struct {
	keys [][]byte
	tol  time.Duration
}

func init() {
	register("mailgun", Spec{
		Options: []string{"secret", "secrets", "tolerance"},
		New: func(c Config) (Provider, error) {
			return timestamped(c, func(keys [][]byte, tol time.Duration) Provider { return &mailgun{keys: keys, tol: tol} })
		},
	})
}

// mailgunFields are the signed fields and the event type of a body.
type mailgunFields struct{ ts, token, sig, parent, event string }

func readMailgun(r *Request) (mailgunFields, bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		q, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return mailgunFields{}, false
		}
		return mailgunFields{q.Get("timestamp"), q.Get("token"), q.Get("signature"), "", q.Get("event")}, true
	}
	var b struct {
		Signature struct {
			Timestamp, Token, Signature string
			Parent                      string `json:"parent-signature"`
		}
		EventData struct{ Event string } `json:"event-data"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return mailgunFields{}, false
	}
	s := b.Signature
	return mailgunFields{s.Timestamp, s.Token, s.Signature, s.Parent, b.EventData.Event}, true
}

func (m *mailgun) Verify(r *Request) error {
	f, ok := readMailgun(r)
	if !ok {
		return fail("body is neither JSON nor a form")
	}
	if f.ts == "" || f.token == "" || f.sig == "" {
		return fail("body lacks signature timestamp, token or signature")
	}
	sigs := [][]byte{decodeHexDigest(sha256.New, f.sig)}
	if sigs[0] == nil {
		return fail("signature is not a hex SHA-256 digest")
	}
	if p := decodeHexDigest(sha256.New, f.parent); p != nil {
		sigs = append(sigs, p)
	}
	if err := checkTimestamp("signature timestamp", f.ts, clock(r), m.tol); err != nil {
		return err
	}
	if !matchAny(sha256.New, m.keys, sigs, []byte(f.ts), []byte(f.token)) {
		return fail("signature does not match")
	}
	return nil
}

func (m *mailgun) DeliveryID(r *Request) string {
	f, _ := readMailgun(r)
	return f.token
}

func (m *mailgun) Event(r *Request) string {
	f, _ := readMailgun(r)
	return f.event
}

// Sign cannot sign Mailgun's body in headers: see SignBody.
func (m *mailgun) Sign([]byte, time.Time, Meta) (http.Header, error) {
	return nil, errors.New("mailgun signs inside the body")
}

// SignBody adds the signature to the body: a JSON object gets the
// "signature" object, anything else is taken as a form and gets the
// timestamp, token and signature fields. The token is m.ID or random.
func (m *mailgun) SignBody(body []byte, now time.Time, meta Meta) ([]byte, http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	token := meta.id(func() string {
		var b [25]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	})
	sig := hex.EncodeToString(mac(sha256.New, m.keys[0], []byte(ts), []byte(token)))
	h := http.Header{}
	if out, err := setJSONField(body, "signature", map[string]string{"timestamp": ts, "token": token, "signature": sig}); err == nil {
		h.Set("Content-Type", "application/json")
		return out, h, nil
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, errors.New("mailgun: the body is neither a JSON object nor a form")
	}
	q.Set("timestamp", ts)
	q.Set("token", token)
	q.Set("signature", sig)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return []byte(q.Encode()), h, nil
}
