package verify

import (
	"regexp"
	"strings"
)

// calledURL is the URL a sender signs (Twilio, Square, HubSpot): the
// configured `url`, whose placeholders {scheme}, {host}, {uri} (path and
// raw query as sent), {path} and {query} ("?" and the raw query, or
// nothing) are filled from the request; without `url`, scheme://host/uri
// as hookd sees the request. Behind a proxy that changes the host or the
// path, set `url` to what the sender calls.
type calledURL struct {
	tmpl    string
	literal bool      // no placeholders: usable by Sign
	parts   []urlPart // tmpl split at load, so a request only joins strings
}

// urlPart is a literal, or a placeholder ({host}) when ph is set.
type urlPart struct{ lit, ph string }

var urlPlaceholder = regexp.MustCompile(`\{[^{}]*\}`)

func newCalledURL(s string) (*calledURL, error) {
	for _, p := range urlPlaceholder.FindAllString(s, -1) {
		switch p {
		case "{scheme}", "{host}", "{uri}", "{path}", "{query}":
		default:
			return nil, &FieldError{Field: "url", Msg: "unknown placeholder " + p + " (known: {scheme}, {host}, {uri}, {path}, {query})"}
		}
	}
	if s != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "{scheme}://") {
		return nil, &FieldError{Field: "url", Msg: "must start with https:// or http:// (the URL the sender calls)"}
	}
	u := &calledURL{tmpl: s, literal: !urlPlaceholder.MatchString(s)}
	at := 0
	for _, m := range urlPlaceholder.FindAllStringIndex(s, -1) {
		u.parts = append(u.parts, urlPart{lit: s[at:m[0]]}, urlPart{ph: s[m[0]:m[1]]})
		at = m[1]
	}
	u.parts = append(u.parts, urlPart{lit: s[at:]})
	return u, nil
}

// urlKeys is what a URL-signing scheme is built from: its secrets and the
// URL the sender calls.
type urlKeys struct {
	keys [][]byte
	url  *calledURL
}

func newURLKeys(c Config) (urlKeys, error) {
	keys, err := requireSecrets(c)
	if err != nil {
		return urlKeys{}, err
	}
	u, err := newCalledURL(c.URL)
	if err != nil {
		return urlKeys{}, err
	}
	return urlKeys{keys: keys, url: u}, nil
}

// of returns the URL r was sent to.
func (u *calledURL) of(r *Request) (string, error) {
	if u.tmpl != "" && u.literal {
		return u.tmpl, nil
	}
	if r.Host == "" || r.Scheme == "" {
		return "", fail("the URL the request was sent to is unknown")
	}
	if u.tmpl == "" {
		return r.Scheme + "://" + r.Host + r.URI, nil
	}
	path, query, _ := strings.Cut(r.URI, "?")
	if query != "" {
		query = "?" + query
	}
	var b strings.Builder
	for _, p := range u.parts {
		switch p.ph {
		case "":
			b.WriteString(p.lit)
		case "{scheme}":
			b.WriteString(r.Scheme)
		case "{host}":
			b.WriteString(r.Host)
		case "{uri}":
			b.WriteString(r.URI)
		case "{path}":
			b.WriteString(path)
		default: // {query}
			b.WriteString(query)
		}
	}
	return b.String(), nil
}

// forSign returns the configured URL, which Sign needs as it is.
func (u *calledURL) forSign(provider string) (string, error) {
	if u.tmpl == "" || !u.literal {
		return "", &FieldError{Field: "url", Msg: "provider " + provider + " signs the URL the request is sent to: set it, without placeholders"}
	}
	return u.tmpl, nil
}
