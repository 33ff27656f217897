package verify

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// RFC 8032's first test key (its seed is discordSeed): Discord publishes
// no signed example, so this vector was made with another implementation
// (Python's cryptography) over Discord's PING shape.
const (
	discordPub  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	discordPing = `{"application_id":"123","id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"user":{"id":"53908232506183680"},"version":1}`
	discordSig  = "822ac2d26091d0918825820ec410f2776c65f8b3d2bdac550fa9b1a07cffc44dde55f2b537dd663fc809505fc9a2664bc5a473cac6bdf1047e457a87c27ba60f"
	otherPub    = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c" // RFC 8032 test 2
)

func TestDiscordVector(t *testing.T) {
	h := map[string]string{"X-Signature-Timestamp": "1700000000", "X-Signature-Ed25519": discordSig}
	flipped := discordSig[:len(discordSig)-1] + "e"
	runVectors(t, Config{Provider: "discord", PublicKeys: []string{discordPub}}, []vector{
		{"published shape", h, discordPing, 1700000000, true},
		{"10 minutes later", h, discordPing, 1700000600, true},
		{"10 minutes earlier", h, discordPing, 1699999400, true},
		{"stale", h, discordPing, 1700000601, false},
		{"from the future", h, discordPing, 1699999399, false},
		{"body changed", h, strings.Replace(discordPing, `"type":1`, `"type":2`, 1), 1700000000, false},
		{"timestamp changed (a replay made fresh)", with(h, "X-Signature-Timestamp", "1700000001"), discordPing, 1700000000, false},
		{"signature changed", with(h, "X-Signature-Ed25519", flipped), discordPing, 1700000000, false},
		{"signature upper case", with(h, "X-Signature-Ed25519", strings.ToUpper(discordSig)), discordPing, 1700000000, true},
		{"signature short", with(h, "X-Signature-Ed25519", discordSig[:126]), discordPing, 1700000000, false},
		{"signature not hex", with(h, "X-Signature-Ed25519", "zz"+discordSig[2:]), discordPing, 1700000000, false},
		{"no signature", with(h, "X-Signature-Ed25519", ""), discordPing, 1700000000, false},
		{"no timestamp", with(h, "X-Signature-Timestamp", ""), discordPing, 1700000000, false},
		{"empty body", h, "", 1700000000, false},
	})
	// Rotation: either listed key; not a third.
	runVectors(t, Config{Provider: "discord", PublicKeys: []string{otherPub, discordPub}}, []vector{{"second key", h, discordPing, 1700000000, true}})
	runVectors(t, Config{Provider: "discord", PublicKeys: []string{otherPub}}, []vector{{"another key", h, discordPing, 1700000000, false}})
	// tolerance narrows the window.
	runVectors(t, Config{Provider: "discord", PublicKeys: []string{discordPub}, Tolerance: time.Minute}, []vector{
		{"within", h, discordPing, 1700000060, true},
		{"beyond", h, discordPing, 1700000061, false},
	})
}

func TestDiscordConfig(t *testing.T) {
	for _, tc := range []struct {
		c     Config
		field string
	}{
		{Config{}, "public_key"},
		{Config{PublicKeys: []string{"xyz"}}, "public_key"},
		{Config{PublicKeys: []string{""}}, "public_key"},
		{Config{PublicKeys: []string{discordPub[:62]}}, "public_key"},
		{Config{PublicKeys: []string{discordPub}, PrivateKey: "abcd"}, "private_key"},
		{Config{PublicKeys: []string{discordPub}, Tolerance: -time.Second}, "tolerance"},
	} {
		tc.c.Provider = "discord"
		_, err := New(tc.c)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("New(%+v) = %v, want an error on %s", tc.c, err, tc.field)
		}
	}
	// A 64-byte private key is seed and public key; a mismatched half is refused.
	seed, _ := hex.DecodeString(discordSeed)
	full := hex.EncodeToString(ed25519.NewKeyFromSeed(seed))
	if _, err := New(Config{Provider: "discord", PrivateKey: full}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Provider: "discord", PrivateKey: full[:64] + otherPub}); err == nil {
		t.Fatal("a private key whose halves disagree was accepted")
	}
	if _, err := Sign(Config{Provider: "discord", PublicKeys: []string{discordPub}}, nil, t0); err == nil {
		t.Fatal("signed without a private key")
	}
}

// Interactions: PING (type 1) answered {"type":1}, the rest recorded and
// answered by the rules, else deferred as their type allows. Webhook Events: PING (type 0) answered 204, every
// event recorded and answered 204.
func TestDiscordAnswers(t *testing.T) {
	p := mustNew(t, testConfigs["discord"])
	ch, ack := p.(Challenger), p.(Acknowledger)
	for _, tc := range []struct {
		body      string
		challenge string // "204", a body, or "" for none
		ack       string // the same, for Acknowledge
		id, event string
	}{
		{discordPing, `{"type":1}`, "", "787053080478613555", "PING"},
		{`{"id":"7","token":"t","type":2,"data":{"name":"deploy"}}`, "", `{"type":5,"data":{"flags":64}}`, "7", "APPLICATION_COMMAND"},
		{`{"id":"8","token":"t","type":3}`, "", `{"type":6}`, "8", "MESSAGE_COMPONENT"},
		{`{"id":"10","token":"t","type":4,"data":{"name":"deploy"}}`, "", `{"type":8,"data":{"choices":[]}}`, "10", "APPLICATION_COMMAND_AUTOCOMPLETE"},
		{`{"id":"11","token":"t","type":5,"data":{"custom_id":"m"}}`, "", `{"type":5,"data":{"flags":64}}`, "11", "MODAL_SUBMIT"},
		{`{"id":"9","token":"t","type":0}`, "", "", "9", ""},
		{`{"version":1,"application_id":"123","type":0}`, "204", "204", "", "PING"},
		{`{"version":1,"application_id":"123","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834"}}`, "", "204", "", "APPLICATION_AUTHORIZED"},
		{`{"version":1,"type":"0"}`, "", "204", "", ""},
		{`[]`, "", "204", "", ""},
	} {
		r := &Request{Body: []byte(tc.body)}
		a, ok := ch.Challenge(r)
		switch {
		case tc.challenge == "" && ok:
			t.Errorf("%s: answered as a handshake: %+v", tc.body, a)
		case tc.challenge == "204" && (!ok || a.Status != 204 || len(a.Body) != 0):
			t.Errorf("%s: Challenge = %+v, %v; want 204", tc.body, a, ok)
		case tc.challenge != "" && tc.challenge != "204" && (!ok || string(a.Body) != tc.challenge || a.ContentType != "application/json"):
			t.Errorf("%s: Challenge = %+v, %v; want %s", tc.body, a, ok, tc.challenge)
		}
		got := ack.Acknowledge(r)
		switch {
		case tc.ack == "" && got != nil:
			t.Errorf("%s: Acknowledge = %+v, want none", tc.body, got)
		case tc.ack == "204" && (got == nil || got.Status != 204 || len(got.Body) != 0):
			t.Errorf("%s: Acknowledge = %+v, want 204", tc.body, got)
		case tc.ack != "" && tc.ack != "204" && (got == nil || got.Status != 0 || string(got.Body) != tc.ack || got.ContentType != "application/json"):
			t.Errorf("%s: Acknowledge = %+v, want %s", tc.body, got, tc.ack)
		}
		r.JSON = bodyJSON(r)
		if p.DeliveryID(r) != tc.id || p.Event(r) != tc.event {
			t.Errorf("%s: id %q event %q, want %q %q", tc.body, p.DeliveryID(r), p.Event(r), tc.id, tc.event)
		}
	}
}

// Standard Webhooks v1a: the specification's example message, signed with
// RFC 8032's first key by another implementation (Python's cryptography);
// the reference libraries have no v1a yet.
func TestStandardV1a(t *testing.T) {
	const (
		pub  = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
		priv = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
		sig  = "v1a,pbpYBMlty2hExn4zt0UTGb6BaP2Vq5AfyzjB9GGV3x/wCJKd8UjOCf8Qhaji6TKY9C5eNMnlF0GG4udaO6B7Ag=="
		body = `{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}`
		now  = 1674087231
		v1   = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=" // the spec's, under a key not configured here
	)
	h := map[string]string{"webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "webhook-timestamp": "1674087231", "webhook-signature": sig}
	vs := []vector{
		{"v1a", h, body, now, true},
		{"v1 and v1a, as the spec shows", with(h, "webhook-signature", v1+" "+sig), body, now, true},
		{"v1 alone", with(h, "webhook-signature", v1), body, now, false},
		{"body changed", h, body + " ", now, false},
		{"id changed", with(h, "webhook-id", "msg_2"), body, now, false},
		{"stale", h, body, now + 301, false},
		{"v1a label on a v1 length", with(h, "webhook-signature", "v1a,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="), body, now, false},
		{"signature changed", with(h, "webhook-signature", strings.Replace(sig, "pbpY", "pbpZ", 1)), body, now, false},
		{"empty", with(h, "webhook-signature", ""), body, now, false},
	}
	runVectors(t, Config{Provider: "standard", PublicKeys: []string{pub}}, vs)
	// Rotation: either listed key.
	other, _ := hex.DecodeString(otherPub)
	runVectors(t, Config{Provider: "standard", PublicKeys: []string{"whpk_" + base64.StdEncoding.EncodeToString(other), pub}}, []vector{{"second key", h, body, now, true}})
	runVectors(t, Config{Provider: "standard", PublicKeys: []string{"whpk_" + base64.StdEncoding.EncodeToString(other)}}, []vector{{"another key", h, body, now, false}})
	// Beside a secret: either scheme verifies.
	runVectors(t, Config{Provider: "standard", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, PublicKeys: []string{pub}}, []vector{
		{"v1a with a secret set too", h, body, now, true},
	})
	// Keys in another form are refused by name.
	for _, bad := range []string{discordPub, "whpk_AAAA", priv} {
		var fe *FieldError
		if _, err := New(Config{Provider: "standard", PublicKeys: []string{bad}}); !errors.As(err, &fe) || fe.Field != "public_key" {
			t.Errorf("public key %q: %v", bad, err)
		}
	}
	// sign with the private key alone: v1a only; with a secret too: both.
	for _, c := range []Config{{Provider: "standard", PrivateKey: priv}, {Provider: "standard", PrivateKey: priv, Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}} {
		hs, err := Sign(c, []byte(body), time.Unix(now, 0))
		if err != nil {
			t.Fatal(err)
		}
		p := mustNew(t, Config{Provider: "standard", PublicKeys: []string{pub}})
		if err := p.Verify(&Request{Header: hs, Body: []byte(body), Now: time.Unix(now, 0)}); err != nil {
			t.Fatalf("%s: %v", hs.Get("webhook-signature"), err)
		}
		if n := len(strings.Fields(hs.Get("webhook-signature"))); n != 1+len(c.Secrets) {
			t.Fatalf("%d signatures: %s", n, hs.Get("webhook-signature"))
		}
	}
	if _, err := Sign(Config{Provider: "standard", PublicKeys: []string{pub}}, nil, t0); err == nil {
		t.Fatal("signed with a public key only")
	}
}
