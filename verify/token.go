package verify

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// token accepts a request that carries a shared secret verbatim, in a header
// or a query parameter: the scheme of senders that cannot sign (GitLab's
// X-Gitlab-Token, many monitoring and CI tools). There is no default name:
// the sender's documentation says where the token goes, and a guessed
// default would only fail later and more quietly. Nothing is signed, so use
// it over TLS only.
//
// With header Authorization the value is credentials (RFC 9110 §11.4): a
// scheme, then the token. A secret that is the token alone matches it
// alone or after any scheme (Bearer, token), which senders add as they
// please; a secret written with its scheme ("Bearer X") matches that
// scheme in any case, as schemes are case-insensitive (§11.1).
type token struct {
	keys    [][]byte
	schemed [][]byte // Authorization: each "<scheme> <token>" secret as "<scheme lower-cased> <token>"
	header  string
	query   string
	auth    bool // header is Authorization
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
			t := &token{keys: keys, header: c.Header, query: c.Query, auth: http.CanonicalHeaderKey(c.Header) == "Authorization"}
			for _, k := range keys {
				if scheme, cred, ok := splitCredentials(string(k)); ok && t.auth {
					t.schemed = append(t.schemed, []byte(strings.ToLower(scheme)+" "+cred))
				}
			}
			return t, nil
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
	if t.auth {
		if !t.sameCredentials(v) {
			return fail("Authorization does not carry the token (alone, or after a scheme such as Bearer)")
		}
		return nil
	}
	if !sameSecret(t.keys, []byte(v)) {
		return fail("token does not match")
	}
	return nil
}

// sameCredentials reports whether an Authorization value carries the
// token: as a whole, after any scheme, or as a "<scheme> <token>" secret
// with the scheme in any case. Every comparison is made, each in constant
// time, whichever matches.
func (t *token) sameCredentials(v string) bool {
	whole := sameSecret(t.keys, []byte(v))
	scheme, cred, ok := splitCredentials(v)
	if !ok {
		return whole
	}
	after := sameSecret(t.keys, []byte(cred))
	schemed := sameSecret(t.schemed, []byte(strings.ToLower(scheme)+" "+cred))
	return whole || after || schemed
}

// splitCredentials splits "<scheme> <credentials>" (RFC 9110 §11.4): the
// scheme a token, then one or more spaces, then something.
func splitCredentials(v string) (scheme, cred string, ok bool) {
	scheme, cred, ok = strings.Cut(v, " ")
	cred = strings.TrimLeft(cred, " ")
	if !ok || scheme == "" || cred == "" {
		return "", "", false
	}
	for i := 0; i < len(scheme); i++ {
		if !isTokenChar(scheme[i]) {
			return "", "", false
		}
	}
	return scheme, cred, true
}

// isTokenChar reports whether c may be in an RFC 9110 token (§5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
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
