package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// basic is HTTP Basic authentication (RFC 7617), for senders that put
// credentials in the URL (https://user:pass@host/...) or an Authorization
// header. Both parts are compared in constant time, and both always, so
// the time taken does not tell which one was wrong.
// https://www.rfc-editor.org/rfc/rfc7617
type basic struct {
	user, pass [sha256.Size]byte
	username   string
	password   string
}

func init() {
	register("basic", Spec{
		HashIDs: true,
		Options: []string{"username", "password"},
		New: func(c Config) (Provider, error) {
			switch {
			case c.Username == "":
				return nil, &FieldError{Field: "username", Msg: "provider basic needs a username"}
			case strings.Contains(c.Username, ":"):
				return nil, &FieldError{Field: "username", Msg: "must not contain ':' (RFC 7617)"}
			case c.Password == "":
				return nil, &FieldError{Field: "password", Msg: "provider basic needs a password (is its environment variable set to a value?)"}
			}
			return &basic{
				user: sha256.Sum256([]byte(c.Username)), pass: sha256.Sum256([]byte(c.Password)),
				username: c.Username, password: c.Password,
			}, nil
		},
	})
}

func (b *basic) Verify(r *Request) error {
	v := r.Header.Get("Authorization")
	if v == "" {
		return fail("missing Authorization")
	}
	scheme, cred, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return fail("Authorization is not Basic")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return fail("Authorization is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return fail("Authorization lacks user:password")
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	if subtle.ConstantTimeCompare(u[:], b.user[:])&subtle.ConstantTimeCompare(p[:], b.pass[:]) != 1 {
		return fail("username or password does not match")
	}
	return nil
}

// WWWAuthenticate is Basic's challenge (RFC 7617 §2): the realm names the
// source, a protection space of its own, and charset says credentials are
// read as UTF-8.
func (b *basic) WWWAuthenticate(source string) string {
	return `Basic realm=` + quoteParam("hookd source "+source) + `, charset="UTF-8"`
}

// quoteParam is s as an auth-param's quoted-string (RFC 9110 §5.6.4).
func quoteParam(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func (b *basic) DeliveryID(*Request) string { return "" }
func (b *basic) Event(*Request) string      { return "" }
func (b *basic) SensitiveHeaders() []string { return []string{"Authorization"} }
func (b *basic) SensitiveQuery() []string   { return nil }

func (b *basic) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(b.username+":"+b.password)))
	h.Set("Content-Type", "application/json")
	return h, nil
}
