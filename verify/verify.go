// Package verify authenticates incoming webhooks. Each provider is one small
// file that registers itself, or, for senders whose scheme is an HMAC of the
// body in one header, a row of the preset table (presets.go); the rules
// loader builds a Provider from the options of a source's verify block.
package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"hookd/internal/suggest"
)

// Request is what a provider sees of an incoming webhook.
type Request struct {
	Method string // "" is taken as POST
	Header http.Header
	Query  url.Values
	Body   []byte
	// JSON is the body parsed as JSON (or a form), set after Verify succeeded
	// so that DeliveryID and Event can read fields without parsing again.
	JSON any
	Now  time.Time
	// Source is the source's name; it seeds the fallback delivery id.
	Source string
	// Scheme ("http" or "https"), Host and URI (the request target as
	// sent: path and raw query) say which URL was called, for providers
	// that sign it (URLReader). The caller sets them for those only;
	// Scheme is the listener's unless a trusted proxy says otherwise.
	Scheme, Host, URI string
	// DryRun marks a request that is evaluated without being verified
	// (hookd test, the dashboard's Try): a provider that answers a signed
	// handshake with a value under the secret that signed it (Zoom)
	// answers an unsigned one under the first secret. serve never sets it.
	DryRun bool
}

// Provider authenticates requests of one scheme and knows the scheme's
// default delivery id and event type.
type Provider interface {
	// Verify returns nil when the request is authentic. The error is for the
	// log only; clients get a fixed message that helps no forger.
	Verify(r *Request) error
	// DeliveryID returns the provider's delivery id, or "" when the request
	// carries none (the caller then hashes source and body).
	DeliveryID(r *Request) string
	// Event returns the provider's event type, or "".
	Event(r *Request) string
}

// Signer is implemented by providers that `hookd sign` can produce headers
// for: what the provider would send for body at now.
type Signer interface {
	Sign(body []byte, now time.Time, m Meta) (http.Header, error)
}

// Meta is the event type and delivery id a signed request carries, for
// providers that send them as headers; empty fields get example values
// (a push, a random id).
type Meta struct{ Event, ID string }

func (m Meta) event(example string) string {
	if m.Event != "" {
		return m.Event
	}
	return example
}

func (m Meta) id(random func() string) string {
	if m.ID != "" {
		return m.ID
	}
	return random()
}

// Answer is an HTTP answer a provider gives in place of hookd's status
// JSON: to a handshake, or to every recorded event of a sender that expects
// a fixed one.
type Answer struct {
	Status      int    // 0 is 200
	ContentType string // "" when Body is empty
	Body        []byte
}

// Challenger is implemented by providers whose sender signs its handshake
// (Slack's url_verification, Twitch's webhook_callback_verification, Zoom's
// endpoint.url_validation, Discord's PING): Challenge runs on a verified
// request, after its body is parsed. ok reports whether the request was such
// a handshake; it is then answered with a and never recorded.
type Challenger interface {
	Challenge(r *Request) (a *Answer, ok bool)
}

// Greeter is implemented by providers whose sender does not sign its
// handshake (Meta's GET with hub.verify_token, Graph's validationToken).
// Greet runs before Verify: ok reports whether r is such a handshake; err
// refuses one: wrapping ErrUnauthorized when it fails its own check (a
// wrong verify token), ErrBadRequest when what it asks to echo cannot be
// (empty, too long, control characters). A request that is not a
// handshake goes on to Verify.
type Greeter interface {
	Greet(r *Request) (a *Answer, ok bool, err error)
}

// Acknowledger is implemented by providers whose sender expects a fixed
// answer to every delivered event (Discord's Webhook Events: 204, no body).
// Acknowledge returns it for a verified, recorded request (accepted,
// ignored or duplicate), or nil for hookd's status JSON.
type Acknowledger interface {
	Acknowledge(r *Request) *Answer
}

// BodyReader is implemented by providers whose DeliveryID, Event or
// Challenge read Request.JSON: the caller parses the body for them. For the
// others, a body no rule reads is never parsed.
type BodyReader interface {
	ReadsBody()
}

// ReadsBody reports whether p reads Request.JSON.
func ReadsBody(p Provider) bool {
	_, ok := p.(BodyReader)
	return ok
}

// Unwrapper is implemented by providers whose senders may wrap the signed
// payload in a form field or query parameter (Gitea, Forgejo and Gogs).
// Payload returns the payload of a verified request, and whether it was
// wrapped; intake then records and parses that payload as the body.
type Unwrapper interface {
	Payload(r *Request) ([]byte, bool)
}

// WrapsPayload reports whether p's senders may wrap the signed payload.
func WrapsPayload(p Provider) bool {
	_, ok := p.(Unwrapper)
	return ok
}

// URLReader is implemented by providers whose senders sign the URL they
// called (Twilio, Square, HubSpot): the caller fills Request.Scheme, Host
// and URI for them.
type URLReader interface {
	ReadsURL()
}

// ReadsURL reports whether p needs the URL the request was sent to.
func ReadsURL(p Provider) bool {
	_, ok := p.(URLReader)
	return ok
}

// BodySigner is implemented by providers whose senders put signed values
// in the body (Mailgun's signature, Linear's webhookTimestamp): SignBody
// returns the body to send with the headers.
type BodySigner interface {
	SignBody(body []byte, now time.Time, m Meta) ([]byte, http.Header, error)
}

// Sensitive is implemented by providers that receive a secret in clear
// (a token header, a query parameter, basic auth): those values are redacted
// before a request is logged or stored.
type Sensitive interface {
	SensitiveHeaders() []string
	SensitiveQuery() []string
}

// BodyRedactor is implemented by providers whose sender puts the secret
// or another credential in the body (Graph's clientState, Slack's
// verification token): RedactBody returns the verified
// body with it replaced, which is what is recorded and what rules see.
type BodyRedactor interface {
	RedactBody(body []byte) []byte
}

// Spec describes one provider.
type Spec struct {
	// Options lists the keys this provider accepts besides `provider`.
	Options []string
	New     func(c Config) (Provider, error)
	// HashIDs is set for senders that carry no delivery id: hookd's id is
	// then a hash of the source and body (BodyHash).
	HashIDs bool
	// Lint checks what a source needs beyond what New needs to build the
	// provider (hookd sign builds one from its flags alone): err refuses
	// the source, warnings are printed by check and logged by serve.
	Lint func(c Config) (warnings []*FieldError, err error)
	// Covers names senders this provider serves under another name
	// (gitea: forgejo, gogs), for the hint of an unknown provider.
	Covers []string
}

var registry = map[string]Spec{}

// register is called from each provider's init.
func register(name string, s Spec) {
	if _, dup := registry[name]; dup {
		panic("verify: provider registered twice: " + name)
	}
	registry[name] = s
}

// Lookup returns the spec of a provider by name.
func Lookup(name string) (Spec, bool) {
	s, ok := registry[name]
	return s, ok
}

// Names lists the known providers, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// HashesIDs reports whether the named provider's delivery ids are body
// hashes because its senders carry none.
func HashesIDs(name string) bool { return registry[name].HashIDs }

// UnknownProvider is the message for a provider name hookd does not
// know: the provider that covers that sender, or the name it is a slip
// for, and the names known.
func UnknownProvider(name string) string {
	known := strings.Join(Names(), ", ")
	lower := strings.ToLower(name)
	for _, n := range Names() {
		if slices.Contains(registry[n].Covers, lower) {
			return fmt.Sprintf("unknown provider %q: use provider %s, which covers %s (known: %s)", name, n, lower, known)
		}
	}
	if n := suggest.Closest(name, Names()); n != "" {
		return fmt.Sprintf("unknown provider %q: did you mean %s? (known: %s)", name, n, known)
	}
	return fmt.Sprintf("unknown provider %q (known: %s)", name, known)
}

// New builds the provider named by c.Provider.
func New(c Config) (Provider, error) {
	s, ok := registry[c.Provider]
	if !ok {
		return nil, &FieldError{Field: "provider", Msg: UnknownProvider(c.Provider)}
	}
	return s.New(c)
}

// Lint checks a source's verify block beyond what New checks (see
// Spec.Lint); New must have accepted c.
func Lint(c Config) (warnings []*FieldError, err error) {
	if s, ok := registry[c.Provider]; ok && s.Lint != nil {
		return s.Lint(c)
	}
	return nil, nil
}

// ErrUnauthorized is the error every failed verification wraps.
var ErrUnauthorized = errors.New("unauthorized")

// ErrBadRequest is the error of a handshake that is malformed rather than
// unauthenticated: hookd answers it 400, not 401.
var ErrBadRequest = errors.New("bad request")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthorized, fmt.Sprintf(format, args...))
}

// BodyHash is the fallback delivery id: SHA-256 of the source name and body.
func BodyHash(source string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// field reads a string field of a JSON object body, or "".
func field(v any, path ...string) string {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// Sign builds the provider c describes and returns the headers it would send
// with body at now: what `hookd sign` prints.
func Sign(c Config, body []byte, now time.Time) (http.Header, error) {
	return SignMeta(c, body, now, Meta{})
}

// SignRequest is SignMeta for providers that may change the body too
// (BodySigner): it returns the body to send, which is body itself for the
// others.
func SignRequest(c Config, body []byte, now time.Time, m Meta) ([]byte, http.Header, error) {
	p, err := New(c)
	if err != nil {
		return nil, nil, err
	}
	bs, ok := p.(BodySigner)
	if !ok {
		h, err := SignMeta(c, body, now, m)
		return body, h, err
	}
	out, h, err := bs.SignBody(body, now, m)
	if err != nil {
		return nil, nil, err
	}
	return out, h, checkMeta(c, p, h, out, now, m)
}

// SignMeta is Sign with the event type and delivery id set. A provider
// that does not take them from headers (Stripe reads the body, hmac has
// none) refuses them, naming the field (event, id).
func SignMeta(c Config, body []byte, now time.Time, m Meta) (http.Header, error) {
	p, err := New(c)
	if err != nil {
		return nil, err
	}
	s, ok := p.(Signer)
	if !ok {
		return nil, fmt.Errorf("provider %s cannot sign requests", c.Provider)
	}
	h, err := s.Sign(body, now, m)
	if err != nil {
		return nil, err
	}
	return h, checkMeta(c, p, h, body, now, m)
}

// checkMeta refuses an event type or delivery id the signed request does
// not carry in a header.
func checkMeta(c Config, p Provider, h http.Header, body []byte, now time.Time, m Meta) error {
	r := &Request{Header: h, Body: body, Now: now}
	if m.Event != "" && p.Event(r) != m.Event {
		return &FieldError{Field: "event", Msg: "provider " + c.Provider + " does not send the event type in a header"}
	}
	if m.ID != "" && p.DeliveryID(r) != m.ID {
		return &FieldError{Field: "id", Msg: "provider " + c.Provider + " does not send the delivery id in a header"}
	}
	return nil
}
