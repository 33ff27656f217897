package systest

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/chromedp/chromedp"
)

// The dashboard test's other senders: Slack slash commands, which carry no
// event type, and Discord interactions, whose type is a long word.
const dashboardOtherSenders = `
  slack-commands:
    path: /hooks/slack/commands
    verify: {provider: slack, secret: ${SLACK_SIGNING_SECRET}}
    allow: [127.0.0.1/32, "::1/128", 10.20.30.0/24]
  discord:
    verify: {provider: discord, public_key: ${DISCORD_PUBLIC_KEY}}
`

const dashboardOtherRules = `
  - name: slack-uptime
    source: slack-commands
    when: body.command == "/uptime"
    actions:
      - shell: {command: [uptime]}
  - name: discord-restart-service
    source: discord
    when: event == "APPLICATION_COMMAND" && body.data.name == "restart"
    actions:
      - shell: {command: [sh, -c, 'echo "no unit named $0" >&2; exit 3', "{{ body.data.options[0].value }}"]}
`

// RFC 8032's first test key: the seed, and its public key for the source.
const (
	discordSeed   = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	discordPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

// dashboardSite is the dashboard test's configuration: GitHub, Slack and
// Discord sources.
func dashboardRulesYAML() string {
	src, rules, _ := strings.Cut(dashboardRules, "rules:\n")
	return src + strings.TrimPrefix(dashboardOtherSenders, "\n") + "rules:\n" + rules + strings.TrimPrefix(dashboardOtherRules, "\n")
}

// sendsOtherSenders posts a Slack slash command (event 4, no event type)
// and a Discord interaction (event 5, APPLICATION_COMMAND, whose job fails).
func (d *dash) sendsOtherSenders() {
	t := d.t
	h, body := d.s.slashCommand(t, "/uptime", "", "13345224609.738474920.8088930838d88f008e0")
	if code, _, got := d.s.rawPost(t, "/hooks/slack/commands", h, body); code != 202 && code != 200 {
		t.Fatalf("slash command: %d %s", code, got)
	}
	interaction := `{"id":"1187654321098765432","application_id":"1","type":2,"token":"x","version":1,` +
		`"data":{"id":"7","name":"restart","type":1,"options":[{"name":"unit","type":3,"value":"nginx"}]},` +
		`"member":{"user":{"id":"9","username":"ada"}}}`
	f := filepath.Join(d.s.dir, "interaction.json")
	writeFile(t, f, interaction)
	code, stdout, stderr := run(t, nil, "sign", "-provider", "discord", "-private-key", discordSeed, "-body", f)
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	h = http.Header{"Content-Type": {"application/json"}}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		h.Set(k, v)
	}
	if code, _, got := d.s.rawPost(t, "/hooks/discord", h, []byte(interaction)); code != 200 && code != 202 {
		t.Fatalf("interaction: %d %s", code, got)
	}
	d.b.run("open the events page", chromedp.Navigate(d.ui+"/events"), chromedp.WaitVisible(chromedp.CSS(`tr[data-id="5"]`)))
	// The slash command's event type: a dash that says why.
	none := eval[string](d.b, `(() => { const c = document.querySelector('tr[data-id="4"] td:nth-child(3)');
		return c.innerText.trim() + " | " + (c.querySelector("[title]") || {}).title })()`)
	if !strings.HasPrefix(none, "— | ") || !strings.Contains(none, "sends no event type") {
		t.Fatalf("the slash command's event type shows %q", none)
	}
	d.b.waitFor("APPLICATION_COMMAND")
	d.b.run("see the failure", chromedp.Navigate(d.ui+"/failed"))
	d.b.waitFor("exit status 3")
}

// fitPages are the pages that must fit the window, and what each shows.
var fitPages = []struct{ name, path, want string }{
	{"events", "/events", "APPLICATION_COMMAND"},
	{"event", "/events/4", "slack-uptime"},
	{"event-discord", "/events/5", "no unit named nginx"},
	{"failed", "/failed", "exit status 3"},
	{"rules", "/rules", "rules.yaml:3"},
	{"overview", "/overview", "Slowest actions"},
	{"try", "/try", "A dry run"},
}

// fitsEveryWidth opens every page at a phone's width and at a laptop's:
// none scrolls sideways, no badge takes two lines, and no short word is cut
// across lines. Screenshots: <page>-390.png, <page>-1280.png.
func (d *dash) fitsEveryWidth() {
	b := d.b
	for _, size := range []struct{ w, h int64 }{{390, 844}, {1280, 800}} {
		b.run("resize", chromedp.EmulateViewport(size.w, size.h))
		for _, p := range fitPages {
			b.run("open "+p.path, chromedp.Navigate(d.ui+p.path))
			b.waitFor(p.want)
			d.fits(fmt.Sprintf("%s at %d px", p.path, size.w))
			b.shot(fmt.Sprintf("%s-%d", p.name, size.w))
		}
		b.run("try a payload", chromedp.Navigate(d.ui+"/try"),
			chromedp.SetValue(chromedp.CSS("#t-source"), "github"),
			chromedp.SetValue(chromedp.CSS("#t-headers"), "Content-Type: application/json\nX-GitHub-Event: push"),
			chromedp.SetValue(chromedp.CSS("#t-body"), `{"ref":"refs/heads/main","after":"9fceb02d0ae598e95dc970b74767f19372d61af8"}`),
			chromedp.Click(chromedp.CSS(`form.try button`)), chromedp.WaitVisible(chromedp.CSS("#result")))
		b.waitFor("would run action 1")
		d.fits(fmt.Sprintf("the try result at %d px", size.w))
		b.shot(fmt.Sprintf("try-result-%d", size.w))
	}
}

// fitCheck finds what does not fit: the page wider than the window, a
// table wider than its box (which would scroll it), badges on more than
// one line, and words of up to 24 characters (split at
// spaces, / and -) broken across lines.
const fitCheck = `(() => {
	const out = [];
	const de = document.documentElement;
	if (de.scrollWidth > de.clientWidth) out.push("the page is " + de.scrollWidth + " px wide in a " + de.clientWidth + " px window");
	for (const t of document.querySelectorAll("table")) {
		const box = t.parentElement;
		if (box.scrollWidth > box.clientWidth + 1) out.push("a table is " + box.scrollWidth + " px wide in its " + box.clientWidth + " px box: " + t.innerText.slice(0, 60));
	}
	for (const b of document.querySelectorAll(".badge")) {
		if (!b.getClientRects().length) continue;
		const s = getComputedStyle(b);
		const one = parseFloat(s.lineHeight) + parseFloat(s.paddingTop) + parseFloat(s.paddingBottom) + parseFloat(s.borderTopWidth) + parseFloat(s.borderBottomWidth);
		const h = b.getBoundingClientRect().height;
		if (!(h <= one + 1)) out.push("badge " + JSON.stringify(b.textContent) + " is " + h + " px high, one line is " + one);
	}
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n; (n = walk.nextNode());) {
		const el = n.parentElement;
		if (!el || el.closest(".sr, .skip, pre, textarea, select, svg") || !el.getClientRects().length) continue;
		for (const m of n.data.matchAll(/[^\s\/-]+/g)) {
			if (m[0].length > 24) continue;
			const r = document.createRange();
			r.setStart(n, m.index);
			r.setEnd(n, m.index + m[0].length);
			const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
			if (tops.size > 1) out.push("the word " + JSON.stringify(m[0]) + " is cut across lines");
		}
	}
	return out.join("\n");
})()`

func (d *dash) fits(where string) {
	d.t.Helper()
	if bad := eval[string](d.b, fitCheck); bad != "" {
		d.t.Errorf("%s:\n%s", where, bad)
	}
}
