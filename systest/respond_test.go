package systest

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const slackSecret = "systest-slack-signing-secret"

// slashCommand signs a Slack slash command with `hookd sign -form`, as a
// user trying the example would.
func (s *site) slashCommand(t *testing.T, command, text, trigger string) (http.Header, []byte) {
	t.Helper()
	body := []byte(url.Values{"command": {command}, "text": {text}, "user_name": {"ada"}, "trigger_id": {trigger},
		"response_url": {"https://hooks.slack.com/commands/T0/1/x"}}.Encode())
	f := filepath.Join(s.dir, trigger+".form")
	writeFile(t, f, string(body))
	code, stdout, stderr := run(t, nil, "sign", "-provider", "slack", "-secret", slackSecret, "-body", f, "-form")
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	h := http.Header{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		name, val, _ := strings.Cut(line, ": ")
		h.Set(name, val)
	}
	return h, body
}

func (s *site) rawPost(t *testing.T, path string, h http.Header, body []byte) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+s.addr+path, strings.NewReader(string(body)))
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

// TestRespondSlashCommandExample serves examples/slack-slash-command.yaml:
// the ephemeral reply comes once the command is durable (a SIGKILL right
// after it loses nothing, and the deploy runs after the restart if it had
// not), a redelivery gets the same reply, /uptime answers with the
// program's output, and an unknown command gets the source's answer, also
// once durable.
func TestRespondSlashCommandExample(t *testing.T) {
	example, err := os.ReadFile("../examples/slack-slash-command.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, string(example), "")
	script, err := os.ReadFile("../examples/deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "rules", "deploy.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	s.env = append(s.env, "SLACK_SIGNING_SECRET="+slackSecret)
	d := s.start()

	h, body := s.slashCommand(t, "/deploy", "prod", "t1")
	code, hdr, got := s.rawPost(t, "/hooks/slack-commands", h, body)
	want := `{"response_type":"ephemeral","text":"Deploying prod..."}`
	if code != 200 || got != want || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("reply %d %q %q, want %s", code, hdr.Get("Content-Type"), got, want)
	}
	// An unknown command: recorded durably before its answer too.
	h3, body3 := s.slashCommand(t, "/nope", "", "t3")
	if code, _, got := s.rawPost(t, "/hooks/slack-commands", h3, body3); code != 200 || got != `{"response_type":"ephemeral","text":"Unknown command /nope"}` {
		t.Fatalf("unknown command reply %d %q", code, got)
	}
	d.kill()
	s.start()
	if out, _, code := s.cli(t, "", "show", "2"); code != 0 || !strings.Contains(out, "ignored") {
		t.Fatalf("the answered unknown command was lost: %d %s", code, out)
	}
	eventually(t, "the deploy to run", 10*time.Second, func() bool {
		out, _, _ := s.cli(t, "", "show", "1")
		return strings.Contains(out, "deploying prod at HEAD (pushed by ada")
	})
	out, _, _ := s.cli(t, "", "show", "1")
	if !strings.Contains(out, "answered  200 application/json, 56 bytes") {
		t.Fatalf("show does not say what was answered:\n%s", out)
	}
	if code, _, got := s.rawPost(t, "/hooks/slack-commands", h, body); code != 200 || got != want {
		t.Fatalf("redelivery reply %d %q", code, got)
	}

	h, body = s.slashCommand(t, "/uptime", "", "t2")
	code, hdr, got = s.rawPost(t, "/hooks/slack-commands", h, body)
	if code != 200 || !strings.Contains(got, "load average") || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("uptime reply %d %q %q", code, hdr.Get("Content-Type"), got)
	}

}

// TestRespondDiscordInteractionExample serves examples/discord-interaction.yaml
// with a key pair of the test's own: the portal's PING is answered, /deploy
// gets its ephemeral reply, and the deploy runs with the command's option.
func TestRespondDiscordInteractionExample(t *testing.T) {
	example, err := os.ReadFile("../examples/discord-interaction.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, string(example), "")
	script, err := os.ReadFile("../examples/deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "rules", "deploy.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	// RFC 8032's first test key: the seed and its public key.
	const seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	s.env = append(s.env, "DISCORD_PUBLIC_KEY=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	s.start()

	interaction := func(name, body string) (int, string, string) {
		f := filepath.Join(s.dir, name+".json")
		writeFile(t, f, body)
		code, stdout, stderr := run(t, nil, "sign", "-provider", "discord", "-private-key", seed, "-body", f)
		if code != 0 {
			t.Fatalf("sign: exit %d: %s", code, stderr)
		}
		h := http.Header{"Content-Type": {"application/json"}}
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			k, v, _ := strings.Cut(line, ": ")
			h.Set(k, v)
		}
		code, hdr, got := s.rawPost(t, "/hooks/discord", h, []byte(body))
		return code, hdr.Get("Content-Type"), got
	}
	if code, _, got := interaction("ping", `{"id":"100","application_id":"1","type":1,"version":1,"token":"x"}`); code != 200 || got != `{"type":1}` {
		t.Fatalf("PING answered %d %q", code, got)
	}
	code, ctype, got := interaction("deploy", `{"id":"101","application_id":"1","type":2,"token":"x","version":1,`+
		`"data":{"id":"7","name":"deploy","type":1,"options":[{"name":"ref","type":3,"value":"prod"}]},`+
		`"member":{"user":{"id":"9","username":"ada"}}}`)
	want := `{"type":4,"data":{"content":"Deploying prod for ada...","flags":64}}`
	if code != 200 || got != want || ctype != "application/json" {
		t.Fatalf("/deploy answered %d %q %q, want %s", code, ctype, got, want)
	}
	if code, _, got := interaction("other", `{"id":"102","application_id":"1","type":2,"token":"x","version":1,`+
		`"data":{"id":"8","name":"status","type":1},"member":{"user":{"id":"9","username":"ada"}}}`); code != 200 ||
		got != `{"type":4,"data":{"content":"Unknown command /status","flags":64}}` {
		t.Fatalf("unknown command answered %d %q", code, got)
	}
	// In a DM Discord sends user, not member; ref is optional and left out.
	code, _, got = interaction("dm", `{"id":"103","application_id":"1","type":2,"token":"x","version":1,"context":2,`+
		`"data":{"id":"7","name":"deploy","type":1},"user":{"id":"10","username":"grace"}}`)
	if want := `{"type":4,"data":{"content":"Deploying main for grace...","flags":64}}`; code != 200 || got != want {
		t.Fatalf("/deploy in a DM answered %d %q, want %s", code, got, want)
	}
	code, _, got = interaction("noref", `{"id":"104","application_id":"1","type":2,"token":"x","version":1,`+
		`"data":{"id":"7","name":"deploy","type":1,"options":[]},"member":{"user":{"id":"9","username":"ada"}}}`)
	if want := `{"type":4,"data":{"content":"Deploying main for ada...","flags":64}}`; code != 200 || got != want {
		t.Fatalf("/deploy without ref answered %d %q, want %s", code, got, want)
	}
	for id, want := range map[string]string{"1": "deploying prod at HEAD (pushed by ada", "3": "deploying main at HEAD (pushed by grace",
		"4": "deploying main at HEAD (pushed by ada"} {
		eventually(t, "deploy "+id+" to run", 10*time.Second, func() bool {
			out, _, _ := s.cli(t, "", "show", id)
			return strings.Contains(out, want) && !strings.Contains(out, "cannot be read")
		})
	}
}

// TestRespondTwilioSMSExample serves examples/twilio-sms.yaml: an SMS
// signed as Twilio signs it (the URL called plus the sorted form) gets the
// TwiML reply, and the script sees the message.
func TestRespondTwilioSMSExample(t *testing.T) {
	example, err := os.ReadFile("../examples/twilio-sms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, string(example), "")
	const token = "systest-twilio-auth-token"
	s.env = append(s.env, "TWILIO_AUTH_TOKEN="+token)
	s.start()

	body := url.Values{"From": {"+15551230001"}, "To": {"+15559870002"}, "Body": {"is the <deploy> done?"},
		"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {"AC0123"}}.Encode()
	f := filepath.Join(s.dir, "sms.form")
	writeFile(t, f, body)
	target := "http://" + s.addr + "/hooks/twilio-sms"
	code, stdout, stderr := run(t, nil, "sign", "-provider", "twilio", "-secret", token, "-url", target, "-body", f)
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	h := http.Header{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		h.Set(k, v)
	}
	code, hdr, got := s.rawPost(t, "/hooks/twilio-sms", h, []byte(body))
	if code != 200 || hdr.Get("Content-Type") != "text/xml" || !strings.Contains(got, "<Response><Message>Thanks, we got your message.") {
		t.Fatalf("SMS answered %d %q %q", code, hdr.Get("Content-Type"), got)
	}
	// A forged SMS (the same signature over another text) is refused.
	forged := strings.Replace(body, "done", "undone", 1)
	if code, _, _ := s.rawPost(t, "/hooks/twilio-sms", h, []byte(forged)); code != 401 {
		t.Fatalf("forged SMS answered %d, want 401", code)
	}
	eventually(t, "the script to see the message", 10*time.Second, func() bool {
		out, _, _ := s.cli(t, "", "show", "1")
		return strings.Contains(out, "SMS from +15551230001: is the <deploy> done?")
	})
	// A picture with no text: the same reply, and the script runs too.
	media := url.Values{"From": {"+15551230001"}, "To": {"+15559870002"}, "Body": {""}, "NumMedia": {"1"},
		"MediaUrl0":  {"https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages/MM1/Media/ME1"},
		"MessageSid": {"MM0123456789abcdef0123456789abcdef"}, "AccountSid": {"AC0123"}}.Encode()
	writeFile(t, f, media)
	code, stdout, stderr = run(t, nil, "sign", "-provider", "twilio", "-secret", token, "-url", target, "-body", f)
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	h = http.Header{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		h.Set(k, v)
	}
	if code, _, got := s.rawPost(t, "/hooks/twilio-sms", h, []byte(media)); code != 200 || !strings.Contains(got, "Thanks, we got your message.") {
		t.Fatalf("media SMS answered %d %q", code, got)
	}
	eventually(t, "the script to see the media message", 10*time.Second, func() bool {
		out, _, _ := s.cli(t, "", "show", "2")
		return strings.Contains(out, "SMS from +15551230001: ") && strings.Contains(out, "sms-inbox")
	})
}
