package engine

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mailgunRoute builds what a Mailgun Route's forward() posts for a message
// with an attachment: multipart/form-data with the parsed message, the
// timestamp, token and signature fields, and the attachment as a file part.
func mailgunRoute(t *testing.T, key, token string, at time.Time, subject string) ([]byte, http.Header) {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + token))
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range [][2]string{{"recipient", "support@example.com"}, {"sender", "bob@example.com"},
		{"subject", subject}, {"body-plain", "Invoice attached."}, {"attachment-count", "1"},
		{"timestamp", ts}, {"token", token}, {"signature", hex.EncodeToString(m.Sum(nil))}} {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	ph := textproto.MIMEHeader{}
	ph.Set("Content-Disposition", `form-data; name="attachment-1"; filename="invoice.pdf"`)
	ph.Set("Content-Type", "application/pdf")
	part, err := w.CreatePart(ph)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(bytes.Repeat([]byte("%PDF\x00\xff"), 20000))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}}
}

// A Route forward() of a message with an attachment, multipart/form-data,
// is verified by its signature fields and recorded as sent; its token is
// the delivery id, so Mailgun's retry is a duplicate; a retry hours later
// with the first attempt's signature is within the default tolerance; a
// changed token or a foreign key is 401 and records nothing.
func TestMailgunRouteWithAttachment(t *testing.T) {
	dir := t.TempDir()
	te := startEngine(t, dir, `
sources:
  inbound: {verify: {provider: mailgun, secret: mg-key}}
  strict: {verify: {provider: mailgun, secret: mg-key, tolerance: 5m}}
rules:
  - name: support
    sources: [inbound, strict]
    when: body.recipient == "support@example.com" && body["attachment-1"].filename == "invoice.pdf"
    actions: [{shell: {command: ["sh", "-c", "echo $HOOKD_DELIVERY_ID >> $DIR/ids"]}}]
`, nil)
	now := time.Now()
	const token = "9f1c2e7167110d68991efc6b9f89f0a11066af27834600e123"
	body, h := mailgunRoute(t, "mg-key", token, now, "Invoice")
	a := te.send("POST", "/hooks/inbound", h, body)
	if a.code != http.StatusOK || a.body["status"] != "accepted" {
		t.Fatalf("route with attachment: %d %s", a.code, a.raw)
	}
	if a := te.send("POST", "/hooks/inbound", h, body); a.body["status"] != "duplicate" {
		t.Errorf("resent: %d %s", a.code, a.raw)
	}
	tampered := bytes.Replace(body, []byte(token), []byte("0"+token[1:]), 1)
	if a := te.send("POST", "/hooks/inbound", h, tampered); a.code != http.StatusUnauthorized {
		t.Errorf("token changed: %d %s", a.code, a.raw)
	}
	forged, fh := mailgunRoute(t, "not-the-key", "1"+token[1:], now, "Invoice")
	if a := te.send("POST", "/hooks/inbound", fh, forged); a.code != http.StatusUnauthorized {
		t.Errorf("foreign key: %d %s", a.code, a.raw)
	}
	// Mailgun's last retry, ~8 h after the first attempt, resends its
	// signature: taken by default, refused under an explicit 5m.
	late, lh := mailgunRoute(t, "mg-key", "2"+token[1:], now.Add(-8*time.Hour-5*time.Minute), "Invoice")
	if a := te.send("POST", "/hooks/strict", lh, late); a.code != http.StatusUnauthorized {
		t.Errorf("8h-old signature, tolerance 5m: %d %s", a.code, a.raw)
	}
	if a := te.send("POST", "/hooks/inbound", lh, late); a.body["status"] != "accepted" {
		t.Errorf("8h-old signature, default tolerance: %d %s", a.code, a.raw)
	}
	te.waitJobs(2)
	ev, err := te.store.Event(uint64(a.body["id"].(float64)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Body, body) || ev.DeliveryID != token {
		t.Errorf("recorded delivery id %q, body %d bytes (sent %d)", ev.DeliveryID, len(ev.Body), len(body))
	}
	ids, _ := os.ReadFile(filepath.Join(dir, "ids"))
	if got := strings.Fields(string(ids)); len(got) != 2 || got[0] != token {
		t.Errorf("actions ran for %q", got)
	}
	n := 0
	for id := uint64(1); id <= te.bolt().LastID(); id++ {
		if _, err := te.store.Event(id); err == nil {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d events recorded, want 2", n)
	}
}
