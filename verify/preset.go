package verify

import (
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// preset describes a sender whose scheme is an HMAC of the body (maybe
// after a timestamp) in one header: hex or base64, alone, behind a
// "key=" prefix, or in a list of key=value entries. Each is registered
// under its name; presets.go lists them with the document each follows.
type preset struct {
	name   string
	doc    string // the sender's documentation of the scheme
	header string // the header that carries the signature
	hash   func() hash.Hash
	base64 bool
	// sigKey is the key of the signature in "key=<sig>" ("sha256", "v1",
	// "h1"); "" when the header value is the bare signature. With sep,
	// the value is a list of key=value entries (at most maxSignatures), of
	// which every sigKey entry is a candidate and one must match.
	sigKey string
	sep    string
	// tsKey is the list entry that holds the unix time in seconds, signed
	// as signed says; tsBody is the JSON body field that holds it in
	// milliseconds (the body itself is signed).
	tsKey  string
	tsBody string
	// signed joins the timestamp and body: ts + signed + body. Unused
	// without a timestamp.
	signed string
	// tolerance is the default when the sender documents one.
	tolerance time.Duration
	// id and event say where the delivery id and event type are.
	id, event    loc
	exampleEvent string
	// token is a header in which the sender may send the secret itself
	// instead of a signature (Buildkite's X-Buildkite-Token).
	token string
	// headCheck is set for a sender that checks the URL with an unsigned
	// HEAD before it saves the webhook (Intercom); its id and event are
	// in the body.
	headCheck bool
}

// loc is where a value is: a header, or a path into the JSON body.
type loc struct {
	header string
	body   []string
}

func inHeader(name string) loc  { return loc{header: name} }
func inBody(path ...string) loc { return loc{body: path} }

func (l loc) get(r *Request) string {
	if l.header != "" {
		return r.Header.Get(l.header)
	}
	if l.body == nil {
		return ""
	}
	return field(r.JSON, l.body...)
}

func init() {
	for _, p := range presets {
		opts := []string{"secret", "secrets"}
		if p.timestamped() {
			opts = append(opts, "tolerance")
		}
		register(p.name, Spec{Options: opts, New: p.build, HashIDs: p.id.header == "" && p.id.body == nil})
	}
}

func (p *preset) timestamped() bool { return p.tsKey != "" || p.tsBody != "" }

func (p *preset) build(c Config) (Provider, error) {
	keys, err := requireSecrets(c)
	if err != nil {
		return nil, err
	}
	tol := p.tolerance
	switch {
	case c.Tolerance < 0:
		return nil, &FieldError{Field: "tolerance", Msg: "must not be negative"}
	case c.Tolerance > 0:
		tol = c.Tolerance
	case tol == 0:
		tol = DefaultTolerance
	}
	h := &presetHMAC{p: p, keys: keys, tol: tol}
	switch {
	case p.token != "": // Buildkite: its id and event are headers
		return &tokenPreset{h}, nil
	case p.tsBody != "":
		return &stampedPreset{bodyPreset{h}}, nil
	case p.headCheck:
		return &headPreset{bodyPreset{h}}, nil
	case p.id.body != nil || p.event.body != nil:
		return &bodyPreset{h}, nil
	}
	return h, nil
}

// presetHMAC is a provider built from a preset.
type presetHMAC struct {
	p    *preset
	keys [][]byte
	tol  time.Duration
}

// bodyPreset is a preset whose id, event or timestamp is in the body.
type bodyPreset struct{ *presetHMAC }

// ReadsBody: the delivery id or event type come from the body.
func (*bodyPreset) ReadsBody() {}

// stampedPreset is a preset whose timestamp is in the body: hookd sign
// sets it (BodySigner).
type stampedPreset struct{ bodyPreset }

// headPreset is a preset whose sender checks the URL with a HEAD request
// before it saves the webhook (Intercom).
type headPreset struct{ bodyPreset }

func (*headPreset) AcceptsHEAD() {}

// Greet answers the sender's HEAD: 200, no body. The HEAD is not signed
// and carries nothing to check; the answer tells no more than a 405 to
// any other method would, that the URL is there.
func (*headPreset) Greet(r *Request) (*Answer, bool, error) {
	if r.Method != http.MethodHead {
		return nil, false, nil
	}
	return &Answer{}, true, nil
}

// tokenPreset is a preset whose sender may send the secret in clear.
type tokenPreset struct{ *presetHMAC }

func (t *tokenPreset) SensitiveHeaders() []string { return []string{t.p.token} }
func (t *tokenPreset) SensitiveQuery() []string   { return nil }

func (h *presetHMAC) Verify(r *Request) error {
	p := h.p
	v := r.Header.Get(p.header)
	if v == "" && p.token != "" {
		if tok := r.Header.Get(p.token); tok != "" {
			if !sameSecret(h.keys, []byte(tok)) {
				return fail("%s does not match", p.token)
			}
			return nil
		}
	}
	if v == "" {
		_, err := signatureHeader(r, p.header)
		return err
	}
	sigs, ts, err := h.parse(v)
	if err != nil {
		return err
	}
	parts := [][]byte{r.Body}
	if p.tsKey != "" {
		if err := checkTimestamp(p.header+" "+p.tsKey, ts, clock(r), h.tol); err != nil {
			return err
		}
		parts = [][]byte{[]byte(ts + p.signed), r.Body}
	}
	if !matchAny(p.hash, h.keys, sigs, parts...) {
		return fail("signature does not match")
	}
	if p.tsBody != "" {
		// Read only once the body is known to be the sender's: parsing
		// costs more than a MAC.
		return checkBodyMillis(p.tsBody, r.Body, clock(r), h.tol)
	}
	return nil
}

// parse reads the signatures and the timestamp from the header value.
func (h *presetHMAC) parse(v string) (sigs [][]byte, ts string, err error) {
	p := h.p
	switch {
	case p.sigKey == "":
		if sig := h.decode(v); sig != nil {
			return [][]byte{sig}, "", nil
		}
		return nil, "", fail("%s is not a well-formed digest", p.header)
	case p.sep == "":
		enc, err := cutSignature(p.header, v, p.sigKey+"=")
		if err != nil {
			return nil, "", err
		}
		if sig := h.decode(enc); sig != nil {
			return [][]byte{sig}, "", nil
		}
		return nil, "", fail("%s is not a well-formed digest", p.header)
	}
	tsSeen := false
	sigs, err = signatureList(p.header, v, p.sep, func(item string) []byte {
		k, val, _ := strings.Cut(item, "=")
		switch k {
		case p.tsKey:
			if tsSeen {
				ts = "" // two timestamps: refused below
			} else {
				ts = val
			}
			tsSeen = true
		case p.sigKey:
			return h.decode(val)
		}
		return nil
	})
	if err == nil && p.tsKey != "" && ts == "" {
		err = fail("%s needs exactly one %s=", p.header, p.tsKey)
	}
	return sigs, ts, err
}

func (h *presetHMAC) decode(s string) []byte {
	if h.p.base64 {
		return decodeBase64Digest(h.p.hash, s)
	}
	return decodeHexDigest(h.p.hash, s)
}

func (h *presetHMAC) DeliveryID(r *Request) string { return h.p.id.get(r) }
func (h *presetHMAC) Event(r *Request) string      { return h.p.event.get(r) }

// Sign sets the signature header, and the id and event headers for
// senders that send them. A timestamp in the body is the body's: Sign
// signs the body as it is (see SignBody for Linear).
func (h *presetHMAC) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	p := h.p
	ts := strconv.FormatInt(now.Unix(), 10)
	parts := [][]byte{body}
	if p.tsKey != "" {
		parts = [][]byte{[]byte(ts + p.signed), body}
	}
	sig := mac(p.hash, h.keys[0], parts...)
	enc := hex.EncodeToString(sig)
	if p.base64 {
		enc = base64.StdEncoding.EncodeToString(sig)
	}
	v := enc
	if p.sigKey != "" {
		v = p.sigKey + "=" + enc
	}
	if p.tsKey != "" {
		v = p.tsKey + "=" + ts + p.sep + v
	}
	hd := http.Header{}
	hd.Set(p.header, v)
	if p.id.header != "" {
		hd.Set(p.id.header, m.id(newUUID))
	}
	if p.event.header != "" {
		hd.Set(p.event.header, m.event(p.exampleEvent))
	}
	hd.Set("Content-Type", "application/json")
	return hd, nil
}

// SignBody signs like Sign; a sender that puts its timestamp in the body
// (Linear's webhookTimestamp) gets it set to now, which needs a JSON
// object body.
func (b *stampedPreset) SignBody(body []byte, now time.Time, m Meta) ([]byte, http.Header, error) {
	body, err := setJSONField(body, b.p.tsBody, now.UnixMilli(), "the body must be a JSON object, to carry "+b.p.tsBody)
	if err != nil {
		return nil, nil, err
	}
	h, err := b.Sign(body, now, m)
	return body, h, err
}
