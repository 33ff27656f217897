package verify

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
//
// A body that fails is retried for about 8 hours (10 min, 10 min, 15 min,
// 30 min, 1 h, 2 h, 4 h), each retry with the signature of the first
// attempt: the default tolerance, mailgunTolerance, takes the last one.
// A replay is refused by its token (kept for retention), not by its age.
// https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-retries
type mailgun struct {
	keys [][]byte
	tol  time.Duration
}

// mailgunTolerance is the default age a Mailgun signature may have: its
// retries end about 8 hours after the first attempt, which Mailgun may
// itself send late.
const mailgunTolerance = 12 * time.Hour

func init() {
	register("mailgun", Spec{
		Options: []string{"secret", "secrets", "tolerance"},
		New: func(c Config) (Provider, error) {
			if c.Tolerance == 0 {
				c.Tolerance = mailgunTolerance
			}
			return timestamped(c, func(keys [][]byte, tol time.Duration) Provider { return &mailgun{keys: keys, tol: tol} })
		},
	})
}

func (m *mailgun) Verify(r *Request) error {
	f, err := readMailgun(r)
	if err != nil {
		return fail("%v", err)
	}
	var missing []string
	for _, v := range []struct{ name, val string }{{"timestamp", f.ts}, {"token", f.token}, {"signature", f.sig}} {
		if v.val == "" {
			missing = append(missing, f.fieldName(v.name))
		}
	}
	if len(missing) > 0 {
		return fail("body lacks %s", strings.Join(missing, ", "))
	}
	sigs := [][]byte{decodeHexDigest(sha256.New, f.sig)}
	if sigs[0] == nil {
		return fail("%s is not a hex SHA-256 digest", f.fieldName("signature"))
	}
	if p := decodeHexDigest(sha256.New, f.parent); p != nil {
		sigs = append(sigs, p)
	}
	if err := checkTimestamp(f.fieldName("timestamp"), f.ts, clock(r), m.tol); err != nil {
		return err
	}
	if !matchAny(sha256.New, m.keys, sigs, []byte(f.ts), []byte(f.token)) {
		return fail("signature does not match")
	}
	return nil
}

// DeliveryID is the token, which Mailgun makes unique per delivery and
// sends again, with the whole signature, on every retry.
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
// "signature" object, a form (name=value&…, or empty) the timestamp, token
// and signature fields. Any other body, JSON that is not an object
// included, is a *BodyError. The token is m.ID or random.
func (m *mailgun) SignBody(body []byte, now time.Time, meta Meta) ([]byte, http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	token := meta.id(func() string {
		var b [25]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	})
	sig := hex.EncodeToString(mac(sha256.New, m.keys[0], []byte(ts), []byte(token)))
	h := http.Header{}
	if looksJSON(body) {
		out, err := setJSONField(body, "signature", map[string]string{"timestamp": ts, "token": token, "signature": sig},
			"mailgun: a JSON body must be an object, to carry the signature (a form body is name=value&…)")
		if err != nil {
			return nil, nil, err
		}
		h.Set("Content-Type", "application/json")
		return out, h, nil
	}
	q, err := parseSignForm(body)
	if err != nil {
		return nil, nil, err
	}
	q.Set("timestamp", ts)
	q.Set("token", token)
	q.Set("signature", sig)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return []byte(q.Encode()), h, nil
}

// looksJSON reports whether body is meant as JSON: it starts (after
// blanks) with { [ or ", or is valid JSON (a number, true, null).
func looksJSON(body []byte) bool {
	t := bytes.TrimLeft(body, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[' || t[0] == '"') || json.Valid(body)
}

// parseSignForm parses a form body to sign: every field must be
// name=value, so that text which is no form is not taken for a field name.
func parseSignForm(body []byte) (url.Values, error) {
	const want = "mailgun: the body is neither a JSON object nor a form (name=value&…)"
	off := 0
	for _, pair := range strings.Split(string(body), "&") {
		if pair != "" && !strings.Contains(pair, "=") {
			if r := []rune(pair); len(r) > 40 {
				pair = string(r[:40]) + "…"
			}
			return nil, &BodyError{off, fmt.Sprintf("%s: %q has no =", want, pair)}
		}
		off += len(pair) + 1
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &BodyError{-1, fmt.Sprintf("%s: %v", want, err)}
	}
	return q, nil
}
