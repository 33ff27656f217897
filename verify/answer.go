package verify

import (
	"encoding/json"
	"net/http"
)

// bodyJSON is the request's parsed body, parsing it here when the caller
// has not (tests, the refusal log).
func bodyJSON(r *Request) any {
	if r.JSON != nil {
		return r.JSON
	}
	var v any
	if json.Unmarshal(r.Body, &v) != nil {
		return nil
	}
	return v
}

// intField reads an integer field of a JSON object, whichever way the body
// was parsed (hookd keeps whole numbers as int, encoding/json gives float64).
func intField(v any, key string) (int64, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return 0, false
	}
	switch n := m[key].(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// hasField reports whether a JSON object has the key.
func hasField(v any, key string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[key]
	return ok
}

// textAnswer answers 200 with s as text/plain, the way Twitch, Meta and
// Graph want their challenge back.
func textAnswer(s string) *Answer {
	return &Answer{ContentType: "text/plain; charset=utf-8", Body: []byte(s)}
}

// jsonAnswer answers 200 with v as JSON.
func jsonAnswer(v any) (*Answer, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return &Answer{ContentType: "application/json", Body: b}, true
}

// noContent is the 204 with an empty body that Discord's Webhook Events
// expect; Discord asks for a valid Content-Type even then.
var noContent = Answer{Status: http.StatusNoContent, ContentType: "application/json"}
