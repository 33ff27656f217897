package rules

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"

	"hookd/actions"
)

// redacted stands in for a secret in `hookd test` output.
const redacted = "[redacted]"

// httpAction is `http`: one request per attempt, judged by its status.
type httpAction struct {
	url     *Template
	method  string
	headers map[string]*Template // canonical names
	body    *Template
	json    any // a jsonValue tree, nil when none
	expect  []int
	client  *http.Client
}

func decodeHTTP(d *decoder, n *yaml.Node, a *Action, failure bool, secrets *[]string) actionImpl {
	h := &httpAction{method: http.MethodPost}
	var urlNode, bodyNode, jsonNode *yaml.Node
	ok := d.fields(n, "http", map[string]func(k, v *yaml.Node){
		"url": func(k, v *yaml.Node) {
			urlNode = v
			h.url = d.template(v, "http.url", failure)
		},
		"method": func(k, v *yaml.Node) { h.method = d.method(v) },
		"headers": func(k, v *yaml.Node) {
			m, pos := d.strMap(v, "http.headers")
			h.headers = map[string]*Template{}
			for _, name := range sortedKeys(m) {
				if !isToken(name) {
					d.errf(pos[name], "http.headers: %q is not a valid header name", name)
					continue
				}
				t := d.template(pos[name], "http.headers."+name, failure)
				h.headers[http.CanonicalHeaderKey(name)] = t
				if t != nil && credentialHeader(name) {
					addSecret(secrets, t)
				}
			}
		},
		"body": func(k, v *yaml.Node) { bodyNode = v; h.body = d.template(v, "http.body", failure) },
		"json": func(k, v *yaml.Node) { jsonNode = v; h.json = d.jsonValue(v, "http.json", failure) },
		"timeout": func(k, v *yaml.Node) {
			a.Timeout = d.actionTimeout(v, "http.timeout")
		},
		"expect": func(k, v *yaml.Node) {
			if v.Kind != yaml.SequenceNode {
				d.errf(v, "http.expect must be a list of status codes, e.g. [200, 202]")
				return
			}
			for _, c := range v.Content {
				code := d.integer(resolve(c), "http.expect item", 100)
				if code > 599 {
					d.errf(c, "http.expect: %d is not an HTTP status code (100-599)", code)
					continue
				}
				if code != 0 {
					h.expect = append(h.expect, code)
				}
			}
		},
	})
	if !ok {
		return nil
	}
	if urlNode == nil {
		d.missing(n, n, []string{"url"}, "http needs a url")
	} else if h.url != nil && !h.url.Static() {
		// A password written in a URL that templates complete is a secret
		// all the same.
		if i, j := passwordSpan(h.url.src); i >= 0 && !strings.Contains(h.url.src[i:j], "{{") {
			if p, err := url.PathUnescape(h.url.src[i:j]); err == nil && p != "" {
				*secrets = append(*secrets, p, h.url.src[i:j])
			}
		}
	} else if h.url != nil && h.url.Static() {
		d.checkURL(urlNode, "http.url", h.url.src)
		if u, err := url.Parse(h.url.src); err == nil {
			if p, ok := u.User.Password(); ok && p != "" {
				*secrets = append(*secrets, p)
			}
			// ?api_key=..., ?token=...: credentials in the query.
			for k, vs := range u.Query() {
				for _, v := range vs {
					if credentialHeader(k) && len(v) >= 4 {
						*secrets = append(*secrets, v)
					}
				}
			}
		}
	}
	if bodyNode != nil && jsonNode != nil {
		d.errf(jsonNode, "http takes body (a string) or json (a value), not both")
	}
	h.client = actions.NewClient(a.Timeout)
	return h
}

// method reads an HTTP method: an RFC 9110 token, upper case as the
// standard methods are (methods are case-sensitive).
func (d *decoder) method(n *yaml.Node) string {
	m := d.str(n, "http.method")
	switch {
	case m == "":
	case !isToken(m):
		d.errf(n, "http.method %q is not an HTTP method (write e.g. POST, PUT, PATCH)", m)
	case m != strings.ToUpper(m):
		d.errWithheld(n, m, "http.method holds a secret: methods are case-sensitive, write it in upper case",
			"http.method %q: methods are case-sensitive, write %s", m, strings.ToUpper(m))
	default:
		return m
	}
	return http.MethodPost
}

// isToken reports whether s is an RFC 9110 token (a method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkURL validates a URL known at load time.
func (d *decoder) checkURL(n *yaml.Node, what, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		// The parse error repeats the URL, which may be a secret.
		d.errf(n, "%s is not a valid URL", what)
	case u.Scheme != "http" && u.Scheme != "https":
		d.errf(n, "%s must be an http:// or https:// URL", what)
	case u.Host == "":
		d.errf(n, "%s has no host", what)
	}
}

// credentialHeader reports whether a header carries a credential, so that
// its value is kept out of logs and `hookd test` output.
func credentialHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization", "Cookie":
		return true
	}
	l := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	for _, w := range []string{"token", "secret", "api-key", "apikey", "password", "signature", "auth"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// addSecret records a secret template's known text: the whole value when
// static (and its credential without a scheme such as "Bearer"), else its
// literal parts that are long enough to be credentials themselves.
func addSecret(secrets *[]string, t *Template) {
	if t.Static() {
		*secrets = append(*secrets, t.src)
		if _, cred, ok := strings.Cut(t.src, " "); ok && len(strings.TrimSpace(cred)) >= 8 {
			*secrets = append(*secrets, strings.TrimSpace(cred))
		}
		return
	}
	for _, p := range t.parts {
		if s := strings.TrimSpace(p.lit); p.prog == nil && len(s) >= 16 && !strings.Contains(s, "://") {
			*secrets = append(*secrets, s)
		}
	}
}

type renderedHTTP struct {
	url    string
	header http.Header
	body   []byte
	json   any
}

func (h *httpAction) render(c *Call) (*renderedHTTP, error) {
	r := &renderedHTTP{header: http.Header{}}
	var err error
	if r.url, err = h.url.Render(c.Env); err != nil {
		return nil, fmt.Errorf("http.url: %w", err)
	}
	for _, k := range sortedKeys(h.headers) {
		v, err := h.headers[k].Render(c.Env)
		if err != nil {
			return nil, fmt.Errorf("http.headers.%s: %w", k, err)
		}
		r.header.Set(k, v)
	}
	switch {
	case h.body != nil:
		s, err := h.body.Render(c.Env)
		if err != nil {
			return nil, fmt.Errorf("http.body: %w", err)
		}
		r.body = []byte(s)
	case h.json != nil:
		if r.json, err = renderJSON(h.json, c.Env); err != nil {
			return nil, fmt.Errorf("http.json: %w", err)
		}
		if r.body, err = marshalJSON(r.json); err != nil {
			return nil, fmt.Errorf("http.json: %w", err)
		}
		if r.header.Get("Content-Type") == "" {
			r.header.Set("Content-Type", "application/json")
		}
	}
	return r, nil
}

func (h *httpAction) build(c *Call) (actions.Action, error) {
	r, err := h.render(c)
	if err != nil {
		return nil, err
	}
	return &actions.HTTP{Client: h.client, Method: h.method, URL: r.url, Header: r.header, Body: r.body, Expect: h.expect, UserAgent: c.UserAgent}, nil
}

func (h *httpAction) describe(c *Call) (map[string]any, error) {
	r, err := h.render(c)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"method": h.method, "url": hideUserinfo(r.url)}
	if len(r.header) > 0 {
		hs := map[string]string{}
		for k := range r.header {
			hs[k] = r.header.Get(k)
			if credentialHeader(k) {
				hs[k] = redacted
			}
		}
		m["headers"] = hs
	}
	if r.json != nil {
		m["json"] = json.RawMessage(r.body)
	} else if h.body != nil {
		m["body"] = string(r.body)
	}
	if len(h.expect) > 0 {
		m["expect"] = h.expect
	}
	return m, nil
}

// slackAction is `slack`: an incoming webhook, or chat.postMessage as a bot.
type slackAction struct {
	url, token, channel *Template
	apiURL              *Template
	text                *Template
	blocks              any // a jsonValue tree
	username, iconEmoji *Template
	client              *http.Client
}

func decodeSlack(d *decoder, n *yaml.Node, a *Action, failure bool, secrets *[]string) actionImpl {
	s := &slackAction{}
	nodes := map[string]*yaml.Node{}
	tpl := func(dst **Template) func(k, v *yaml.Node) {
		return func(k, v *yaml.Node) { nodes[k.Value] = v; *dst = d.template(v, "slack."+k.Value, failure) }
	}
	ok := d.fields(n, "slack", map[string]func(k, v *yaml.Node){
		"url":        tpl(&s.url),
		"token":      tpl(&s.token),
		"channel":    tpl(&s.channel),
		"api_url":    tpl(&s.apiURL),
		"text":       tpl(&s.text),
		"username":   tpl(&s.username),
		"icon_emoji": tpl(&s.iconEmoji),
		"blocks": func(k, v *yaml.Node) {
			nodes[k.Value] = v
			s.blocks = d.jsonValue(v, "slack.blocks", failure)
		},
		"timeout": func(k, v *yaml.Node) { a.Timeout = d.actionTimeout(v, "slack.timeout") },
	})
	if !ok {
		return nil
	}
	// Secrets first, so that they are kept out of logs even when the rest
	// of the action is wrong.
	if s.url != nil {
		addSecret(secrets, s.url)
	}
	if s.token != nil {
		addSecret(secrets, s.token)
	}
	switch {
	case nodes["url"] != nil && nodes["token"] != nil:
		d.errf(nodes["token"], "slack takes a webhook url or a bot token with a channel, not both")
	case nodes["url"] != nil:
		if s.url != nil && s.url.Static() {
			d.checkURL(nodes["url"], "slack.url", s.url.src)
		}
		if nodes["channel"] != nil {
			d.errf(nodes["channel"], "slack.channel applies to a bot token; an incoming webhook posts to its own channel")
		}
		if nodes["api_url"] != nil {
			d.errf(nodes["api_url"], "slack.api_url applies to a bot token, not to a webhook url")
		}
	case nodes["token"] != nil:
		if nodes["channel"] == nil {
			d.missing(n, n, []string{"channel"}, "slack with a token needs a channel")
		}
		if s.apiURL != nil && s.apiURL.Static() {
			d.checkURL(nodes["api_url"], "slack.api_url", s.apiURL.src)
		}
	default:
		d.missing(n, n, []string{"url", "token", "channel"}, "slack needs a webhook url, or a bot token and a channel")
	}
	if nodes["text"] == nil && nodes["blocks"] == nil {
		d.missing(n, n, []string{"text", "blocks"}, "slack needs text or blocks")
	}
	s.client = actions.NewClient(a.Timeout)
	return s
}

func (s *slackAction) render(c *Call) (*actions.Slack, any, error) {
	m := &actions.Slack{Client: s.client, UserAgent: c.UserAgent}
	for _, f := range []struct {
		name string
		t    *Template
		dst  *string
	}{
		{"url", s.url, &m.WebhookURL},
		{"token", s.token, &m.Token},
		{"channel", s.channel, &m.Channel},
		{"api_url", s.apiURL, &m.APIURL},
		{"text", s.text, &m.Text},
		{"username", s.username, &m.Username},
		{"icon_emoji", s.iconEmoji, &m.IconEmoji},
	} {
		v, err := f.t.Render(c.Env)
		if err != nil {
			if f.name == "url" || f.name == "token" {
				// The template's text may hold the secret.
				return nil, nil, fmt.Errorf("slack.%s: a template failed", f.name)
			}
			return nil, nil, fmt.Errorf("slack.%s: %w", f.name, err)
		}
		*f.dst = v
	}
	var blocks any
	if s.blocks != nil {
		v, err := renderJSON(s.blocks, c.Env)
		if err != nil {
			return nil, nil, fmt.Errorf("slack.blocks: %w", err)
		}
		// A string is JSON text already (blocks: "{{ body.blocks_json }}").
		if str, ok := v.(string); ok {
			var probe any
			if err := json.Unmarshal([]byte(str), &probe); err != nil {
				// Not quoted: a clipped quote could end inside a secret.
				return nil, nil, fmt.Errorf("slack.blocks: the rendered text (%d bytes) is not JSON: %v", len(str), err)
			}
			m.Blocks = json.RawMessage(str)
		} else {
			b, err := marshalJSON(v)
			if err != nil {
				return nil, nil, fmt.Errorf("slack.blocks: %w", err)
			}
			m.Blocks = b
		}
		blocks = m.Blocks
	}
	return m, blocks, nil
}

func (s *slackAction) build(c *Call) (actions.Action, error) {
	m, _, err := s.render(c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (s *slackAction) describe(c *Call) (map[string]any, error) {
	m, blocks, err := s.render(c)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if m.WebhookURL != "" {
		out["url"] = actions.RedactURL(m.WebhookURL)
	}
	if s.token != nil {
		out["token"] = redacted
		out["channel"] = m.Channel
		api := m.APIURL
		if api == "" {
			api = actions.DefaultSlackAPI
		}
		out["api_url"] = api
	}
	for k, v := range map[string]string{"text": m.Text, "username": m.Username, "icon_emoji": m.IconEmoji} {
		if v != "" {
			out[k] = v
		}
	}
	if blocks != nil {
		out["blocks"] = blocks
	}
	return out, nil
}
