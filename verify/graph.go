package verify

import (
	"net/http"
	"time"
)

// Microsoft Graph and SharePoint change notifications are not signed: each
// item of the body's value carries the clientState the subscription was
// created with, which is the secret here (`secrets` for several
// subscriptions). Every item must carry one of them; one that does not
// refuses the whole request. Creating a subscription sends a POST with a
// validationToken (SharePoint: validationtoken) query parameter, answered
// with the URL-decoded token as text/plain within 10 s (SharePoint: 5 s).
// Rich notifications' encrypted content and validation JWTs are not
// checked.
// https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks
// https://learn.microsoft.com/en-us/sharepoint/dev/apis/webhooks/overview-sharepoint-webhooks
type graph struct {
	keys [][]byte
}

func init() {
	register("graph", Spec{
		HashIDs: true,
		Options: []string{"secret", "secrets"},
		Covers:  []string{"microsoft", "msgraph", "microsoft-graph", "outlook", "sharepoint"},
		New: func(c Config) (Provider, error) {
			keys, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			return &graph{keys: keys}, nil
		},
	})
}

// Greet answers the validation request. Graph's tokens are opaque: any
// text echoable allows is echoed as it came (text/plain, nosniff), the
// rest refused (400).
func (g *graph) Greet(r *Request) (*Answer, bool, error) {
	tok, name := r.Query.Get("validationToken"), "validationToken"
	if !r.Query.Has(name) {
		tok, name = r.Query.Get("validationtoken"), "validationtoken"
		if !r.Query.Has(name) {
			return nil, false, nil
		}
	}
	if !echoable(tok, challengeMax) {
		return nil, true, malformed("%s is empty, over %d bytes, not UTF-8, or holds a control character", name, challengeMax)
	}
	return textAnswer(tok), true, nil
}

func (g *graph) Verify(r *Request) error {
	m, _ := bodyJSON(r).(map[string]any)
	items, _ := m["value"].([]any)
	if len(items) == 0 {
		return fail("the body has no value list of notifications")
	}
	for i, it := range items {
		obj, _ := it.(map[string]any)
		cs, ok := obj["clientState"].(string)
		if !ok || cs == "" {
			return fail("notification %d has no clientState", i)
		}
		if !sameSecret(g.keys, []byte(cs)) {
			return fail("notification %d: clientState does not match", i)
		}
	}
	return nil
}

// RedactBody replaces each clientState, the secret, by "[redacted]": every
// JSON string whose value is a secret, however the sender escaped it.
func (g *graph) RedactBody(body []byte) []byte { return redactSecrets(body, g.keys) }

// DeliveryID: notifications carry no id that holds across retries; hookd
// hashes the body.
func (g *graph) DeliveryID(*Request) string { return "" }

// Event is the first notification's lifecycleEvent (reauthorizationRequired)
// or changeType (created, updated, deleted).
func (g *graph) Event(r *Request) string {
	m, _ := r.JSON.(map[string]any)
	items, _ := m["value"].([]any)
	if len(items) == 0 {
		return ""
	}
	if e := field(items[0], "lifecycleEvent"); e != "" {
		return e
	}
	return field(items[0], "changeType")
}

// Sign checks the body as Verify would: the secret travels in it, as each
// notification's clientState, so there is no header to make.
func (g *graph) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	if err := g.Verify(&Request{Body: body}); err != nil {
		return nil, &FieldError{Field: "secret", Msg: "graph sends its secret in the body, as the clientState of each item of value: " + err.Error()}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return h, nil
}

// ReadsBody: the event type comes from the body.
func (*graph) ReadsBody() {}
