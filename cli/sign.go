package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"hookd/verify"
)

const signUsage = `usage: hookd sign [flags]

Prints the headers provider P (-provider P -secret S) would send with the body, one "Name: value" a
line, so that

    hookd sign -provider github -secret S -body body.json |
        curl -H @- --data-binary @body.json URL

sends a request that hookd serve accepts. Without -body the body is empty;
-body - reads it from standard input. -event and -id set the event type and
the delivery id for providers that send them in headers (github, gitlab,
gitea, bitbucket, shopify, twitch; standard's id): the same -id twice is a
redelivery, which hookd answers as a duplicate.

Gitea, Forgejo and Gogs sign the JSON payload however they send it; with
-form the headers fit their form delivery, and curl -G sends the same as
their "HTTP method: GET" (the payload in the query):

    hookd sign -provider gitea -secret S -form -body body.json |
        curl -H @- --data-urlencode payload@body.json URL

GitLab's signing token is signed when -secret starts with whsec_.

Schemes with a public key sign with the private key: -private-key takes
discord's as 64 hex digits (the 32-byte seed), standard's v1a as whsk_ and
the base64 of the seed; the source's public_key must be its pair. A pair
for tests, with openssl:

    openssl genpkey -algorithm ed25519 -out key.pem
    openssl pkey -in key.pem -outform DER | tail -c 32 | xxd -p -c 32           # seed
    openssl pkey -in key.pem -pubout -outform DER | tail -c 32 | xxd -p -c 32   # public key

(base64 in place of xxd -p -c 32 for whsk_/whpk_). Graph sends its secret in
the body (each notification's clientState): sign checks the body and prints
its Content-Type.

Twilio, Square and HubSpot sign the URL they call: -url gives it, as in
the source's url: (without placeholders). Twilio signs a form body.
SendGrid's -private-key is its ECDSA P-256 key, PEM or base64 DER.

Mailgun puts its signature in the body, and Linear its timestamp: -o FILE
writes the body to send, which differs from -body. Mailgun's body is a JSON
object (webhooks) or a form, name=value&... (routes):

    hookd sign -provider mailgun -secret S -body event.json -o signed.json |
        curl -H @- --data-binary @signed.json URL

Options for the generic providers (hmac, token, basic) are named as in the
rules file: -header, -query, -algorithm, -encoding, -prefix,
-timestamp-header, -template, -username, -password.
`

// signFlags maps each flag that sets a verify option to its YAML key, so a
// flag the provider does not take is refused like the key would be.
var signFlags = map[string]string{
	"secret":           "secret",
	"header":           "header",
	"query":            "query",
	"algorithm":        "algorithm",
	"encoding":         "encoding",
	"prefix":           "prefix",
	"timestamp-header": "timestamp_header",
	"template":         "template",
	"username":         "username",
	"password":         "password",
	"url":              "url",
	"private-key":      "public_key", // a scheme with a public key signs with the private one
}

// signOptions holds what the sign flags set.
type signOptions struct {
	c       verify.Config
	secret  string
	body    string
	form    bool
	meta    verify.Meta
	outFile string
}

// newSignFlagSet declares sign's flags, storing into o.
func newSignFlagSet(o *signOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by cmdSign, on one line
	c := &o.c
	fs.StringVar(&c.Provider, "provider", "", "provider `name`: "+strings.Join(verify.Names(), ", "))
	fs.StringVar(&o.secret, "secret", "", "the shared `secret`")
	fs.StringVar(&o.body, "body", "", "`FILE` holding the body, or - for standard input (default: empty body)")
	fs.StringVar(&o.meta.Event, "event", "", "the event `type`, for providers that send it in a header (default: a push, or the provider's example)")
	fs.StringVar(&o.meta.ID, "id", "", "the delivery `id`, for providers that send it in a header (default: random)")
	fs.StringVar(&c.Header, "header", "", "hmac, token: the header `name` that carries the signature or token")
	fs.StringVar(&c.Query, "query", "", "token: the query `parameter` that carries the token")
	fs.StringVar(&c.Algorithm, "algorithm", "", "hmac: sha1, sha256 (default) or sha512")
	fs.StringVar(&c.Encoding, "encoding", "", "hmac: hex (default) or base64")
	fs.StringVar(&c.Prefix, "prefix", "", "hmac: text before the signature, e.g. sha256=")
	fs.StringVar(&c.TimestampHeader, "timestamp-header", "", "hmac: the header `name` that carries the unix time")
	fs.StringVar(&c.Template, "template", "", "hmac: the signed content, from {timestamp} and {body}")
	fs.BoolVar(&o.form, "form", false, "gitea: headers for a form (or GET) delivery of the payload; slack: for a form body (slash commands)")
	fs.StringVar(&c.Username, "username", "", "basic: the user name")
	fs.StringVar(&c.Password, "password", "", "basic: the password")
	fs.StringVar(&c.URL, "url", "", "twilio, square, hubspot: the `URL` the request is sent to")
	fs.StringVar(&c.PrivateKey, "private-key", "", "discord, standard: the Ed25519 private `key` (discord: hex seed; standard: whsk_ and the base64 seed); sendgrid: its P-256 key, PEM or base64 DER")
	fs.StringVar(&o.outFile, "o", "", "write the body to send to `FILE` (needed for mailgun and linear, which sign inside the body)")
	return fs
}

// cmdSign implements `hookd sign`. It returns 2 for usage errors (bad flags,
// a missing or inapplicable option) and 1 for anything else.
func cmdSign(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o signOptions
	fs := newSignFlagSet(&o)
	c := &o.c
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hookd sign: "+format+" (see hookd sign -h)\n", a...)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, signUsage+"\nflags:\n", stdout)
			return 0
		}
		return usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if c.Provider == "" {
		return usageErr("-provider is required (one of %s)", strings.Join(verify.Names(), ", "))
	}
	spec, ok := verify.Lookup(c.Provider)
	if !ok {
		return usageErr("%s", verify.UnknownProvider(c.Provider))
	}
	if err := checkSignFlags(fs, spec, c.Provider); err != nil {
		return usageErr("%v", err)
	}
	if o.secret != "" {
		c.Secrets = []string{o.secret}
	}
	data, err := readSignBody(o.body, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "hookd sign: reading the body: %v\n", err)
		return 1
	}

	if p, _ := verify.New(*c); p != nil && o.outFile == "" {
		if _, ok := p.(verify.BodySigner); ok {
			return usageErr("provider %s signs inside the body: -o FILE writes the body to send", c.Provider)
		}
	}
	sent, h, err := verify.SignRequest(*c, data, time.Now(), o.meta)
	if err != nil {
		var fe *verify.FieldError
		if errors.As(err, &fe) {
			if fe.Field == "public_key" { // sign has no public key: it takes the private one
				return usageErr("-private-key: provider %s signs with a private key, the pair of the source's public_key", c.Provider)
			}
			return usageErr("-%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Msg)
		}
		fmt.Fprintf(stderr, "hookd sign: %s%v\n", bodyPlace(err, o.body, data), err)
		return 1
	}
	if o.form {
		// Slack signs the raw body, a form for slash commands.
		if p, _ := verify.New(*c); p == nil || !verify.WrapsPayload(p) && c.Provider != "slack" {
			return usageErr("-form does not apply to provider %s: it signs the request body", c.Provider)
		}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if o.outFile != "" {
		if err := os.WriteFile(o.outFile, sent, 0o600); err != nil {
			fmt.Fprintf(stderr, "hookd sign: -o: %v\n", err)
			return 1
		}
	}
	return writeSignedHeaders(h, stdout, stderr)
}

// checkSignFlags refuses a set flag whose option the provider does not take.
func checkSignFlags(fs *flag.FlagSet, spec verify.Spec, provider string) error {
	var bad error
	fs.Visit(func(f *flag.Flag) {
		if key, ok := signFlags[f.Name]; ok && bad == nil && !slices.Contains(spec.Options, key) {
			bad = fmt.Errorf("-%s does not apply to provider %s", f.Name, provider)
		}
	})
	return bad
}

// readSignBody reads -body: nothing, standard input (-) or a file.
func readSignBody(body string, stdin io.Reader) ([]byte, error) {
	switch body {
	case "":
		return nil, nil
	case "-":
		return io.ReadAll(stdin)
	default:
		return os.ReadFile(body)
	}
}

// bodyPlace is "FILE:line:col: " for a body that cannot be signed at a
// known byte, else "FILE: " (or "" without -body).
func bodyPlace(err error, file string, data []byte) string {
	var be *verify.BodyError
	if !errors.As(err, &be) || file == "" {
		return ""
	}
	if file == "-" {
		file = "standard input"
	}
	if be.Offset < 0 || be.Offset > len(data) {
		return file + ": "
	}
	before := data[:be.Offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("%s:%d:%d: ", file, line, col)
}

// writeSignedHeaders prints h as "Name: value" lines, sorted by name.
func writeSignedHeaders(h http.Header, stdout, stderr io.Writer) int {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	var out strings.Builder
	for _, n := range names {
		for _, v := range h[n] {
			// A line break in a value (a secret with one) would end the
			// header early and inject the rest as another.
			if strings.ContainsAny(v, "\r\n") {
				fmt.Fprintf(stderr, "hookd sign: the value of %s contains a line break\n", n)
				return 1
			}
			fmt.Fprintf(&out, "%s: %s\n", n, v)
		}
	}
	if _, err := io.WriteString(stdout, out.String()); err != nil {
		fmt.Fprintf(stderr, "hookd sign: %v\n", err)
		return 1
	}
	return 0
}
