package rules

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"go.yaml.in/yaml/v3"
)

// Respond is a rule's or a source's `respond:` block: the HTTP answer sent
// to the sender once the event is durably recorded, instead of the status
// JSON. Its templates see the request's environment (SPEC section 3).
type Respond struct {
	Status  int                  // 2xx; default 200
	Headers map[string]*Template // canonical names, Content-Type included
	// TypeSet tells whether headers name a Content-Type: otherwise a
	// waited-for output gets one by its look (JSON or text).
	TypeSet bool
	body    *Template
	json    any // a jsonValue tree, nil when none
	// Wait, when above zero, answers with the output of the first action
	// of the answering rule if it finishes in time; the rendered answer is
	// the fallback.
	Wait      time.Duration
	File      string
	Line, Col int
	waitNode  *yaml.Node
}

// AnswerMax bounds an answer's body, rendered or taken from an action's
// output: a chat message, not a file download.
const AnswerMax = 64 << 10

// senderDeadline is how long a sender documents it waits for an answer,
// by provider; a provider not listed documents no number and is held to
// defaultDeadline. `wait` must end respondMargin before it, leaving time
// to send the answer. Each from the sender's own documentation:
var senderDeadline = map[string]time.Duration{
	// An interaction's initial response within 3 s:
	// https://discord.com/developers/docs/interactions/receiving-and-responding
	"discord": 3 * time.Second,
	// Slash commands and interactivity within 3000 ms (Events API: 3 s):
	// https://api.slack.com/interactivity/slash-commands
	"slack": 3 * time.Second,
	// 10 s: https://docs.github.com/en/webhooks/using-webhooks/handling-webhook-deliveries
	"github": 10 * time.Second,
	// 10 s on GitLab.com and by default on self-managed (webhook_timeout):
	// https://docs.gitlab.com/ee/user/project/integrations/webhooks.html#webhook-timeout-limits
	"gitlab": 10 * time.Second,
	// 5 s: https://shopify.dev/docs/apps/build/webhooks/subscribe/https
	"shopify": 5 * time.Second,
	// 15 s for the whole request, TCP connection included:
	// https://www.twilio.com/docs/api/errors/11205
	"twilio": 15 * time.Second,
	// 200 or 204 within three seconds:
	// https://developers.zoom.us/blog/webhook-delays/
	"zoom": 3 * time.Second,
	// 200 within five seconds:
	// https://developer.paddle.com/webhooks/respond-to-webhooks
	"paddle": 5 * time.Second,
	// A change notification answered within 3 s (the validation request,
	// answered by the provider before any rule, 10 s):
	// https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks
	"graph": 3 * time.Second,
	// A batch answered within five seconds, else retried (up to 10 times):
	// https://developers.hubspot.com/docs/api/webhooks
	"hubspot": 5 * time.Second,
	// 200 within five seconds: https://linear.app/developers/webhooks
	"linear": 5 * time.Second,
	// Within 1 second, else a timeout (1000 in 24 h unsubscribe):
	// https://sentry.io/changelog/2023-10-3-change-to-integration-platform-webhook-handling
	"sentry": 1 * time.Second,
	// A 2xx within 10 seconds:
	// https://developer.squareup.com/docs/webhooks/troubleshooting
	"square": 10 * time.Second,
	// "Within a few seconds", no number: its smallest reading, 3 s.
	// https://dev.twitch.tv/docs/eventsub/handling-webhook-events/
	"twitch": 3 * time.Second,
}

const (
	defaultDeadline = 10 * time.Second
	respondMargin   = 500 * time.Millisecond
)

// MaxWait is the longest `wait` allowed for a source of provider p.
func MaxWait(provider string) time.Duration {
	d, ok := senderDeadline[provider]
	if !ok {
		d = defaultDeadline
	}
	return d - respondMargin
}

// hopHeaders belong to the connection, which net/http manages.
var hopHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Upgrade": true, "Trailer": true, "Te": true, "Proxy-Connection": true}

// respond decodes a respond block.
func (d *decoder) respond(n *yaml.Node) *Respond {
	r := &Respond{Status: http.StatusOK, File: d.file, Line: n.Line, Col: n.Column}
	var bodyNode, jsonNode, statusNode *yaml.Node
	ok := d.fields(n, "respond", map[string]func(k, v *yaml.Node){
		"status": func(k, v *yaml.Node) {
			statusNode = v
			code := d.integer(v, "respond.status", 0)
			if code == 0 && strings.Trim(v.Value, "0") != "" {
				return // not a number: reported
			}
			if code < 200 || code > 299 {
				d.errf(v, "respond.status %d: the answer to a recorded event is a 2xx (other statuses make the sender retry what hookd already has)", code)
				return
			}
			r.Status = code
		},
		"headers": func(k, v *yaml.Node) {
			m, pos := d.strMap(v, "respond.headers")
			r.Headers = map[string]*Template{}
			for _, name := range sortedKeys(m) {
				cn := http.CanonicalHeaderKey(name)
				switch {
				case !isToken(name):
					d.errf(pos[name], "respond.headers: %q is not a valid header name", name)
				case hopHeaders[cn]:
					d.errf(pos[name], "respond.headers: %s is set by the HTTP server, not by a rule", cn)
				default:
					r.Headers[cn] = d.template(pos[name], "respond.headers."+name, false)
					r.TypeSet = r.TypeSet || cn == "Content-Type"
				}
			}
		},
		"body": func(k, v *yaml.Node) { bodyNode = v; r.body = d.template(v, "respond.body", false) },
		"json": func(k, v *yaml.Node) { jsonNode = v; r.json = d.jsonValue(v, "respond.json", false) },
		"wait": func(k, v *yaml.Node) {
			r.waitNode = v
			r.Wait = d.duration(v, "respond.wait")
			if _, err := time.ParseDuration(v.Value); err == nil && r.Wait == 0 {
				d.errf(v, "respond.wait must be above zero (leave it out to answer at once)")
			}
		},
	})
	if !ok {
		return nil
	}
	if bodyNode != nil && jsonNode != nil {
		d.errf(jsonNode, "respond takes body (a string) or json (a value), not both")
	}
	if (r.Status == http.StatusNoContent || r.Status == http.StatusResetContent) && (bodyNode != nil || jsonNode != nil || r.Wait > 0) {
		d.errf(statusNode, "respond.status %d has no body: remove body, json and wait", r.Status)
	}
	if r.Headers == nil {
		r.Headers = map[string]*Template{}
	}
	if !r.TypeSet {
		switch {
		case jsonNode != nil:
			r.Headers["Content-Type"] = staticTemplate("application/json")
		case bodyNode != nil:
			r.Headers["Content-Type"] = staticTemplate(textPlain)
		}
	}
	return r
}

const textPlain = "text/plain; charset=utf-8"

func staticTemplate(s string) *Template { return &Template{src: s, parts: []tplPart{{lit: s}}} }

// checkWait reports a wait longer than a source's sender waits, at the
// wait's place.
func (d *decoder) checkWait(r *Respond, s *Source) {
	if r == nil || r.Wait == 0 || s == nil {
		return
	}
	max := MaxWait(s.Provider)
	if r.Wait <= max {
		return
	}
	if _, ok := senderDeadline[s.Provider]; ok {
		d.errf(r.waitNode, "respond.wait %s is too long for source %q: %s waits %s for an answer; wait at most %s",
			r.Wait, s.Name, s.Provider, max+respondMargin, max)
		return
	}
	d.errf(r.waitNode, "respond.wait %s is too long for source %q: hookd answers within %s a sender (provider %s) that documents no deadline; wait at most %s",
		r.Wait, s.Name, defaultDeadline, s.Provider, max)
}

// Answer is a rendered answer.
type Answer struct {
	Status int
	Header map[string]string // canonical names
	Body   []byte
}

// Render renders the answer for env. A header value that would break the
// header block, or a body over AnswerMax, is an error.
func (r *Respond) Render(env *Env) (*Answer, error) {
	a := &Answer{Status: r.Status, Header: make(map[string]string, len(r.Headers))}
	for _, name := range sortedKeys(r.Headers) {
		v, err := r.Headers[name].Render(env)
		if err != nil {
			return nil, fmt.Errorf("respond.headers.%s: %w", name, err)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("respond.headers.%s: the value holds a line break or NUL", name)
		}
		a.Header[name] = v
	}
	switch {
	case r.json != nil:
		v, err := renderJSON(r.json, env)
		if err != nil {
			return nil, fmt.Errorf("respond.json: %w", err)
		}
		if a.Body, err = marshalJSON(v); err != nil {
			return nil, fmt.Errorf("respond.json: %w", err)
		}
	case r.body != nil:
		s, err := r.body.Render(env)
		if err != nil {
			return nil, fmt.Errorf("respond.body: %w", err)
		}
		a.Body = []byte(s)
	}
	if len(a.Body) > AnswerMax {
		return nil, fmt.Errorf("respond: the answer is %d bytes, over the %d allowed", len(a.Body), AnswerMax)
	}
	return a, nil
}

// checkResponders warns, per source, about rules whose respond never
// answers an event an earlier rule (in load order) with a respond of its
// own also matches. Rules whose `when` test one value for a different
// constant (body.command == "/deploy", body.command == "/status") never
// match together and are not warned about.
func checkResponders(set *Set, diags *[]Diag) {
	eqs := map[*Rule]map[string]string{}
	for _, name := range sortedKeys(set.Sources) {
		s := set.Sources[name]
		var earlier []*Rule
		for _, r := range s.Rules {
			if r.Respond == nil {
				continue
			}
			if eqs[r] == nil {
				eqs[r] = equalities(r.WhenSrc)
			}
			for _, e := range earlier {
				if !disjoint(eqs[e], eqs[r]) {
					*diags = append(*diags, Diag{File: r.Respond.File, Line: r.Respond.Line, Col: r.Respond.Col, Warning: true,
						Msg: fmt.Sprintf("rule %q: its respond never answers an event of source %q that rule %q (%s:%d) also matches: the first matching rule in load order answers",
							r.Name, s.Name, e.Name, e.File, e.Line)})
					break
				}
			}
			earlier = append(earlier, r)
		}
	}
}

// equalities returns the `PATH == "const"` operands of a `when`'s chain
// of &&, by PATH: all must hold for the rule to match.
func equalities(src string) map[string]string {
	out := map[string]string{}
	if src == "" {
		return out
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return out
	}
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
			walk(b.Left)
			walk(b.Right)
			return
		}
		if p, v, ok := equality(n); ok && isPath(p) {
			out[p.String()] = v
		}
	}
	walk(tree.Node)
	return out
}

// disjoint reports whether two rules' equalities require different values
// of one path.
func disjoint(a, b map[string]string) bool {
	for p, v := range a {
		if w, ok := b[p]; ok && w != v {
			return true
		}
	}
	return false
}
