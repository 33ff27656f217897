package rules_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hookd/rules"
)

const srcHeader = `sources:
  s:
    verify: {provider: none}
rules:
  - name: r
    source: s
    actions:
`

// load writes one rules file whose actions list is actions (indented by
// the caller at 6 spaces) and loads it.
func load(t *testing.T, actions string, env map[string]string) (*rules.Set, string, error) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(file, []byte(srcHeader+actions), 0o644); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	set, err := rules.Load(dir, rules.DefaultRuleDefaults, lookup)
	return set, file, err
}

var testEnv = (&rules.Env{
	Source: "s", Event: "push",
	Headers: map[string]string{"x-n": "7"},
	Body: map[string]any{
		"after": "abc123", "n": 42.0, "ok": true,
		"repo": map[string]any{"name": "o/r"}, "list": []any{1.0, "two"},
	},
}).Bind()

func describe(t *testing.T, set *rules.Set, i int) map[string]any {
	t.Helper()
	m, err := set.Rules["r"].Actions[i].Describe(&rules.Call{Env: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	// Through JSON, as `hookd test` prints it.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHTTPActionDecodes(t *testing.T) {
	set, _, err := load(t, `
      - http:
          url: "https://example.com/deploys/{{ body.repo.name }}"
          method: PUT
          timeout: 5s
          expect: [200, 202]
          headers:
            Authorization: "Bearer ${TOKEN}"
            X-Sha: "{{ body.after }}"
          json:
            sha: "{{ body.after }}"
            n: "{{ body.n }}"
            ok: "{{ body.ok }}"
            repo: "{{ body.repo }}"
            list: "{{ body.list }}"
            text: "n is {{ body.n }}"
            lit: 3
            nested: [{a: "{{ body.n + 1 }}"}, null, false]
      - http:
          url: http://user:pw-secret@127.0.0.1:1/x?api_key=query-secret&page=2
          body: "sha={{ body.after }}"
`, map[string]string{"TOKEN": "tok-1234567890"})
	if err != nil {
		t.Fatal(err)
	}
	a := set.Rules["r"].Actions[0]
	if a.Kind != "http" || a.Timeout.String() != "5s" {
		t.Fatalf("kind %s timeout %v", a.Kind, a.Timeout)
	}
	m := describe(t, set, 0)
	if m["url"] != "https://example.com/deploys/o/r" || m["method"] != "PUT" {
		t.Fatalf("describe %v", m)
	}
	hs := m["headers"].(map[string]any)
	if hs["Authorization"] != "[redacted]" || hs["X-Sha"] != "abc123" || hs["Content-Type"] != "application/json" {
		t.Fatalf("headers %v", hs)
	}
	want := map[string]any{
		"sha": "abc123", "n": 42.0, "ok": true, "repo": map[string]any{"name": "o/r"},
		"list": []any{1.0, "two"}, "text": "n is 42", "lit": 3.0,
		"nested": []any{map[string]any{"a": 43.0}, nil, false},
	}
	if got := m["json"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("json\n got %v\nwant %v", got, want)
	}
	if !slices.Contains(set.Secrets, "Bearer tok-1234567890") || !slices.Contains(set.Secrets, "tok-1234567890") {
		t.Fatalf("Authorization not kept as a secret: %q", set.Secrets)
	}
	m = describe(t, set, 1)
	if m["method"] != "POST" || m["body"] != "sha=abc123" || strings.Contains(fmt.Sprint(m["url"]), "pw-secret") {
		t.Fatalf("second action %v", m)
	}
	for _, s := range []string{"pw-secret", "query-secret"} {
		if !slices.Contains(set.Secrets, s) {
			t.Fatalf("%s not kept as a secret: %q", s, set.Secrets)
		}
	}
	if slices.Contains(set.Secrets, "2") {
		t.Fatal("an ordinary query value taken for a secret")
	}
}

func TestSlackActionDecodes(t *testing.T) {
	hook := "https://hooks.slack.com/services/T1/B2/sekrit-path"
	set, _, err := load(t, `
      - slack:
          url: ${HOOK}
          text: "pushed {{ body.after }}"
          username: hookd
          icon_emoji: ":rocket:"
          blocks:
            - type: section
              text: {type: mrkdwn, text: "*{{ body.repo.name }}*"}
      - slack:
          token: ${BOT}
          channel: "#deploys"
          api_url: http://127.0.0.1:1/api
          text: hi
`, map[string]string{"HOOK": hook, "BOT": "xoxb-111-222-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(set.Secrets, hook) || !slices.Contains(set.Secrets, "xoxb-111-222-secret") {
		t.Fatalf("secrets %q", set.Secrets)
	}
	m := describe(t, set, 0)
	if m["url"] != "https://hooks.slack.com/…" || m["text"] != "pushed abc123" || m["username"] != "hookd" || m["icon_emoji"] != ":rocket:" {
		t.Fatalf("webhook describe %v", m)
	}
	if b := fmt.Sprint(m["blocks"]); b != "[map[text:map[text:*o/r* type:mrkdwn] type:section]]" {
		t.Fatalf("blocks %s", b)
	}
	m = describe(t, set, 1)
	if m["token"] != "[redacted]" || m["channel"] != "#deploys" || m["api_url"] != "http://127.0.0.1:1/api" {
		t.Fatalf("bot describe %v", m)
	}
	all, _ := json.Marshal([]any{describe(t, set, 0), describe(t, set, 1)})
	if strings.Contains(string(all), "sekrit") || strings.Contains(string(all), "xoxb") {
		t.Fatalf("describe shows a secret: %s", all)
	}
}

func TestOnFailureTemplatesSeeFailureEnv(t *testing.T) {
	dir := t.TempDir()
	src := srcHeader + `      - shell: {command: ["true"]}
    on_failure:
      - http: {url: "http://127.0.0.1:1/", json: {error: "{{ error }}", rule: "{{ rule }}", attempt: "{{ attempt }}"}}
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(dir, rules.DefaultRuleDefaults, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := set.Rules["r"].OnFailure[0].Describe(&rules.Call{Env: &rules.FailureEnv{Env: *testEnv, Error: "boom", Rule: "r", Attempt: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m["json"].(json.RawMessage)); got != `{"error":"boom","rule":"r","attempt":3}` {
		t.Fatalf("on_failure json %s", got)
	}
	// `error` does not exist outside on_failure.
	if _, _, err := load(t, `      - http: {url: "http://x/", body: "{{ error }}"}`+"\n", nil); err == nil {
		t.Fatal("{{ error }} accepted in actions")
	}
}

func TestActionLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, actions string
		at, msg       string // want "r.yaml:<at>: ...<msg>..."
	}{
		{"http without url", "      - http: {method: GET}\n", "8:15", "http needs a url"},
		{"http bad template", "      - http:\n          url: http://x/\n          body: \"a {{ body. }}\"\n", "10:", "expression"},
		{"http unclosed template", "      - http: {url: \"http://x/{{ body.a\"}\n", "8:", "never closed"},
		{"http unknown key", "      - http: {url: \"http://x/\", bodyy: x}\n", "8:34", `unknown key "bodyy"`},
		{"http body and json", "      - http: {url: \"http://x/\", body: a, json: {a: 1}}\n", "8:", "not both"},
		{"http bad scheme", "      - http: {url: \"ftp://x/\"}\n", "8:21", "http:// or https://"},
		{"http no host", "      - http: {url: \"http:///p\"}\n", "8:21", "no host"},
		{"http bad method", "      - http: {url: \"http://x/\", method: \"PO ST\"}\n", "8:", "not an HTTP method"},
		{"http lower method", "      - http: {url: \"http://x/\", method: post}\n", "8:", "write POST"},
		{"http bad expect", "      - http: {url: \"http://x/\", expect: [200, 700]}\n", "8:", "not an HTTP status"},
		{"http expect not list", "      - http: {url: \"http://x/\", expect: 200}\n", "8:", "list of status codes"},
		{"http bad timeout", "      - http: {url: \"http://x/\", timeout: soon}\n", "8:", "not a duration"},
		{"http bad json template", "      - http:\n          url: http://x/\n          json: {a: [1, \"{{ nope( }}\"]}\n", "10:", "expression"},
		{"http bad header name", "      - http: {url: \"http://x/\", headers: {\"a b\": c}}\n", "8:", "not a valid header name"},
		{"slack neither", "      - slack: {text: hi}\n", "8:16", "webhook url, or a bot token"},
		{"slack both", "      - slack: {url: \"https://h/x\", token: t, channel: c, text: hi}\n", "8:", "not both"},
		{"slack token no channel", "      - slack: {token: t, text: hi}\n", "8:", "needs a channel"},
		{"slack no text", "      - slack: {url: \"https://h/x\"}\n", "8:", "text or blocks"},
		{"slack channel with webhook", "      - slack: {url: \"https://h/x\", channel: c, text: hi}\n", "8:", "applies to a bot token"},
		{"slack bad url", "      - slack: {url: \"hooks.slack.com/x\", text: hi}\n", "8:", "http:// or https://"},
		{"slack bad template", "      - slack: {url: \"https://h/x\", text: \"{{ 1 + }}\"}\n", "8:", "expression"},
		{"slack unknown key", "      - slack: {url: \"https://h/x\", text: hi, emoji: x}\n", "8:", `unknown key "emoji"`},
		{"unknown kind", "      - email: {to: x}\n", "8:9", `unknown action kind "email"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, file, err := load(t, tc.actions, nil)
			var errs rules.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want load errors, got %v", err)
			}
			want := file + ":" + tc.at
			for _, d := range errs {
				if strings.HasPrefix(d.String(), want) && strings.Contains(d.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("no error at %s with %q in:\n%v", want, tc.msg, err)
		})
	}
}

func TestRuleRetryOverridesDefault(t *testing.T) {
	dir := t.TempDir()
	src := `sources:
  s: {verify: {provider: none}}
rules:
  - name: own
    source: s
    retry: {attempts: 4, backoff: 2s}
    actions: [{shell: {command: ["true"]}}]
  - name: inherits
    source: s
    actions: [{shell: {command: ["true"]}}]
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	def := rules.DefaultRuleDefaults
	def.Retry = rules.Retry{Attempts: 2, Backoff: 1e9, MaxBackoff: 60e9}
	set, err := rules.Load(dir, def, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := set.Rules["own"].Retry; r.Attempts != 4 || r.Backoff.String() != "2s" || r.MaxBackoff.String() != "1m0s" {
		t.Fatalf("own retry %+v", r)
	}
	if r := set.Rules["inherits"].Retry; r != def.Retry {
		t.Fatalf("inherited retry %+v, want %+v", r, def.Retry)
	}
}

// The examples must load together, with no environment, for the quick start.
func TestExamplesLoad(t *testing.T) {
	set, err := rules.Load("../examples", rules.DefaultRuleDefaults, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stripe-payment-failed", "shopify-order-created"} {
		if set.Rules[name] == nil {
			t.Fatalf("rule %s missing", name)
		}
	}
}
