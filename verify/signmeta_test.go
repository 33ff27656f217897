package verify

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// SignMeta sets the event type and delivery id where the provider reads
// them from headers, the request still verifies, and a provider that reads
// them elsewhere refuses them by name.
func TestSignMeta(t *testing.T) {
	m := Meta{Event: "pull_request", ID: "delivery-42"}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			if bodyInSecret[name] {
				t.Skip("the secret travels in the body")
			}
			c := testConfigs[name]
			p := mustNew(t, c)
			b, h, err := SignRequest(c, []byte(testBody), t0, m)
			var fe *FieldError
			if err != nil {
				if !errors.As(err, &fe) || (fe.Field != "event" && fe.Field != "id") {
					t.Fatalf("%v", err)
				}
				// Refused: then the provider really does not carry it.
				only := Meta{ID: m.ID}
				if fe.Field == "id" {
					only = Meta{Event: m.Event}
				}
				_, _, err = SignRequest(c, []byte(testBody), t0, only)
				if err != nil && !errors.As(err, &fe) {
					t.Fatal(err)
				}
				return
			}
			r := &Request{Header: h, Query: url.Values{}, Body: b, Now: t0.Add(time.Minute)}
			if err := p.Verify(r); err != nil {
				t.Fatalf("signed with an id, it does not verify: %v", err)
			}
			if p.Event(r) != m.Event || p.DeliveryID(r) != m.ID {
				t.Fatalf("event %q, id %q", p.Event(r), p.DeliveryID(r))
			}
		})
	}
	if _, err := SignMeta(testConfigs["shopify"], nil, t0, Meta{Event: "orders/paid", ID: "e1:orders/paid"}); err != nil {
		t.Errorf("shopify sends both in headers, yet: %v", err)
	}
	for _, name := range []string{"github", "gitlab", "gitea", "bitbucket", "twitch"} {
		if _, err := SignMeta(testConfigs[name], nil, t0, m); err != nil {
			t.Errorf("%s sends both in headers, yet: %v", name, err)
		}
	}
	if _, err := SignMeta(testConfigs["standard"], nil, t0, Meta{ID: "msg_42"}); err != nil {
		t.Errorf("standard signs its webhook-id header, yet: %v", err)
	}
}
