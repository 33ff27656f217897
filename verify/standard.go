package verify

import (
	"crypto/ed25519"
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
// The asymmetric v1a is the base64 Ed25519 signature of the same content;
// its public keys are "whpk_" and the base64 of the 32-byte key, and
// `hookd sign -private-key` takes "whsk_" and the base64 of the 32-byte
// seed. A source may set secrets, public keys or both: a request verifies
// when one of its v1 or v1a signatures matches.
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
// https://docs.svix.com/receiving/verifying-payloads/how-manual
type standard struct {
	keys [][]byte
	pub  []ed25519.PublicKey
	priv ed25519.PrivateKey
	tol  time.Duration
}

func init() {
	register("standard", Spec{
		Options: []string{"secret", "secrets", "public_key", "public_keys", "tolerance"},
		Covers:  []string{"svix", "standard-webhooks", "standardwebhooks"},
		New: func(c Config) (Provider, error) {
			pub, priv, err := edKeys(c, whKeys)
			if err != nil {
				return nil, err
			}
			var secrets [][]byte
			switch {
			case len(c.Secrets) == 0 && len(pub) == 0:
				return nil, &FieldError{Field: "secret", Msg: "provider standard needs a secret (whsec_...) or a public_key (whpk_...; hookd sign takes its private key, whsk_...)"}
			case len(c.Secrets) > 0:
				if secrets, err = requireSecrets(c); err != nil {
					return nil, err
				}
			}
			keys := make([][]byte, 0, len(secrets))
			for i, s := range secrets {
				k, err := whsecKey(s, i, "a Standard Webhooks secret")
				if err != nil {
					return nil, err
				}
				keys = append(keys, k)
			}
			tol, err := toleranceOf(c)
			if err != nil {
				return nil, err
			}
			return &standard{keys: keys, pub: pub, priv: priv, tol: tol}, nil
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
	var v1, v1a [][]byte
	_, err := signatureList(p+"signature", sigs, " ", func(item string) []byte {
		version, b64, _ := strings.Cut(item, ",")
		var sig []byte
		switch {
		case version == "v1" && len(s.keys) > 0:
			if sig = decodeBase64Digest(sha256.New, b64); sig != nil {
				v1 = append(v1, sig)
			}
		case version == "v1a" && len(s.pub) > 0:
			if sig = decodeEd25519Sig(b64); sig != nil {
				v1a = append(v1a, sig)
			}
		}
		return sig // nil: malformed, or a version this source has no key for
	})
	if err != nil {
		return err
	}
	prefix := []byte(id + "." + ts + ".")
	ok := len(v1) > 0 && matchAny(sha256.New, s.keys, v1, prefix, r.Body)
	if len(v1a) > 0 {
		msg := append(prefix, r.Body...)
		ok = anyEd25519(s.pub, v1a, msg) || ok
	}
	if !ok {
		return fail("no v1 or v1a signature matches")
	}
	return nil
}

// decodeEd25519Sig decodes a strict base64 Ed25519 signature, or returns nil.
func decodeEd25519Sig(s string) []byte {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != ed25519.SignatureSize {
		return nil
	}
	return b
}

// whsecKey decodes a secret of the form whsec_<base64 of the key>; the
// reference libraries take it without the prefix too. what names the
// secret in the error.
func whsecKey(secret []byte, i int, what string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(string(secret), "whsec_"))
	if err != nil || len(k) == 0 {
		return nil, itemError("secret", i, what+" is whsec_ followed by base64")
	}
	return k, nil
}

func (s *standard) DeliveryID(r *Request) string {
	id, _, _, _ := s.headers(r)
	return id
}

func (s *standard) Event(r *Request) string { return field(r.JSON, "type") }

func (s *standard) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	if len(s.keys) == 0 && s.priv == nil {
		return nil, &FieldError{Field: "private_key", Msg: "a source with only public keys signs with the private key (whsk_...)"}
	}
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

// signature is the v1 signature under the first secret and the v1a one
// under the private key, each when there is one.
func (s *standard) signature(id, ts string, body []byte) string {
	var sigs []string
	if len(s.keys) > 0 {
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], []byte(id+"."+ts+"."), body)))
	}
	if s.priv != nil {
		msg := append([]byte(id+"."+ts+"."), body...)
		sigs = append(sigs, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, msg)))
	}
	return strings.Join(sigs, " ")
}

// ReadsBody: the delivery id and event type come from the body.
func (*standard) ReadsBody() {}
