package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

// The key pair and signature of sendgrid-go's helpers/eventwebhook tests.
const (
	sendgridPublic  = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sendgridPrivate = "MHcCAQEEIEQmZgBEh9DcU9zMl34czK3xov4AYvm9P3r7rNB2dNXtoAoGCCqGSM49AwEHoUQDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sendgridVector  = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
	// The SDK's payload: json.Marshal of its map, keys sorted.
	sendgridPayload = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
)

// otherP256 is another P-256 key, PKCS #8 PEM.
var otherP256 = func() string {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}()

func TestSendGridVector(t *testing.T) {
	h := map[string]string{sendgridSig: sendgridVector, sendgridTS: "1588788367"}
	runVectors(t, Config{Provider: "sendgrid", PublicKeys: []string{sendgridPublic}}, []vector{
		{"published", h, sendgridPayload, 1588788367, true},
		{"within tolerance", h, sendgridPayload, 1588788367 + 300, true},
		{"stale", h, sendgridPayload, 1588788367 + 301, false},
		{"future", h, sendgridPayload, 1588788367 - 301, false},
		{"body changed", h, sendgridPayload + " ", 1588788367, false},
		{"timestamp changed", with(h, sendgridTS, "1588788368"), sendgridPayload, 1588788367, false},
		{"no signature", with(h, sendgridSig, ""), sendgridPayload, 1588788367, false},
		{"no timestamp", with(h, sendgridTS, ""), sendgridPayload, 1588788367, false},
		{"empty signature", with(h, sendgridSig, " "), sendgridPayload, 1588788367, false},
		{"not base64", with(h, sendgridSig, "%%%"), sendgridPayload, 1588788367, false},
		{"not DER", with(h, sendgridSig, base64.StdEncoding.EncodeToString([]byte("not a signature"))), sendgridPayload, 1588788367, false},
		{"timestamp not a number", with(h, sendgridTS, "invalid timestamp"), sendgridPayload, 1588788367, false},
	})
	// Another key does not verify it; a list with the right one does.
	other := mustNew(t, Config{Provider: "sendgrid", PrivateKey: otherP256})
	r := &Request{Header: map[string][]string{sendgridSig: {sendgridVector}, sendgridTS: {"1588788367"}}, Body: []byte(sendgridPayload), Now: time.Unix(1588788367, 0)}
	r.Header = r.Header.Clone()
	if err := other.Verify(r); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("another key: %v", err)
	}
	pub := other.(*sendgrid).keys[0]
	der, _ := x509.MarshalPKIXPublicKey(pub)
	both := mustNew(t, Config{Provider: "sendgrid", PublicKeys: []string{base64.StdEncoding.EncodeToString(der), sendgridPublic}})
	if err := both.Verify(r); err != nil {
		t.Fatalf("public_keys: [other, sendgrid's]: %v", err)
	}
}

func TestSendGridKeys(t *testing.T) {
	for _, c := range []Config{
		{Provider: "sendgrid"},
		{Provider: "sendgrid", PublicKeys: []string{"not base64!"}},
		{Provider: "sendgrid", PublicKeys: []string{base64.StdEncoding.EncodeToString([]byte("not DER"))}},
		{Provider: "sendgrid", PrivateKey: "MHcCAQEE"},
	} {
		var fe *FieldError
		if _, err := New(c); !errors.As(err, &fe) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := Sign(Config{Provider: "sendgrid", PublicKeys: []string{sendgridPublic}}, nil, t0); err == nil {
		t.Fatal("signed without a private key")
	}
}

// otherPrivateKey is a private key other than the test configuration's,
// in the form the provider takes.
func otherPrivateKey(provider string) string {
	if provider == "sendgrid" {
		return otherP256
	}
	return strings.Repeat("ab", 32) // an Ed25519 seed, hex
}
