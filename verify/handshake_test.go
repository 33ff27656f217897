package verify

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Twitch's challenge example from "Handling webhook events"; Twitch
// publishes no signed example, so the signature was made with Python's hmac.
const (
	twitchBody = `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	twitchSig2 = "sha256=37214ccb052869a5bfc9e4793d113fb31b0f79376cbf1df6d22f413f0f380a36"
)

func TestTwitch(t *testing.T) {
	at, _ := time.Parse(time.RFC3339Nano, "2019-11-16T10:11:12.634234626Z")
	now := at.Unix()
	h := map[string]string{twitchID: "e76c6bd4-55c9-4987-8304-da1588d8988b", twitchTS: "2019-11-16T10:11:12.634234626Z",
		twitchSig: twitchSig2, twitchType: "webhook_callback_verification", twitchSub: "channel.follow"}
	c := Config{Provider: "twitch", Secrets: []string{"s3cRe7"}}
	runVectors(t, c, []vector{
		{"example", h, twitchBody, now, true},
		{"10 minutes later", h, twitchBody, now + 600, true},
		{"stale", h, twitchBody, now + 601, false},
		{"from the future", h, twitchBody, now - 601, false},
		{"body changed", h, strings.Replace(twitchBody, "vohiyo", "vohiyO", 1), now, false},
		{"id changed", with(h, twitchID, "e76c6bd4-55c9-4987-8304-da1588d8988c"), twitchBody, now, false},
		{"timestamp changed", with(h, twitchTS, "2019-11-16T10:11:13.634234626Z"), twitchBody, now, false},
		{"timestamp not RFC 3339", with(h, twitchTS, "1573899072"), twitchBody, now, false},
		{"no prefix", with(h, twitchSig, strings.TrimPrefix(twitchSig2, "sha256=")), twitchBody, now, false},
		{"signature changed", with(h, twitchSig, twitchSig2[:len(twitchSig2)-1]+"7"), twitchBody, now, false},
		{"no signature", with(h, twitchSig, ""), twitchBody, now, false},
		{"no id", with(h, twitchID, ""), twitchBody, now, false},
		{"empty body", h, "", now, false},
	})
	runVectors(t, Config{Provider: "twitch", Secrets: []string{"other", "s3cRe7"}}, []vector{{"second secret", h, twitchBody, now, true}})
	runVectors(t, Config{Provider: "twitch", Secrets: []string{"s3cRe7"}, Tolerance: time.Minute}, []vector{{"beyond a set tolerance", h, twitchBody, now + 61, false}})

	p := mustNew(t, c)
	r := &Request{Header: http.Header{}, Body: []byte(twitchBody)}
	for k, v := range h {
		r.Header.Set(k, v)
	}
	a, ok := p.(Challenger).Challenge(r)
	if !ok || string(a.Body) != "pogchamp-kappa-360noscope-vohiyo" || !strings.HasPrefix(a.ContentType, "text/plain") || a.Status != 0 {
		t.Fatalf("Challenge = %+v, %v", a, ok)
	}
	for typ, event := range map[string]string{"notification": "channel.follow", "revocation": "revocation"} {
		r.Header.Set(twitchType, typ)
		if _, ok := p.(Challenger).Challenge(r); ok {
			t.Errorf("a %s was answered as a handshake", typ)
		}
		if p.Event(r) != event || p.DeliveryID(r) != h[twitchID] {
			t.Errorf("%s: event %q id %q", typ, p.Event(r), p.DeliveryID(r))
		}
	}
}

// Zoom's endpoint.url_validation example from its webhook docs. Zoom shows
// no secret; under Elastic Beats' test secret its encryptedToken is the
// value Beats' own test expects.
func TestZoom(t *testing.T) {
	const (
		body = `{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`
		sig  = "v0=f7b7dcfa8b11d7f5e1102e1dd720ffbf30762dbf79e9668b3c11b66898d36d9c"
		now  = 1654503849
	)
	h := map[string]string{"x-zm-request-timestamp": "1654503849", "x-zm-signature": sig}
	c := Config{Provider: "zoom", Secrets: []string{"secretValueTest"}}
	runVectors(t, c, []vector{
		{"example", h, body, now, true},
		{"5 minutes later", h, body, now + 300, true},
		{"stale", h, body, now + 301, false},
		{"body changed", h, strings.Replace(body, "qgg8", "qgg9", 1), now, false},
		{"timestamp changed", with(h, "x-zm-request-timestamp", "1654503850"), body, now, false},
		{"signature changed", with(h, "x-zm-signature", sig[:len(sig)-1]+"d"), body, now, false},
		{"no v0=", with(h, "x-zm-signature", sig[3:]), body, now, false},
		{"no signature", with(h, "x-zm-signature", ""), body, now, false},
		{"no timestamp", with(h, "x-zm-request-timestamp", ""), body, now, false},
	})
	const want = `{"encryptedToken":"70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff","plainToken":"qgg8vlvZRS6UYooatFL8Aw"}`
	// While secrets rotate, the answer is under the secret Zoom signed with.
	for _, secrets := range [][]string{{"secretValueTest"}, {"older", "secretValueTest"}, {"secretValueTest", "newer"}} {
		p := mustNew(t, Config{Provider: "zoom", Secrets: secrets})
		r := &Request{Header: http.Header{}, Body: []byte(body), Now: time.Unix(now, 0)}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		if err := p.Verify(r); err != nil {
			t.Fatal(err)
		}
		a, ok := p.(Challenger).Challenge(r)
		if !ok || string(a.Body) != want || a.ContentType != "application/json" {
			t.Fatalf("secrets %v: Challenge = %s, %v", secrets, a.Body, ok)
		}
	}
	p := mustNew(t, c)
	r := &Request{Body: []byte(`{"event":"meeting.started","payload":{}}`)}
	if _, ok := p.(Challenger).Challenge(r); ok {
		t.Fatal("meeting.started answered as a handshake")
	}
	r.JSON = bodyJSON(r)
	if p.Event(r) != "meeting.started" || p.DeliveryID(r) != "" {
		t.Fatalf("event %q id %q", p.Event(r), p.DeliveryID(r))
	}
}

func TestMeta(t *testing.T) {
	const (
		body = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp"},"field":"messages"}]}]}`
		sig  = "sha256=2bcf4223eda56390e4129a3068ed3296a89fa42524988978a6cd1a30f51d25a4"
	)
	h := map[string]string{"X-Hub-Signature-256": sig}
	runVectors(t, testConfigs["meta"], []vector{
		{"signed", h, body, 0, true},
		{"body changed", h, body + "\n", 0, false},
		{"signature changed", with(h, "X-Hub-Signature-256", sig[:len(sig)-1]+"5"), body, 0, false},
		{"no prefix", with(h, "X-Hub-Signature-256", sig[7:]), body, 0, false},
		{"sha1 header only", map[string]string{"X-Hub-Signature": "sha1=" + strings.Repeat("0", 40)}, body, 0, false},
		{"no signature", nil, body, 0, false},
	})
	p := mustNew(t, testConfigs["meta"])
	r := &Request{Body: []byte(body)}
	r.JSON = bodyJSON(r)
	if p.Event(r) != "whatsapp_business_account" || p.DeliveryID(r) != "" {
		t.Fatalf("event %q id %q", p.Event(r), p.DeliveryID(r))
	}
	// The subscription check, as the getting-started page shows it.
	q := "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock"
	for _, tc := range []struct {
		method, query string
		cfg           Config
		greeted, ok   bool
	}{
		{"GET", q, testConfigs["meta"], true, true},
		{"GET", strings.Replace(q, "meatyhamhock", "meatyhamhocK", 1), testConfigs["meta"], true, false},
		{"GET", strings.Replace(q, "&hub.verify_token=meatyhamhock", "", 1), testConfigs["meta"], true, false},
		{"GET", strings.Replace(q, "subscribe", "unsubscribe", 1), testConfigs["meta"], true, false},
		{"GET", strings.Replace(q, "1158201444", "11582%0901444", 1), testConfigs["meta"], true, false},
		{"GET", strings.Replace(q, "1158201444", "11582%0D%0A01444", 1), testConfigs["meta"], true, false},
		{"GET", strings.Replace(q, "hub.challenge=1158201444", "hub.challenge=", 1), testConfigs["meta"], true, false},
		{"GET", q, Config{Provider: "meta", Secrets: []string{"meta-app-secret"}}, true, false}, // no verify_token set
		{"POST", q, testConfigs["meta"], false, false},
		{"GET", "", testConfigs["meta"], false, false},
	} {
		qv, _ := url.ParseQuery(tc.query)
		a, greeted, err := mustNew(t, tc.cfg).(Greeter).Greet(&Request{Method: tc.method, Query: qv})
		if greeted != tc.greeted || (err == nil) != tc.ok && tc.greeted {
			t.Errorf("%s ?%s: Greet = %+v, %v, %v", tc.method, tc.query, a, greeted, err)
			continue
		}
		// A bad challenge is a bad request (400); a bad token, unauthorized.
		if err != nil && errors.Is(err, ErrBadRequest) != (strings.Contains(tc.query, "%0") || strings.Contains(tc.query, "challenge=&")) {
			t.Errorf("%v: the wrong kind of refusal", err)
		}
		if tc.ok && (string(a.Body) != "1158201444" || !strings.HasPrefix(a.ContentType, "text/plain")) {
			t.Errorf("answer %+v", a)
		}
	}
}

func TestGraph(t *testing.T) {
	// Graph's change notification example, with its clientState.
	const item = `{"id":"lsgTZMr9KwAAA","subscriptionId":"{subscription_guid}","subscriptionExpirationDateTime":"2016-03-19T22:11:09.952Z","clientState":"secretClientValue","changeType":"created","resource":"users/{user_guid}@{tenant_guid}/messages/{long_id_string}","tenantId":"84bd8158-6d4d-4958-8b9f-9d6445542f95","resourceData":{"@odata.type":"#Microsoft.Graph.Message","@odata.id":"Users/{user_guid}@{tenant_guid}/Messages/{long_id_string}","@odata.etag":"W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\"","id":"{long_id_string}"}}`
	body := `{"value":[` + item + `]}`
	other := strings.Replace(item, "secretClientValue", "secretClientValuf", 1)
	c := Config{Provider: "graph", Secrets: []string{"secretClientValue"}}
	runVectors(t, c, []vector{
		{"example", nil, body, 0, true},
		{"two items", nil, `{"value":[` + item + `,` + item + `]}`, 0, true},
		{"one bad item of two", nil, `{"value":[` + item + `,` + other + `]}`, 0, false},
		{"wrong clientState", nil, `{"value":[` + other + `]}`, 0, false},
		{"no clientState", nil, `{"value":[{"changeType":"created"}]}`, 0, false},
		{"clientState not a string", nil, `{"value":[{"clientState":1}]}`, 0, false},
		{"an item not an object", nil, `{"value":[` + item + `,1]}`, 0, false},
		{"empty value", nil, `{"value":[]}`, 0, false},
		{"no value", nil, `{"clientState":"secretClientValue"}`, 0, false},
		{"not JSON", nil, `value=secretClientValue`, 0, false},
		{"empty", nil, ``, 0, false},
	})
	runVectors(t, Config{Provider: "graph", Secrets: []string{"a-second-state", "secretClientValue"}}, []vector{
		{"either subscription's state", nil, `{"value":[` + item + `,` + strings.Replace(item, "secretClientValue", "a-second-state", 1) + `]}`, 0, true},
	})
	p := mustNew(t, c)
	r := &Request{Body: []byte(body)}
	r.JSON = bodyJSON(r)
	if p.Event(r) != "created" || p.DeliveryID(r) != "" {
		t.Fatalf("event %q id %q", p.Event(r), p.DeliveryID(r))
	}
	r = &Request{Body: []byte(`{"value":[{"lifecycleEvent":"reauthorizationRequired","clientState":"secretClientValue"}]}`)}
	r.JSON = bodyJSON(r)
	if p.Event(r) != "reauthorizationRequired" {
		t.Fatalf("lifecycle event %q", p.Event(r))
	}
	// sign checks the body, since the secret is in it.
	if _, err := Sign(c, []byte(body), t0); err != nil {
		t.Fatal(err)
	}
	var fe *FieldError
	if _, err := Sign(c, []byte(`{"value":[`+other+`]}`), t0); !errors.As(err, &fe) || strings.Contains(err.Error(), "secretClientValue") {
		t.Fatalf("signing a body without the secret: %v", err)
	}
	// Validation: the token URL-decoded, as text/plain; Graph's and
	// SharePoint's spelling. Tokens are opaque: any text is echoed as it
	// came; control characters, invalid UTF-8 or a token too long are a
	// bad request.
	token := "Validation: Testing client application reachability for subscription Request-Id: 522a8e7e-096a-494c-aaf1-ac0dcfca45b7"
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{token, true},
		{`a&b'c"d<e>f`, true},
		{"<script>alert(1)</script>", true},
		{"Überprüfung ✓ 検証", true},
		{strings.Repeat("a", 4096), true},
		{"a\tb", false},
		{"a\r\nb", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a\x7fb", false},
		{"a\u0085b", false},
		{"a\xffb", false},
		{"", false},
		{strings.Repeat("a", 4097), false},
	} {
		for _, name := range []string{"validationToken", "validationtoken"} {
			a, greeted, err := p.(Greeter).Greet(&Request{Method: "POST", Query: url.Values{name: {tc.token}}})
			if !greeted || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadRequest)) {
				t.Errorf("%s=%.40q: Greet = %+v, %v, %v", name, tc.token, a, greeted, err)
				continue
			}
			if tc.ok && (string(a.Body) != tc.token || !strings.HasPrefix(a.ContentType, "text/plain")) {
				t.Errorf("answer %q %s", a.Body, a.ContentType)
			}
		}
	}
	// The secret is not recorded: each clientState, and nothing else, redacted.
	in := `{"value":[{"clientState":"secretClientValue","resource":"xsecretClientValuex"},{"clientState": "secretClientValue"}]}`
	want := `{"value":[{"clientState":"[redacted]","resource":"xsecretClientValuex"},{"clientState": "[redacted]"}]}`
	if got := p.(BodyRedactor).RedactBody([]byte(in)); string(got) != want {
		t.Errorf("RedactBody = %s", got)
	}
	if _, greeted, _ := p.(Greeter).Greet(&Request{Method: "POST", Query: url.Values{"other": {"1"}}}); greeted {
		t.Error("a notification was taken for a validation")
	}
}
