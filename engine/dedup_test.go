package engine

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"hookd/verify"
)

const dedupRules = `
sources:
  shopify: {verify: {provider: shopify, secret: shop-secret}}
  hubspot: {verify: {provider: hubspot, secret: hs-secret}}
rules:
  - {name: all, sources: [shopify, hubspot], actions: [{shell: {command: ["true"]}}]}
`

// Shopify's retries and its webhooks of several subscriptions share
// X-Shopify-Event-Id: duplicates; the same event under another topic is
// not (shopify.dev, "Ignore duplicate webhooks").
func TestShopifyDuplicatesByEventID(t *testing.T) {
	te := startEngine(t, "", dedupRules, nil)
	body := []byte(`{"id":820982911946154508,"email":"jon@example.com"}`)
	send := func(webhookID, eventID, topic string) string {
		h, err := verify.Sign(verify.Config{Provider: "shopify", Secrets: []string{"shop-secret"}}, body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h.Set("X-Shopify-Webhook-Id", webhookID)
		h.Set("X-Shopify-Event-Id", eventID)
		h.Set("X-Shopify-Topic", topic)
		h.Set("X-Shopify-Triggered-At", "2026-12-01T04:00:00.000000Z")
		a := te.send("POST", "/hooks/shopify", h, body)
		if a.code != 200 {
			t.Fatalf("answer %d %q", a.code, a.raw)
		}
		return fmt.Sprint(a.body["status"])
	}
	for i, tc := range []struct{ webhook, event, topic, want string }{
		{"b54557e4-0001", "98880550-7158-44d4-b7cd-2c97c8a091b5", "orders/create", "accepted"},
		{"b54557e4-0001", "98880550-7158-44d4-b7cd-2c97c8a091b5", "orders/create", "duplicate"}, // a retry
		{"b54557e4-0002", "98880550-7158-44d4-b7cd-2c97c8a091b5", "orders/create", "duplicate"}, // another subscription
		{"b54557e4-0003", "98880550-7158-44d4-b7cd-2c97c8a091b5", "orders/paid", "accepted"},    // the same event, another topic
		{"b54557e4-0004", "0d6a3b2c-1111-4a4a-9e9e-000000000001", "orders/create", "accepted"},
	} {
		if got := send(tc.webhook, tc.event, tc.topic); got != tc.want {
			t.Fatalf("delivery %d (%s %s): %s, want %s", i+1, tc.event, tc.topic, got, tc.want)
		}
	}
	te.waitJobs(3)
}

// HubSpot resends a batch with every attemptNumber raised: the retries
// are duplicates, a batch with another event is not.
func TestHubSpotRetriesAreDuplicates(t *testing.T) {
	te := startEngine(t, "", dedupRules, nil)
	c := verify.Config{Provider: "hubspot", Secrets: []string{"hs-secret"}, URL: te.url + "/hooks/hubspot"}
	batch := func(attempt int, eventID int64) []byte {
		return []byte(fmt.Sprintf(`[{"eventId":%d,"subscriptionId":2881778,"portalId":62515,"appId":1160452,`+
			`"occurredAt":1711234567890,"subscriptionType":"contact.propertyChange","attemptNumber":%d,"objectId":123,`+
			`"changeSource":"CRM","propertyName":"lifecyclestage","propertyValue":"lead"},`+
			`{"eventId":1701,"subscriptionId":2881779,"portalId":62515,"appId":1160452,"occurredAt":1711234567891,`+
			`"subscriptionType":"contact.creation","attemptNumber":%d,"objectId":124,"changeSource":"CRM"}]`, eventID, attempt, attempt))
	}
	for i, tc := range []struct {
		attempt int
		event   int64
		want    string
	}{{0, 1700, "accepted"}, {1, 1700, "duplicate"}, {2, 1700, "duplicate"}, {0, 1702, "accepted"}} {
		body := batch(tc.attempt, tc.event)
		h, err := verify.Sign(c, body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		a := te.send(http.MethodPost, "/hooks/hubspot", h, body)
		if a.code != 200 || a.body["status"] != tc.want {
			t.Fatalf("batch %d (attempt %d): %d %q, want %s", i+1, tc.attempt, a.code, a.raw, tc.want)
		}
	}
	te.waitJobs(2)
}
