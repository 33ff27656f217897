package verify

import (
	"errors"
	"net/http"
	"time"
)

// token accepts a request that carries a shared secret verbatim, in a header
// or a query parameter: the scheme of senders that cannot sign (GitLab's
// X-Gitlab-Token, many monitoring and CI tools). There is no default name:
// the sender's documentation says where the token goes, and a guessed
// default would only fail later and more quietly. Nothing is signed, so use
// it over TLS only.
type token struct {
	keys   [][]byte
	header string
	query  string
}

func init() {
	register("token", Spec{
		HashIDs: true,
		Options: []string{"secret", "secrets", "header", "query"},
		New: func(c Config) (Provider, error) {
			keys, err := requireSecrets(c)
			if err != nil {
				return nil, err
			}
			switch {
			case c.Header != "" && c.Query != "":
				return nil, &FieldError{Field: "query", Msg: "set header or query, not both"}
			case c.Header == "" && c.Query == "":
				return nil, &FieldError{Field: "header", Msg: "provider token needs the header (or query parameter) that carries the token"}
			}
			return &token{keys: keys, header: c.Header, query: c.Query}, nil
		},
	})
}

func (t *token) Verify(r *Request) error {
	var v string
	if t.header != "" {
		v = r.Header.Get(t.header)
		if v == "" {
			return fail("missing %s", t.header)
		}
	} else {
		v = r.Query.Get(t.query)
		if v == "" {
			return fail("missing query parameter %s", t.query)
		}
	}
	if !sameSecret(t.keys, []byte(v)) {
		return fail("token does not match")
	}
	return nil
}

func (t *token) DeliveryID(*Request) string { return "" }
func (t *token) Event(*Request) string      { return "" }

func (t *token) SensitiveHeaders() []string {
	if t.header == "" {
		return nil
	}
	return []string{t.header}
}

func (t *token) SensitiveQuery() []string {
	if t.query == "" {
		return nil
	}
	return []string{t.query}
}

func (t *token) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	if t.header == "" {
		return nil, errors.New("the token goes in the URL's query parameter " + t.query + ", not in a header: add ?" + t.query + "=<secret> to the URL")
	}
	h := http.Header{}
	h.Set(t.header, string(t.keys[0]))
	h.Set("Content-Type", "application/json")
	return h, nil
}
