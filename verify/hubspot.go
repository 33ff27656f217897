package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HubSpot's v3 signature: X-HubSpot-Signature-v3 is the base64
// HMAC-SHA256, under the app's client secret, of method + URI + body +
// X-HubSpot-Request-Timestamp, the URI being the full URL called with
// its query, with the characters HubSpot lists decoded; the timestamp is
// unix milliseconds and HubSpot rejects it past five minutes. The v1 and
// v2 headers sent beside it sign no timestamp and are not checked.
// https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests#validate-the-v3-request-signature
// (and hubspot-api-python's utils/signature.py, whose test vector
// verify/hubspot_test.go checks).
type hubspot struct {
	urlKeys
	tol time.Duration
}

func init() {
	register("hubspot", Spec{
		Options: []string{"secret", "secrets", "url", "tolerance"},
		New: func(c Config) (Provider, error) {
			k, err := newURLKeys(c)
			if err != nil {
				return nil, err
			}
			tol, err := toleranceOf(c)
			if err != nil {
				return nil, err
			}
			return &hubspot{urlKeys: k, tol: tol}, nil
		},
	})
}

// hubspotDecode undoes the percent-encodings HubSpot decodes before
// signing the URI.
var hubspotDecode = strings.NewReplacer(
	"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$", "%27", "'",
	"%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
	"%3a", ":", "%2f", "/", "%3f", "?", "%2a", "*", "%2c", ",", "%3b", ";",
)

func (h *hubspot) Verify(r *Request) error {
	v := r.Header.Get("X-HubSpot-Signature-v3")
	if v == "" {
		return fail("missing X-HubSpot-Signature-v3")
	}
	sig := decodeBase64Digest(sha256.New, v)
	if sig == nil {
		return fail("X-HubSpot-Signature-v3 is not a base64 SHA-256 digest")
	}
	ts := r.Header.Get("X-HubSpot-Request-Timestamp")
	if err := checkMillis("X-HubSpot-Request-Timestamp", ts, clock(r), h.tol); err != nil {
		return err
	}
	u, err := h.url.of(r)
	if err != nil {
		return err
	}
	if !anyMAC(sha256.New, h.keys, sig, h.content(method(r), u, ts, r.Body)...) {
		return fail("signature does not match (for %s %s)", method(r), u)
	}
	return nil
}

func (h *hubspot) content(method, u, ts string, body []byte) [][]byte {
	return [][]byte{[]byte(method + hubspotDecode.Replace(u)), body, []byte(ts)}
}

func method(r *Request) string {
	if r.Method == "" {
		return http.MethodPost
	}
	return r.Method
}

// DeliveryID identifies the batch across HubSpot's retries, which resend
// it with each event's attemptNumber raised (up to 10 attempts): a hash of
// the fields that stay, in every event of the batch, "hubspot:" and hex
// SHA-256. HubSpot documents eventId as not guaranteed unique, so it is
// taken with subscriptionId, portalId, appId, occurredAt, subscriptionType
// and objectId. A body that is not such a batch gets "": hookd then hashes
// the body.
// https://developers.hubspot.com/docs/api/webhooks#webhook-payloads
func (h *hubspot) DeliveryID(r *Request) string {
	list, ok := bodyJSON(r).([]any)
	if !ok || len(list) == 0 {
		return ""
	}
	d := sha256.New()
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok || !hasField(m, "eventId") {
			return ""
		}
		for _, k := range hubspotStable {
			v, _ := json.Marshal(m[k])
			fmt.Fprintf(d, "%s=%s\x00", k, v)
		}
		d.Write([]byte{'\n'})
	}
	return "hubspot:" + hex.EncodeToString(d.Sum(nil))
}

// hubspotStable are the fields of an event that a retry keeps.
var hubspotStable = []string{"eventId", "subscriptionId", "portalId", "appId", "occurredAt", "subscriptionType", "objectId"}

// Event is the subscriptionType of the batch's first event.
func (h *hubspot) Event(r *Request) string {
	if list, ok := r.JSON.([]any); ok && len(list) > 0 {
		return field(list[0], "subscriptionType")
	}
	return field(r.JSON, "subscriptionType")
}

func (h *hubspot) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	u, err := h.url.forSign("hubspot")
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	hd := http.Header{}
	hd.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(mac(sha256.New, h.keys[0], h.content(http.MethodPost, u, ts, body)...)))
	hd.Set("X-HubSpot-Request-Timestamp", ts)
	hd.Set("Content-Type", "application/json")
	return hd, nil
}

// ReadsBody: the event type comes from the body.
func (*hubspot) ReadsBody() {}

// ReadsURL: the signature covers the URL.
func (*hubspot) ReadsURL() {}
