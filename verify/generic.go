package verify

import (
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// genericHMAC covers senders not listed by name: an HMAC of the raw body (or
// of a template of timestamp and body) in a header of the user's choosing.
// The options mirror how such senders document themselves: the header, the
// hash, the encoding, a prefix like "sha256=", and optionally a timestamp
// header with the template of the signed content. Timestamps are unix
// seconds. This is the usual scheme; see for example
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
// (prefix "sha256=", hex) or https://docs.stripe.com/webhooks#verify-manually
// (template "{timestamp}.{body}"). With a `separator`, the header is a list
// of signatures of which one must match, as PagerDuty sends while it
// rotates its secret ("v1=<hex>,v1=<hex>"; entries with another prefix are
// skipped): https://developer.pagerduty.com/docs/webhooks/v3-overview/ and
// PagerDuty/developer-docs docs/webhooks/04-Signatures.md.
type genericHMAC struct {
	keys     [][]byte
	header   string
	hash     func() hash.Hash
	base64   bool
	prefix   string
	sep      string
	tsHeader string
	template []segment
	tol      time.Duration
}

// segment is a piece of the signing template: literal text, or the
// timestamp or body.
type segment struct {
	lit  string
	kind byte // 0 literal, 't' timestamp, 'b' body
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

func init() {
	register("hmac", Spec{
		HashIDs: true,
		Options: []string{"secret", "secrets", "header", "algorithm", "encoding", "prefix", "separator", "timestamp_header", "template", "tolerance"},
		New:     newGenericHMAC,
	})
}

func newGenericHMAC(c Config) (Provider, error) {
	keys, err := requireSecrets(c)
	if err != nil {
		return nil, err
	}
	g := &genericHMAC{keys: keys, header: c.Header, prefix: c.Prefix, sep: c.Separator, tsHeader: c.TimestampHeader}
	if g.header == "" {
		return nil, &FieldError{Field: "header", Msg: "provider hmac needs the header that carries the signature"}
	}
	alg := c.Algorithm
	if alg == "" {
		alg = "sha256"
	}
	if g.hash = hashes[alg]; g.hash == nil {
		names := make([]string, 0, len(hashes))
		for n := range hashes {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, &FieldError{Field: "algorithm", Msg: "unknown algorithm " + strconv.Quote(c.Algorithm) + " (known: " + strings.Join(names, ", ") + ")"}
	}
	switch c.Encoding {
	case "", "hex":
	case "base64":
		g.base64 = true
	default:
		return nil, &FieldError{Field: "encoding", Msg: "unknown encoding " + strconv.Quote(c.Encoding) + " (known: hex, base64)"}
	}
	if err := checkSeparator(g.sep, g.prefix, g.base64); err != nil {
		return nil, err
	}
	tmpl := c.Template
	if tmpl == "" {
		tmpl = "{body}"
		if g.tsHeader != "" {
			tmpl = "{timestamp}.{body}"
		}
	}
	if g.template, err = parseTemplate(tmpl); err != nil {
		return nil, err
	}
	hasTS := strings.Contains(tmpl, "{timestamp}")
	switch {
	case hasTS && g.tsHeader == "":
		return nil, &FieldError{Field: "template", Msg: "uses {timestamp} but no timestamp_header is set"}
	case !hasTS && g.tsHeader != "":
		// A timestamp outside the signature can be changed at will, so
		// checking it would only look like replay protection.
		return nil, &FieldError{Field: "template", Msg: "must include {timestamp} when timestamp_header is set"}
	case c.Tolerance != 0 && g.tsHeader == "":
		return nil, &FieldError{Field: "tolerance", Msg: "needs a timestamp_header"}
	}
	if g.tol, err = toleranceOf(c); err != nil {
		return nil, err
	}
	return g, nil
}

func parseTemplate(t string) ([]segment, error) {
	var segs []segment
	body := false
	rest := t
	for {
		loc := placeholder.FindStringIndex(rest)
		if loc == nil {
			break
		}
		if loc[0] > 0 {
			segs = append(segs, segment{lit: rest[:loc[0]]})
		}
		switch name := rest[loc[0]:loc[1]]; name {
		case "{timestamp}":
			segs = append(segs, segment{kind: 't'})
		case "{body}":
			segs = append(segs, segment{kind: 'b'})
			body = true
		default:
			return nil, &FieldError{Field: "template", Msg: "unknown placeholder " + name + " (known: {timestamp}, {body})"}
		}
		rest = rest[loc[1]:]
	}
	if rest != "" {
		segs = append(segs, segment{lit: rest})
	}
	if !body {
		return nil, &FieldError{Field: "template", Msg: "must include {body}, or the body would not be signed"}
	}
	return segs, nil
}

// content returns the parts of the signed content, without copying body.
func (g *genericHMAC) content(ts string, body []byte) [][]byte {
	parts := make([][]byte, 0, len(g.template))
	for _, s := range g.template {
		switch s.kind {
		case 't':
			parts = append(parts, []byte(ts))
		case 'b':
			parts = append(parts, body)
		default:
			parts = append(parts, []byte(s.lit))
		}
	}
	return parts
}

func (g *genericHMAC) Verify(r *Request) error {
	v, err := signatureHeader(r, g.header)
	if err != nil {
		return err
	}
	var sigs [][]byte
	if g.sep != "" {
		if sigs, err = signatureList(g.header, v, g.sep, g.decode); err != nil {
			return err
		}
	} else {
		enc, err := cutSignature(g.header, v, g.prefix)
		if err != nil {
			return err
		}
		sig := g.decode(enc)
		if sig == nil {
			return fail("%s is not a well-formed digest", g.header)
		}
		sigs = [][]byte{sig}
	}
	var ts string
	if g.tsHeader != "" {
		ts = r.Header.Get(g.tsHeader)
		if err := checkTimestamp(g.tsHeader, ts, clock(r), g.tol); err != nil {
			return err
		}
	}
	if !matchAny(g.hash, g.keys, sigs, g.content(ts, r.Body)...) {
		return fail("signature does not match")
	}
	return nil
}

// decode decodes one signature with its prefix, or returns nil; in a list
// (prefix is in the entry) an entry without the prefix is another scheme's.
func (g *genericHMAC) decode(entry string) []byte {
	if g.sep != "" {
		var ok bool
		if entry, ok = strings.CutPrefix(entry, g.prefix); !ok {
			return nil
		}
	}
	if g.base64 {
		return decodeBase64Digest(g.hash, entry)
	}
	return decodeHexDigest(g.hash, entry)
}

// checkSeparator refuses a separator that can occur inside an entry: in
// the digest's alphabet or the prefix, it would cut signatures apart.
func checkSeparator(sep, prefix string, b64 bool) error {
	alphabet := "0123456789abcdefABCDEF"
	if b64 {
		alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	}
	switch {
	case sep == "":
		return nil
	case strings.ContainsAny(sep, alphabet):
		return &FieldError{Field: "separator", Msg: "must not contain characters of the signature's encoding"}
	case prefix != "" && strings.Contains(prefix, sep):
		return &FieldError{Field: "separator", Msg: "must not occur in the prefix"}
	}
	return nil
}

func (g *genericHMAC) DeliveryID(*Request) string { return "" }
func (g *genericHMAC) Event(*Request) string      { return "" }

func (g *genericHMAC) Sign(body []byte, now time.Time, m Meta) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := mac(g.hash, g.keys[0], g.content(ts, body)...)
	enc := hex.EncodeToString(sig)
	if g.base64 {
		enc = base64.StdEncoding.EncodeToString(sig)
	}
	h := http.Header{}
	h.Set(g.header, g.prefix+enc)
	if g.tsHeader != "" {
		h.Set(g.tsHeader, ts)
	}
	h.Set("Content-Type", "application/json")
	return h, nil
}
