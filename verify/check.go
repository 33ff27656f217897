package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a signed timestamp may be from the clock, in
// either direction, when a source sets no `tolerance`.
const DefaultTolerance = 5 * time.Minute

// toleranceOf returns the configured tolerance or the default.
func toleranceOf(c Config) (time.Duration, error) {
	switch {
	case c.Tolerance < 0:
		return 0, &FieldError{Field: "tolerance", Msg: "must not be negative"}
	case c.Tolerance == 0:
		return DefaultTolerance, nil
	}
	return c.Tolerance, nil
}

// clock is the request's time, or the wall clock for callers that leave it
// unset.
func clock(r *Request) time.Time {
	if r.Now.IsZero() {
		return time.Now()
	}
	return r.Now
}

// checkTimestamp parses ts as unix seconds and rejects it when it lies
// outside tol of now, in the past (a replay) or the future (a clock that
// would let a captured request be replayed for longer).
func checkTimestamp(name, ts string, now time.Time, tol time.Duration) error {
	// Digits only and at most 11 of them: rejects signs, spaces and values
	// whose difference from now would overflow.
	if ts == "" {
		return fail("%s is missing", name)
	}
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' || i == 11 {
			return fail("%s is not a unix time in seconds (at most 11 digits)", name)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fail("%s is not a unix time", name)
	}
	d := now.Sub(time.Unix(sec, 0))
	if d > tol {
		return fail("%s is %s old, beyond the tolerance of %s", name, d.Truncate(time.Second), tol)
	}
	if -d > tol {
		return fail("%s is %s in the future, beyond the tolerance of %s", name, (-d).Truncate(time.Second), tol)
	}
	return nil
}

// sameSecret reports whether got equals any of keys. Both sides are hashed
// first so that the comparison takes the same time whatever their lengths.
func sameSecret(keys [][]byte, got []byte) bool {
	g := sha256.Sum256(got)
	ok := 0
	for _, k := range keys {
		w := sha256.Sum256(k)
		ok |= subtle.ConstantTimeCompare(g[:], w[:])
	}
	return ok == 1
}

// decodeHexDigest decodes a hex digest of the given hash, or returns nil.
func decodeHexDigest(h func() hash.Hash, s string) []byte {
	size := h().Size()
	if len(s) != 2*size {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// decodeBase64Digest decodes a standard base64 digest of the given hash, or
// returns nil. Decoding is strict: otherwise the unused bits of the last
// character are ignored and several strings decode to one digest.
func decodeBase64Digest(h func() hash.Hash, s string) []byte {
	size := h().Size()
	if len(s) != base64.StdEncoding.EncodedLen(size) {
		return nil
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != size {
		return nil
	}
	return b
}

// firstHeader returns the first non-empty value among names, and its name.
func firstHeader(r *Request, names ...string) (value, name string) {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// sentAny reports whether the request carries any of the headers names,
// empty or not.
func sentAny(r *Request, names ...string) bool {
	for _, n := range names {
		if _, ok := r.Header[http.CanonicalHeaderKey(n)]; ok {
			return true
		}
	}
	return false
}

// timestamped builds a provider that takes secrets and a tolerance, the
// shape of every timestamped HMAC scheme.
func timestamped(c Config, build func(keys [][]byte, tol time.Duration) Provider) (Provider, error) {
	keys, err := requireSecrets(c)
	if err != nil {
		return nil, err
	}
	tol, err := toleranceOf(c)
	if err != nil {
		return nil, err
	}
	return build(keys, tol), nil
}

// checkMillis is checkTimestamp for a unix time in milliseconds (HubSpot's
// X-HubSpot-Request-Timestamp, Linear's webhookTimestamp).
func checkMillis(name, ts string, now time.Time, tol time.Duration) error {
	if ts == "" {
		return fail("%s is missing", name)
	}
	for i := 0; i < len(ts); i++ {
		if ts[i] < '0' || ts[i] > '9' || i == 14 {
			return fail("%s is not a unix time in milliseconds (at most 14 digits)", name)
		}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fail("%s is not a unix time in milliseconds", name)
	}
	d := now.Sub(time.UnixMilli(ms))
	if d > tol {
		return fail("%s is %s old, beyond the tolerance of %s", name, d.Truncate(time.Millisecond), tol)
	}
	if -d > tol {
		return fail("%s is %s in the future, beyond the tolerance of %s", name, (-d).Truncate(time.Millisecond), tol)
	}
	return nil
}

// checkBodyMillis reads the top-level JSON number key of body, a unix time
// in milliseconds, and checks it with checkMillis.
func checkBodyMillis(key string, body []byte, now time.Time, tol time.Duration) error {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		return fail("body is not a JSON object with %s", key)
	}
	return checkMillis("body "+key, string(v[key]), now, tol)
}

// signatureHeader returns the value of the signature header name. A header
// absent is missing; one sent empty is a sender that signed nothing (its
// webhook has no secret), which the reason says rather than calling it
// malformed.
func signatureHeader(r *Request, name string) (string, error) {
	v := r.Header.Get(name)
	if v != "" {
		return v, nil
	}
	if _, sent := r.Header[http.CanonicalHeaderKey(name)]; sent {
		return "", unsigned(name + " is empty")
	}
	return "", fail("missing %s", name)
}

// cutSignature returns the digest that follows prefix ("sha256=") in the
// value v of the header name. A prefix with nothing after it is what
// Gitea sends from a webhook without a secret: unsigned, not malformed.
func cutSignature(name, v, prefix string) (string, error) {
	enc, ok := strings.CutPrefix(v, prefix)
	switch {
	case !ok:
		return "", fail("%s lacks the %s prefix", name, prefix)
	case strings.TrimSpace(enc) == "":
		return "", unsigned(name + " holds " + prefix + " and no digest")
	}
	return enc, nil
}

// hexSHA256Header returns the HMAC-SHA256 digest a request carries in the
// header name as prefix + hex (GitHub's "sha256=…", Slack's "v0=…").
func hexSHA256Header(r *Request, name, prefix string) ([]byte, error) {
	v, err := signatureHeader(r, name)
	if err != nil {
		return nil, err
	}
	return hexSHA256After(name, v, prefix)
}

// hexSHA256After returns the hex SHA-256 digest after prefix in v, the
// value of the header name.
func hexSHA256After(name, v, prefix string) ([]byte, error) {
	hexSig, err := cutSignature(name, v, prefix)
	if err != nil {
		return nil, err
	}
	sig := decodeHexDigest(sha256.New, hexSig)
	if sig == nil {
		return nil, fail("%s is not a hex SHA-256 digest", name)
	}
	return sig, nil
}

// unsigned is the reason for a request whose sender sent a signature
// header without a signature in it.
func unsigned(what string) error {
	return fail("no signature was sent (%s): the sender's webhook has no secret; set it to the source's secret", what)
}
