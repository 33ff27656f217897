package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Zoom: x-zm-signature is "v0=" and the hex HMAC-SHA256, under the app's
// Webhook Secret Token, of "v0:{x-zm-request-timestamp}:{raw body}", with
// the timestamp in unix seconds: the generic scheme with Zoom's names. An
// endpoint.url_validation is answered with {plainToken, encryptedToken},
// encryptedToken the hex HMAC-SHA256 of plainToken under the same secret,
// only once the request's own signature verified: answering an unsigned
// one would sign any string for whoever sent it.
// https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
// https://github.com/zoom/webhook-sample
type zoom struct {
	*genericHMAC
}

func init() {
	register("zoom", Spec{
		HashIDs: true,
		Options: []string{"secret", "secrets", "tolerance"},
		New: func(c Config) (Provider, error) {
			c.Header, c.Prefix = "x-zm-signature", "v0="
			c.TimestampHeader, c.Template = "x-zm-request-timestamp", "v0:{timestamp}:{body}"
			g, err := newGenericHMAC(c)
			if err != nil {
				return nil, err
			}
			return &zoom{g.(*genericHMAC)}, nil
		},
	})
}

// Challenge answers endpoint.url_validation under the secret that signed
// it, so that it holds while secrets rotate.
func (z *zoom) Challenge(r *Request) (*Answer, bool) {
	v := bodyJSON(r)
	if field(v, "event") != "endpoint.url_validation" {
		return nil, false
	}
	key := z.signedBy(r)
	if key == nil && r.DryRun {
		key = z.keys[0]
	}
	if key == nil { // Verify passed, so this does not happen
		return nil, false
	}
	plain := field(v, "payload", "plainToken")
	return jsonAnswer(map[string]string{
		"plainToken":     plain,
		"encryptedToken": hex.EncodeToString(mac(sha256.New, key, []byte(plain))),
	})
}

// signedBy returns the secret whose signature the request carries.
func (z *zoom) signedBy(r *Request) []byte {
	sig := decodeHexDigest(sha256.New, strings.TrimPrefix(r.Header.Get(z.header), z.prefix))
	parts := z.content(r.Header.Get(z.tsHeader), r.Body)
	var found []byte
	for _, k := range z.keys {
		if hmac.Equal(mac(sha256.New, k, parts...), sig) && found == nil {
			found = k
		}
	}
	return found
}

// DeliveryID: Zoom sends none that holds across retries (x-zm-trackingid
// is per attempt); hookd hashes the body.
func (z *zoom) DeliveryID(*Request) string { return "" }

// Event is the body's event (meeting.started).
func (z *zoom) Event(r *Request) string { return field(r.JSON, "event") }

// ReadsBody: the event type comes from the body.
func (*zoom) ReadsBody() {}
