package verify

import (
	"crypto/ed25519"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Discord signs interactions and Webhook Events alike: X-Signature-Ed25519
// is the hex Ed25519 signature, under the application's key, of
// X-Signature-Timestamp (unix seconds) followed by the raw body; the config
// holds the application's public key, in hex as the Developer Portal shows
// it. Interactions (their bodies carry a token) answer a PING (type 1) with
// {"type":1}; Webhook Events answer their PING (type 0) and every event with
// 204 and no body.
//
// Discord documents no timestamp window. hookd allows 10 minutes either
// way: Discord retries a Webhook Event for up to 10 minutes, and this
// covers every retry whether or not it is signed again; a replay within the
// window has the same body or id, so it is a duplicate.
// https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
// https://discord.com/developers/docs/events/webhook-events
type discord struct {
	keys []ed25519.PublicKey
	priv ed25519.PrivateKey
	tol  time.Duration
}

// discordTolerance is Discord's default window; see discord.
const discordTolerance = 10 * time.Minute

func init() {
	register("discord", Spec{
		Options: []string{"public_key", "public_keys", "tolerance"},
		New: func(c Config) (Provider, error) {
			keys, priv, err := edKeys(c, hexKeys)
			if err != nil {
				return nil, err
			}
			if len(keys) == 0 {
				return nil, &FieldError{Field: "public_key", Msg: "provider discord needs the application's public_key (hex, from the Developer Portal's General Information)"}
			}
			tol := discordTolerance
			if c.Tolerance != 0 {
				if tol, err = toleranceOf(c); err != nil {
					return nil, err
				}
			}
			return &discord{keys: keys, priv: priv, tol: tol}, nil
		},
	})
}

func (d *discord) Verify(r *Request) error {
	ts := r.Header.Get("X-Signature-Timestamp")
	if ts == "" {
		return fail("missing X-Signature-Timestamp")
	}
	v := r.Header.Get("X-Signature-Ed25519")
	if v == "" {
		return fail("missing X-Signature-Ed25519")
	}
	sig, err := hex.DecodeString(v)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fail("X-Signature-Ed25519 is not a hex Ed25519 signature")
	}
	if err := checkTimestamp("X-Signature-Timestamp", ts, clock(r), d.tol); err != nil {
		return err
	}
	msg := make([]byte, 0, len(ts)+len(r.Body))
	msg = append(append(msg, ts...), r.Body...)
	if !anyEd25519(d.keys, [][]byte{sig}, msg) {
		return fail("signature does not match")
	}
	return nil
}

// interaction reports whether the body is an interaction (it carries the
// token to answer it with) rather than a Webhook Event.
func interaction(v any) bool { return hasField(v, "token") }

// Challenge answers both PINGs: an interaction's type 1 with {"type":1}, a
// Webhook Event's type 0 with 204.
func (d *discord) Challenge(r *Request) (*Answer, bool) {
	v := bodyJSON(r)
	t, ok := intField(v, "type")
	switch {
	case !ok:
		return nil, false
	case interaction(v) && t == 1:
		return &Answer{ContentType: "application/json", Body: []byte(`{"type":1}`)}, true
	case !interaction(v) && t == 0:
		a := noContent
		return &a, true
	}
	return nil, false
}

// Acknowledge answers Webhook Events with 204 and no body, as Discord asks.
// An interaction that no respond: answers gets the deferred answer of its
// type, since Discord shows "This interaction failed" for anything else
// within 3 s: a command or a modal "is thinking…" (seen only by its user)
// until an action edits the answer with the interaction's token within
// 15 min; a component's message is left as it is; an autocomplete offers
// no choices.
// https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction
func (d *discord) Acknowledge(r *Request) *Answer {
	v := bodyJSON(r)
	if !interaction(v) {
		a := noContent
		return &a
	}
	t, _ := intField(v, "type")
	if body, ok := deferredAnswers[t]; ok {
		return &Answer{ContentType: "application/json", Body: []byte(body)}
	}
	return nil
}

// deferredAnswers are the interaction responses of Discord's types 5
// (DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, flags 64: ephemeral), 6
// (DEFERRED_UPDATE_MESSAGE) and 8 (APPLICATION_COMMAND_AUTOCOMPLETE_RESULT),
// by interaction type.
var deferredAnswers = map[int64]string{
	2: `{"type":5,"data":{"flags":64}}`,
	3: `{"type":6}`,
	4: `{"type":8,"data":{"choices":[]}}`,
	5: `{"type":5,"data":{"flags":64}}`,
}

// DeliveryID is an interaction's id; Webhook Events carry none.
func (d *discord) DeliveryID(r *Request) string {
	if interaction(r.JSON) {
		return field(r.JSON, "id")
	}
	return ""
}

var interactionTypes = map[int64]string{1: "PING", 2: "APPLICATION_COMMAND", 3: "MESSAGE_COMPONENT", 4: "APPLICATION_COMMAND_AUTOCOMPLETE", 5: "MODAL_SUBMIT"}

// Event is an interaction's type by name (APPLICATION_COMMAND), or a
// Webhook Event's event.type (APPLICATION_AUTHORIZED).
func (d *discord) Event(r *Request) string {
	t, ok := intField(r.JSON, "type")
	switch {
	case !ok:
		return ""
	case interaction(r.JSON):
		return interactionTypes[t]
	case t == 0:
		return "PING"
	}
	return field(r.JSON, "event", "type")
}

func (d *discord) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	if d.priv == nil {
		return nil, &FieldError{Field: "private_key", Msg: "provider discord signs with a private key: Discord keeps the application's own, so test with a key pair of yours"}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	msg := append([]byte(ts), body...)
	h := http.Header{}
	h.Set("X-Signature-Timestamp", ts)
	h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(d.priv, msg)))
	h.Set("Content-Type", "application/json")
	return h, nil
}

// ReadsBody: the delivery id, event type and PINGs come from the body.
func (*discord) ReadsBody() {}
