package verify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (Svix's scheme, also GitLab's signing token, Resend,
// Clerk and others): "webhook-signature" is a space separated list of
// "<version>,<base64>"; v1 is HMAC-SHA256 over "<id>.<timestamp>.<raw body>".
// The secret is "whsec_" followed by the base64 of the key; the reference
// libraries accept it without the prefix too. Svix sends the same headers
// named svix-id, svix-timestamp and svix-signature.
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
// https://docs.svix.com/receiving/verifying-payloads/how-manual
type standard struct {
	keys [][]byte
	tol  time.Duration
}

func init() {
	register("standard", Spec{
		Options: []string{"secret", "secrets", "tolerance"},
		New: func(c Config) (Provider, error) {
			secrets, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			keys := make([][]byte, 0, len(secrets))
			for _, s := range secrets {
				k, err := whsecKey(s, "a Standard Webhooks secret")
				if err != nil {
					return nil, err
				}
				keys = append(keys, k)
			}
			tol, err := toleranceOf(c)
			if err != nil {
				return nil, err
			}
			return &standard{keys: keys, tol: tol}, nil
		},
	})
}

// headers returns the id, timestamp and signature, from the webhook-*
// headers or else the svix-* ones, never a mix of both.
func (s *standard) headers(r *Request) (id, ts, sig, prefix string) {
	for _, p := range []string{"webhook-", "svix-"} {
		if id = r.Header.Get(p + "id"); id != "" {
			return id, r.Header.Get(p + "timestamp"), r.Header.Get(p + "signature"), p
		}
	}
	return "", "", "", "webhook-"
}

func (s *standard) Verify(r *Request) error {
	id, ts, sigs, p := s.headers(r)
	return s.check(r, id, ts, sigs, p)
}

// check verifies the id, timestamp and signature list of a request, from
// the headers named with prefix p.
func (s *standard) check(r *Request, id, ts, sigs, p string) error {
	if id == "" || ts == "" || sigs == "" {
		return fail("missing %sid, %stimestamp or %ssignature", p, p, p)
	}
	if err := checkTimestamp(p+"timestamp", ts, clock(r), s.tol); err != nil {
		return err
	}
	got, err := signatureList(p+"signature", sigs, " ", func(item string) []byte {
		version, b64, _ := strings.Cut(item, ",")
		if version != "v1" {
			return nil // other versions (v1a: asymmetric) are not ours to check
		}
		return decodeBase64Digest(sha256.New, b64)
	})
	if err != nil {
		return err
	}
	if !matchAny(sha256.New, s.keys, got, []byte(id+"."+ts+"."), r.Body) {
		return fail("no v1 signature matches")
	}
	return nil
}

// whsecKey decodes a secret of the form whsec_<base64 of the key>; the
// reference libraries take it without the prefix too. what names the
// secret in the error.
func whsecKey(secret []byte, what string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(secret), "whsec_"))
	if err != nil || len(k) == 0 {
		return nil, &FieldError{Field: "secret", Msg: what + " is whsec_ followed by base64"}
	}
	return k, nil
}

func (s *standard) DeliveryID(r *Request) string {
	id, _, _, _ := s.headers(r)
	return id
}

func (s *standard) Event(r *Request) string { return field(r.JSON, "type") }

func (s *standard) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	id := m.id(func() string {
		var b [12]byte
		_, _ = rand.Read(b[:])
		return fmt.Sprintf("msg_%x", b)
	})
	h := http.Header{}
	s.sign(h, id, body, now)
	h.Set("Content-Type", "application/json")
	return h, nil
}

// sign sets the webhook-* headers of a message with id sent at now.
func (s *standard) sign(h http.Header, id string, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", s.signature(id, ts, body))
}

// signature is the v1 signature under the first key.
func (s *standard) signature(id, ts string, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], []byte(id+"."+ts+"."), body))
}

// ReadsBody: the delivery id and event type come from the body.
func (*standard) ReadsBody() {}
