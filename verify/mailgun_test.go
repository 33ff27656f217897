package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
)

// Mailgun's JSON and form shapes, and a subaccount's parent-signature.
func TestMailgunShapes(t *testing.T) {
	const ts, token = "1700000000", "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
	sign := func(key string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(ts + token))
		return hex.EncodeToString(m.Sum(nil))
	}
	good, parent, other := sign("sub-key"), sign("primary-key"), sign("another")
	jsonBody := func(sig, par string) string {
		return `{"signature":{"token":"` + token + `","timestamp":"` + ts + `","signature":"` + sig + `","parent-signature":"` + par + `"},"event-data":{"event":"delivered"}}`
	}
	form := url.Values{"timestamp": {ts}, "token": {token}, "signature": {good}, "event": {"delivered"}}.Encode()
	ct := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	runVectors(t, Config{Provider: "mailgun", Secrets: []string{"sub-key"}}, []vector{
		{"json", nil, jsonBody(good, ""), 1700000000, true},
		{"json, wrong", nil, jsonBody(other, ""), 1700000000, false},
		{"json, stale", nil, jsonBody(good, ""), 1700000000 + 12*3600 + 1, false},
		{"form", ct, form, 1700000000, true},
		{"form sent as JSON", nil, form, 1700000000, false},
		{"form, token changed", ct, form + "0", 1700000000, false},
	})
	runVectors(t, Config{Provider: "mailgun", Secrets: []string{"primary-key"}}, []vector{
		{"parent-signature", nil, jsonBody(good, parent), 1700000000, true},
		{"parent-signature wrong", nil, jsonBody(good, other), 1700000000, false},
		{"no parent-signature", nil, jsonBody(good, ""), 1700000000, false},
	})
}

// mailgunSig is Mailgun's signature of ts and token under key.
func mailgunSig(key, ts, token string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + token))
	return hex.EncodeToString(m.Sum(nil))
}

// mailgunMultipart builds a Route forward() of a message with an
// attachment, as Mailgun posts it: multipart/form-data, the parsed message
// and the signature fields as parts, the attachment as a file part. It
// returns the body and its Content-Type.
func mailgunMultipart(t *testing.T, fields [][2]string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="attachment-1"; filename="report.pdf"`)
	h.Set("Content-Type", "application/pdf")
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write([]byte("%PDF-1.4\x00\xff binary\r\n--not-the-boundary\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

// A Route forward() with attachments is multipart/form-data: its
// timestamp, token and signature fields are checked as a form's, and the
// token is the delivery id.
func TestMailgunMultipart(t *testing.T) {
	const ts, token = "1700000000", "c0ffee7167110d68991efc6b9f89f0a11066af27834600e123"
	route := func(sig, tok string) [][2]string {
		return [][2]string{{"recipient", "support@example.com"}, {"sender", "bob@example.com"}, {"subject", "Invoice"},
			{"body-plain", "see attached"}, {"attachment-count", "1"},
			{"timestamp", ts}, {"token", tok}, {"signature", sig}}
	}
	good := mailgunSig("key", ts, token)
	p := mustNew(t, Config{Provider: "mailgun", Secrets: []string{"key"}})
	for _, tc := range []struct {
		name   string
		fields [][2]string
		ok     bool
	}{
		{"as sent", route(good, token), true},
		{"token changed", route(good, token+"0"), false},
		{"signed with another key", route(mailgunSig("other", ts, token), token), false},
		{"no signature", route("", token)[:7], false},
		{"signature repeated: the first counts", append(route(mailgunSig("other", ts, token), token), [2]string{"signature", good}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := mailgunMultipart(t, tc.fields)
			r := &Request{Header: http.Header{"Content-Type": {ct}}, Body: body, Now: t0}
			if err := p.Verify(r); (err == nil) != tc.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok {
				if id, ev := p.DeliveryID(r), p.Event(r); id != token || ev != "" {
					t.Fatalf("DeliveryID, Event = %q, %q", id, ev)
				}
			}
		})
	}
}

// Mailgun's reference types signature.timestamp as an integer and its
// examples quote it: both verify. What is wrong with a body that does not
// is said in the refusal.
func TestMailgunBodies(t *testing.T) {
	const ts, token = "1700000000", "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
	sig := mailgunSig("key", ts, token)
	withSig := func(s string) string { return `{"signature":` + s + `,"event-data":{"event":"opened"}}` }
	okBody := withSig(`{"timestamp":` + ts + `,"token":"` + token + `","signature":"` + sig + `"}`)
	route, mct := mailgunMultipart(t, [][2]string{{"token", token}})
	form := "application/x-www-form-urlencoded"
	p := mustNew(t, Config{Provider: "mailgun", Secrets: []string{"key"}})
	for _, tc := range []struct {
		name, ct, body string
		reason         string // "" for accepted
	}{
		{"timestamp a number", "application/json", okBody, ""},
		{"timestamp a number, no Content-Type", "", okBody, ""},
		{"timestamp a fraction", "", strings.Replace(okBody, ts, ts+".5", 1), "signature.timestamp is not a unix time in seconds"},
		{"timestamp negative", "", strings.Replace(okBody, ts, "-"+ts, 1), "signature.timestamp is not a unix time in seconds"},
		{"timestamp null", "", strings.Replace(okBody, ts, "null", 1), "body lacks signature.timestamp"},
		{"timestamp an object", "", strings.Replace(okBody, ts, `{}`, 1), "signature.timestamp is an object, not a string or a number"},
		{"token a number", "", withSig(`{"timestamp":1,"token":5,"signature":"x"}`), "signature.token is a number, not a string"},
		{"signature a string", "", withSig(`"` + sig + `"`), "signature is a string, not an object"},
		{"no signature object", "", `{"event-data":{}}`, "JSON body has no signature object"},
		{"fields missing", "", withSig(`{"timestamp":"1"}`), "body lacks signature.token, signature.signature"},
		{"signature not hex", "", withSig(`{"timestamp":"1","token":"t","signature":"zz"}`), "signature.signature is not a hex SHA-256 digest"},
		{"array", "application/json", `[1]`, "JSON body is an array, not an object"},
		{"broken JSON", "application/json", `{"signature":`, "body is not valid JSON: unexpected end of JSON input"},
		{"empty", "application/json", ``, "body is empty"},
		{"text", "text/plain", `hello`, `Content-Type "text/plain" is neither JSON nor a form`},
		{"form missing token", form, "timestamp=1&signature=" + sig, "body lacks form field token"},
		{"form bad escape", form, "timestamp=%zz", "form body is malformed"},
		{"form stale", form, "timestamp=1&token=t&signature=" + sig, "form field timestamp is "},
		{"multipart, no boundary", "multipart/form-data", string(route), "without a boundary"},
		{"multipart, other boundary", "multipart/form-data; boundary=xyz", string(route), "holds no part"},
		{"multipart, fields missing", mct, string(route), "body lacks form field timestamp, form field signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Request{Header: http.Header{}, Body: []byte(tc.body), Now: t0}
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			err := p.Verify(r)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if id, ev := p.DeliveryID(r), p.Event(r); id != token || ev != "opened" {
					t.Fatalf("DeliveryID, Event = %q, %q", id, ev)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Verify = %v, want a refusal saying %q", err, tc.reason)
			}
		})
	}
}
