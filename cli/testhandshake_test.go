package cli

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hookd/verify"
)

// The handshakes serve answers before any rule, built as their senders
// build them, given to `hookd test` through the built binary: the dry
// run says what serve answers, and that no rule runs.
func TestTestHandshakes(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	pub := hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules", "s.yaml"), `sources:
  zoom: {verify: {provider: zoom, secret: zoom-S3CRET}}
  twitch: {verify: {provider: twitch, secret: twitch-S3CRET}}
  discord: {verify: {provider: discord, public_key: `+pub+`}}
  slack: {verify: {provider: slack, secret: slack-S3CRET}}
  meta: {verify: {provider: meta, secret: meta-S3CRET, verify_token: meta-TOK3N}}
  graph: {verify: {provider: graph, secret: graph-ST4TE}}
  intercom: {verify: {provider: intercom, secret: intercom-S3CRET}}
rules:
  - name: all
    sources: [zoom, twitch, discord, slack, meta, graph, intercom]
    actions: [{shell: {command: ["true"]}}]
`)
	// signed: the headers hookd sign gives, with the sender's own
	// values for set (name, value, ...).
	signed := func(c verify.Config, body string, set ...string) []string {
		h, err := verify.Sign(c, []byte(body), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(set); i += 2 {
			h.Set(set[i], set[i+1])
		}
		var args []string
		for k, vs := range h {
			for _, v := range vs {
				args = append(args, "-header", k+": "+v)
			}
		}
		return args
	}
	zoomV := `{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`
	twitchV := `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	discordPing := `{"application_id":"1100000000000000001","id":"1100000000000000002","token":"tok","type":1,"user":{"id":"1"},"version":1}`
	discordEventsPing := `{"version":1,"application_id":"1100000000000000001","type":0}`
	slackV := `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	json := []string{"-header", "Content-Type: application/json"}
	for _, tc := range []struct {
		name, source, body string
		args               []string
		want               []string // lines of stdout
	}{
		{"zoom endpoint.url_validation", "zoom", zoomV,
			append(signed(verify.Config{Provider: "zoom", Secrets: []string{"zoom-S3CRET"}}, zoomV), json...),
			[]string{"HANDSHAKE answered once its signature verifies (a dry run does not check it)", "  status 200", "  Content-Type: application/json",
				`  | {"encryptedToken":"` + hmacHex("zoom-S3CRET", "qgg8vlvZRS6UYooatFL8Aw") + `","plainToken":"qgg8vlvZRS6UYooatFL8Aw"}`}},
		// Unsigned, as the trial sent it: still the handshake it is.
		{"zoom unsigned", "zoom", zoomV, json,
			[]string{"  status 200", `  | {"encryptedToken":"` + hmacHex("zoom-S3CRET", "qgg8vlvZRS6UYooatFL8Aw") + `","plainToken":"qgg8vlvZRS6UYooatFL8Aw"}`}},
		{"twitch webhook_callback_verification", "twitch", twitchV,
			append(signed(verify.Config{Provider: "twitch", Secrets: []string{"twitch-S3CRET"}}, twitchV,
				"Twitch-Eventsub-Message-Type", "webhook_callback_verification", "Twitch-Eventsub-Subscription-Type", "channel.follow"), json...),
			[]string{"  status 200", "  Content-Type: text/plain; charset=utf-8", "  | pogchamp-kappa-360noscope-vohiyo"}},
		{"discord interaction PING", "discord", discordPing,
			append(signed(verify.Config{Provider: "discord", PrivateKey: hex.EncodeToString(seed)}, discordPing), json...),
			[]string{"  status 200", "  Content-Type: application/json", `  | {"type":1}`}},
		{"discord Webhook Events PING", "discord", discordEventsPing,
			append(signed(verify.Config{Provider: "discord", PrivateKey: hex.EncodeToString(seed)}, discordEventsPing), json...),
			[]string{"  status 204"}},
		{"slack url_verification", "slack", slackV,
			append(signed(verify.Config{Provider: "slack", Secrets: []string{"slack-S3CRET"}}, slackV), json...),
			[]string{"  status 200", "  Content-Type: application/json", `  | {"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`}},
		{"meta subscription check", "meta", "",
			[]string{"-method", "GET", "-query", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meta-TOK3N"},
			[]string{"HANDSHAKE answered (its sender does not sign it)", "  status 200", "  Content-Type: text/plain; charset=utf-8", "  | 1158201444"}},
		{"meta wrong verify_token", "meta", "",
			[]string{"-method", "get", "-query", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=nope"},
			[]string{"HANDSHAKE refused: unauthorized: hub.verify_token does not match verify_token", "  status 401", `  | {"error":"unauthorized"}`}},
		{"graph validationToken", "graph", "",
			[]string{"-header", "Content-Type: text/plain; charset=utf-8", "-query", "validationToken=Validation%3A+Testing+client+application+reachability"},
			[]string{"  status 200", "  Content-Type: text/plain; charset=utf-8", "  | Validation: Testing client application reachability"}},
		{"intercom HEAD", "intercom", "", []string{"-method", "HEAD"}, []string{"HANDSHAKE answered (its sender does not sign it)", "  status 200"}},
		{"graph validationToken with a control character", "graph", "",
			[]string{"-query", "validationToken=a%0Ab"},
			[]string{"  status 400", `  | {"error":"bad request"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := filepath.Join(dir, "body")
			writeFile(t, body, tc.body)
			args := append([]string{"test", "-rules", filepath.Join(dir, "rules"), "-source", tc.source, "-body", body, "-expect", "handshake"}, tc.args...)
			out, errOut, code := runHookdBin(t, args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			lines := strings.Split(out, "\n")
			if !strings.HasPrefix(lines[0], "source "+tc.source+" (/hooks/"+tc.source+"): a handshake of provider "+tc.source+", answered before any rule: no rule runs") {
				t.Errorf("first line %q", lines[0])
			}
			for _, w := range tc.want {
				if !containsLine(lines, w) {
					t.Errorf("no line %q in:\n%s", w, out)
				}
			}
			for _, secret := range []string{"S3CRET", "TOK3N", "ST4TE", "MATCH"} {
				if strings.Contains(out, secret) {
					t.Errorf("%q in:\n%s", secret, out)
				}
			}
			// -expect match: a handshake matches no rule.
			if _, errOut, code := runHookdBin(t, append(args, "-expect", "match")...); code != 1 || !strings.Contains(errOut, "expected match, got handshake") {
				t.Errorf("-expect match: exit %d, stderr %s", code, errOut)
			}
		})
	}
	// What is not a handshake still reaches the rules.
	meeting := filepath.Join(dir, "meeting.json")
	writeFile(t, meeting, `{"event":"meeting.started","payload":{"plainToken":"x"}}`)
	if out, errOut, code := runHookdBin(t, "test", "-rules", filepath.Join(dir, "rules"), "-source", "zoom", "-body", meeting, "-expect", "all"); code != 0 || !strings.Contains(out, "MATCH     all") {
		t.Errorf("meeting.started: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runHookdBin(t, "test", "-rules", filepath.Join(dir, "rules"), "-source", "zoom", "-method", "GET"); code != 2 ||
		errOut != "hookd test: -method: serve answers GET on source zoom with 405 (provider zoom takes POST)\n" {
		t.Errorf("-method GET on zoom: exit %d, stderr %q", code, errOut)
	}
}

// -method GET sends what a Gitea set to "HTTP method: GET" sends: the
// payload in the query, matched as the body, as serve does.
func TestTestGiteaGET(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "s.yaml"), `sources:
  gitea: {verify: {provider: gitea, secret: x}}
rules:
  - name: main
    source: gitea
    when: event == "push" && body.ref == "refs/heads/main"
    actions: [{shell: {command: ["true"]}}]
`)
	out, errOut, code := runHookdBin(t, "test", "-rules", dir, "-source", "gitea", "-method", "GET",
		"-query", `payload={"ref":"refs/heads/main"}&other=1`, "-header", "X-Gitea-Event: push", "-expect", "main")
	if code != 0 || !strings.Contains(out, "MATCH     main") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runHookdBin(t, "test", "-rules", dir, "-source", "gitea", "-method", "HEAD"); code != 2 ||
		errOut != "hookd test: -method: serve answers a HEAD on source gitea as the GET it stands for, without its body: use -method GET\n" {
		t.Errorf("-method HEAD: exit %d, stderr %q", code, errOut)
	}
}

func hmacHex(key, msg string) string {
	h, _ := verify.Sign(verify.Config{Provider: "hmac", Secrets: []string{key}, Header: "X-Sig"}, []byte(msg), time.Now())
	return h.Get("X-Sig")
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func runHookdBin(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(hookdBin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
