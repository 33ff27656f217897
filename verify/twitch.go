package verify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// Twitch EventSub: Twitch-Eventsub-Message-Signature is "sha256=" and the
// hex HMAC-SHA256, under the subscription's secret, of
// Twitch-Eventsub-Message-Id, Twitch-Eventsub-Message-Timestamp (RFC 3339,
// with nanoseconds) and the raw body, concatenated. Twitch asks receivers
// to refuse messages older than 10 minutes: the default tolerance. A
// webhook_callback_verification is answered with its challenge as
// text/plain; a revocation is recorded like a notification.
// https://dev.twitch.tv/docs/eventsub/handling-webhook-events/
type twitch struct {
	keys [][]byte
	tol  time.Duration
}

// twitchTolerance is the age beyond which Twitch says to refuse a message.
const twitchTolerance = 10 * time.Minute

const (
	twitchID   = "Twitch-Eventsub-Message-Id"
	twitchTS   = "Twitch-Eventsub-Message-Timestamp"
	twitchSig  = "Twitch-Eventsub-Message-Signature"
	twitchType = "Twitch-Eventsub-Message-Type"
	twitchSub  = "Twitch-Eventsub-Subscription-Type"
)

func init() {
	register("twitch", Spec{
		Options: []string{"secret", "secrets", "tolerance"},
		New: func(c Config) (Provider, error) {
			if c.Tolerance == 0 {
				c.Tolerance = twitchTolerance
			}
			return timestamped(c, func(keys [][]byte, tol time.Duration) Provider { return &twitch{keys: keys, tol: tol} })
		},
	})
}

func (t *twitch) Verify(r *Request) error {
	id, ts, v := r.Header.Get(twitchID), r.Header.Get(twitchTS), r.Header.Get(twitchSig)
	if id == "" || ts == "" || v == "" {
		return fail("missing %s, %s or %s", twitchID, twitchTS, twitchSig)
	}
	sig, err := hexSHA256After(twitchSig, v, "sha256=")
	if err != nil {
		return err
	}
	if err := checkRFC3339(twitchTS, ts, clock(r), t.tol); err != nil {
		return err
	}
	if !anyMAC(sha256.New, t.keys, sig, []byte(id), []byte(ts), r.Body) {
		return fail("signature does not match")
	}
	return nil
}

// checkRFC3339 is checkTimestamp for an RFC 3339 time.
func checkRFC3339(name, ts string, now time.Time, tol time.Duration) error {
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return fail("%s is not an RFC 3339 time", name)
	}
	d := now.Sub(at)
	if d > tol {
		return fail("%s is %s old, beyond the tolerance of %s", name, d.Truncate(time.Second), tol)
	}
	if -d > tol {
		return fail("%s is %s in the future, beyond the tolerance of %s", name, (-d).Truncate(time.Second), tol)
	}
	return nil
}

// Challenge answers webhook_callback_verification with the challenge, raw,
// as text/plain.
func (t *twitch) Challenge(r *Request) (*Answer, bool) {
	if r.Header.Get(twitchType) != "webhook_callback_verification" {
		return nil, false
	}
	return textAnswer(field(bodyJSON(r), "challenge")), true
}

func (t *twitch) DeliveryID(r *Request) string { return r.Header.Get(twitchID) }

// Event is the subscription type (channel.follow), or "revocation" for a
// revocation message, whose subscription type is in its headers and body.
func (t *twitch) Event(r *Request) string {
	if r.Header.Get(twitchType) == "revocation" {
		return "revocation"
	}
	return r.Header.Get(twitchSub)
}

func (t *twitch) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	id := m.id(func() string {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
	})
	ts := now.UTC().Format(time.RFC3339Nano)
	h := http.Header{}
	h.Set(twitchID, id)
	h.Set(twitchTS, ts)
	h.Set("Twitch-Eventsub-Message-Retry", "0")
	h.Set(twitchSig, "sha256="+hex.EncodeToString(mac(sha256.New, t.keys[0], []byte(id), []byte(ts), body)))
	if m.Event == "revocation" {
		h.Set(twitchType, "revocation")
	} else {
		h.Set(twitchType, "notification")
		h.Set(twitchSub, m.event("channel.follow"))
	}
	h.Set("Twitch-Eventsub-Subscription-Version", "1")
	h.Set("Content-Type", "application/json")
	return h, nil
}
