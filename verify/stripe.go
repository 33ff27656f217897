package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Stripe sends "Stripe-Signature: t=<unix>,v1=<hex>[,v1=...][,v0=...]".
// v1 is HMAC-SHA256 over "<t>.<raw body>" keyed with the whole endpoint
// secret string, "whsec_" included. Several v1 appear while a secret is
// being rolled; any may match. v0 is a test-mode scheme and is ignored.
// https://docs.stripe.com/webhooks#verify-manually
type stripe struct {
	keys [][]byte
	tol  time.Duration
}

func init() {
	register("stripe", Spec{
		Options: []string{"secret", "secrets", "tolerance"},
		New: func(c Config) (Provider, error) {
			return timestamped(c, func(keys [][]byte, tol time.Duration) Provider { return &stripe{keys: keys, tol: tol} })
		},
	})
}

func (s *stripe) Verify(r *Request) error {
	v := r.Header.Get("Stripe-Signature")
	if v == "" {
		return fail("missing Stripe-Signature")
	}
	var ts string
	var sigs [][]byte
	for item := range strings.SplitSeq(v, ",") {
		k, val, _ := strings.Cut(item, "=")
		switch k {
		case "t":
			if ts != "" {
				return fail("Stripe-Signature has more than one t=")
			}
			ts = val
		case "v1":
			// A malformed v1 is skipped like an unknown scheme: another
			// v1 may still match.
			if sig := decodeHexDigest(sha256.New, val); sig != nil {
				if len(sigs) == maxSignatures {
					return fail("Stripe-Signature lists more than %d signatures", maxSignatures)
				}
				sigs = append(sigs, sig)
			}
		}
	}
	if ts == "" {
		return fail("Stripe-Signature has no t=")
	}
	if len(sigs) == 0 {
		return fail("Stripe-Signature has no well-formed v1=")
	}
	if err := checkTimestamp("Stripe-Signature t", ts, clock(r), s.tol); err != nil {
		return err
	}
	if !matchAny(sha256.New, s.keys, sigs, []byte(ts), []byte("."), r.Body) {
		return fail("no v1 signature matches")
	}
	return nil
}

func (s *stripe) DeliveryID(r *Request) string { return field(r.JSON, "id") }
func (s *stripe) Event(r *Request) string      { return field(r.JSON, "type") }

func (s *stripe) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := mac(sha256.New, s.keys[0], []byte(ts), []byte("."), body)
	h := http.Header{}
	h.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(sig))
	h.Set("Content-Type", "application/json; charset=utf-8")
	return h, nil
}

// ReadsBody: the delivery id and event type come from the body.
func (*stripe) ReadsBody() {}
