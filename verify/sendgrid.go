package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SendGrid's signed Event Webhook: X-Twilio-Email-Event-Webhook-Signature
// is the base64 ASN.1 DER ECDSA P-256 signature of the SHA-256 of
// X-Twilio-Email-Event-Webhook-Timestamp followed by the raw body; the
// verification key is shown in SendGrid's settings as base64 DER
// (SubjectPublicKeyInfo). The body is an array of events, each with its
// own sg_event_id: the request has no id of its own.
// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
// (sendgrid-go's helpers/eventwebhook, whose test vector
// verify/sendgrid_test.go checks)
type sendgrid struct {
	keys []*ecdsa.PublicKey
	priv *ecdsa.PrivateKey // for Sign only
	tol  time.Duration
}

const (
	sendgridSig = "X-Twilio-Email-Event-Webhook-Signature"
	sendgridTS  = "X-Twilio-Email-Event-Webhook-Timestamp"
)

func init() {
	register("sendgrid", Spec{
		Options: []string{"public_key", "public_keys", "tolerance"},
		HashIDs: true,
		New:     newSendgrid,
	})
}

func newSendgrid(c Config) (Provider, error) {
	s := &sendgrid{}
	var err error
	if s.tol, err = toleranceOf(c); err != nil {
		return nil, err
	}
	for i, k := range c.PublicKeys {
		if k == "" {
			return nil, emptyValue("public_key", i)
		}
		pub, err := parseP256Public(k)
		if err != nil {
			return nil, itemError("public_key", i, err.Error())
		}
		s.keys = append(s.keys, pub)
	}
	if c.PrivateKey != "" {
		if s.priv, err = parseP256Private(c.PrivateKey); err != nil {
			return nil, &FieldError{Field: "private_key", Msg: err.Error()}
		}
		if len(s.keys) == 0 {
			s.keys = []*ecdsa.PublicKey{&s.priv.PublicKey}
		}
	}
	if len(s.keys) == 0 {
		return nil, &FieldError{Field: "public_key", Msg: "provider sendgrid needs the verification key SendGrid shows (public_key: base64)"}
	}
	return s, nil
}

// parseP256Public reads a P-256 public key: base64 DER as SendGrid shows
// it, or PEM.
func parseP256Public(s string) (*ecdsa.PublicKey, error) {
	der, err := derOf(s, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("not a public key (base64 DER, as SendGrid shows it)")
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key")
	}
	return pub, nil
}

// parseP256Private reads a P-256 private key, SEC 1 or PKCS #8, as PEM or
// base64 DER.
func parseP256Private(s string) (*ecdsa.PrivateKey, error) {
	der, err := derOf(s, "")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil && k.Curve == elliptic.P256() {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if ek, ok := k.(*ecdsa.PrivateKey); ok && ek.Curve == elliptic.P256() {
			return ek, nil
		}
	}
	return nil, errors.New("not an ECDSA P-256 private key (PEM, or base64 DER)")
}

// derOf decodes PEM (of the given type, if any) or base64.
func derOf(s, typ string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		b, _ := pem.Decode([]byte(s))
		if b == nil || (typ != "" && b.Type != typ) {
			return nil, errors.New("PEM block does not parse or is not a " + typ)
		}
		return b.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("is neither PEM nor base64")
	}
	return der, nil
}

func (s *sendgrid) Verify(r *Request) error {
	v, ts := r.Header.Get(sendgridSig), r.Header.Get(sendgridTS)
	if v == "" || ts == "" {
		return fail("missing %s or %s", sendgridSig, sendgridTS)
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(sig) > 80 { // a DER P-256 signature is at most 72 bytes
		return fail("%s is not a base64 signature", sendgridSig)
	}
	if err := checkTimestamp(sendgridTS, ts, clock(r), s.tol); err != nil {
		return err
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(r.Body)
	digest := h.Sum(nil)
	for _, k := range s.keys {
		if ecdsa.VerifyASN1(k, digest, sig) {
			return nil
		}
	}
	return fail("signature does not match")
}

func (s *sendgrid) DeliveryID(*Request) string { return "" }

// Event is the first event's type.
func (s *sendgrid) Event(r *Request) string {
	if list, ok := r.JSON.([]any); ok && len(list) > 0 {
		return field(list[0], "event")
	}
	return ""
}

// Sign signs with the private key (-private-key).
func (s *sendgrid) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	if s.priv == nil {
		return nil, &FieldError{Field: "private_key", Msg: "provider sendgrid signs with a private key: set -private-key"}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	digest := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, digest[:])
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(sendgridSig, base64.StdEncoding.EncodeToString(sig))
	h.Set(sendgridTS, ts)
	h.Set("Content-Type", "application/json")
	return h, nil
}

// ReadsBody: the event type comes from the body.
func (*sendgrid) ReadsBody() {}
