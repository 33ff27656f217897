package systest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"golang.org/x/crypto/bcrypt"
	"hookd/internal/browsertest"
)

const dashboardRules = `
sources:
  github:
    path: /hooks/github
    verify: {provider: github, secret: ${WEBHOOK_SECRET}}
rules:
  - name: deploy
    source: github
    when: event == "push" && body.ref == "refs/heads/main"
    actions:
      - shell: {command: [sh, -c, 'echo deploying $0', "{{ body.after }}"]}
  - name: notify
    source: github
    when: event == "issues"
    actions:
      - shell: {command: [echo, issue]}
`

// browser drives a headless Chromium that signs in as user when the
// dashboard asks (HTTP basic authentication); challenged counts the asks.
type browser struct {
	ctx        context.Context
	challenged atomic.Int32
	shots      string
	t          *testing.T
}

func newBrowser(t *testing.T, exe, user, pass string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{ctx: ctx, t: t, shots: os.Getenv("HOOKD_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout: one would stop it
		t.Fatalf("starting %s: %v", exe, err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	auth := chromedp.Events(ctx, fetch.AuthRequired)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	go func() {
		for e, err := range auth {
			if err != nil {
				return
			}
			b.challenged.Add(1)
			_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: e.RequestID,
				AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials, Username: user, Password: pass}})
		}
	}()
	go func() {
		for e, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
		}
	}()
	handle := true
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle}); err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs steps, each call bounded by 30 seconds.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", expr, err)
	}
	return v
}

// text returns the visible text of the page.
func (b *browser) text() string {
	b.t.Helper()
	return eval[string](b, `document.body ? document.body.innerText : ""`)
}

// shot saves a screenshot of the whole page.
func (b *browser) shot(name string) { b.t.Helper(); b.save(name, chromedp.FullScreenshot(100)) }

// view saves a screenshot of what the window shows (1280x800).
func (b *browser) view(name string) { b.t.Helper(); b.save(name, chromedp.CaptureScreenshot()) }

func (b *browser) save(name string, capture chromedp.Action[[]byte]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// waitFor polls the page's text until it holds want.
func (b *browser) waitFor(want string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if s := b.text(); strings.Contains(s, want) {
			return
		} else if time.Now().After(deadline) {
			b.t.Fatalf("the page never showed %q; it shows:\n%s", want, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDashboardInBrowser(t *testing.T) {
	exe := browsertest.Chromium(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("open sesame"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	uiAddr := freeAddr(t)
	s := newSite(t, dashboardRulesYAML(), fmt.Sprintf("ui:\n  listen: %s\n  users: {alice: '%s'}\n", uiAddr, hash))
	s.env = append(s.env, "SLACK_SIGNING_SECRET="+slackSecret, "DISCORD_PUBLIC_KEY="+discordPublic)
	s.start()
	d := &dash{t: t, s: s, ui: "http://" + uiAddr}
	d.refusesStrangers()
	d.b = newBrowser(t, exe, "alice", "open sesame")
	d.signsIn()
	d.showsDeliveriesLive()
	d.explains()
	d.replays()
	d.showsEveryPage()
	d.sendsOtherSenders()
	d.fitsEveryWidth()
	d.refusesCrossSitePosts()
}

// dash is the dashboard of a running hookd, and a browser on it.
type dash struct {
	t  *testing.T
	s  *site
	b  *browser
	ui string
}

// refusesStrangers: without credentials, nothing, not even the stylesheet.
func (d *dash) refusesStrangers() {
	for _, p := range []string{"/events", "/static/app.css", "/events/stream"} {
		resp, err := http.Get(d.ui + p)
		if err != nil {
			d.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			d.t.Fatalf("%s without credentials: %d", p, resp.StatusCode)
		}
	}
}

// signsIn opens the events page, answering the sign-in, and finds the
// empty state and the navigation bar.
func (d *dash) signsIn() {
	b := d.b
	b.run("open the events page", chromedp.Navigate(d.ui+"/events"), chromedp.WaitVisible(chromedp.CSS("#empty")))
	if b.challenged.Load() == 0 {
		d.t.Fatal("the browser was never asked to sign in")
	}
	b.waitFor("No webhook received yet")
	for _, name := range []string{"Events", "Failed", "Rules", "Overview", "Try"} {
		n := eval[int](b, fmt.Sprintf(`[...document.querySelectorAll("nav a")].filter(a => a.textContent == %q).length`, name))
		if n != 1 {
			d.t.Fatalf("the navigation bar has %d links named %s", n, name)
		}
	}
	b.waitFor("Live")
	d.fits("the empty state at 1280 px")
	b.shot("events-empty")
	b.run("phone", chromedp.EmulateViewport(390, 844))
	d.fits("the empty state at 390 px")
	b.shot("events-empty-390")
	b.run("laptop", chromedp.EmulateViewport(1280, 800))
}

// showsDeliveriesLive sends signed deliveries, which appear without a
// reload, their times in the browser's zone and UTC on hover.
func (d *dash) showsDeliveriesLive() {
	for i, ref := range []string{"refs/heads/main", "refs/heads/dev", "refs/heads/main"} {
		body := []byte(fmt.Sprintf(`{"ref":%q,"after":"c0ffee%d","repository":{"full_name":"acme/site"}}`, ref, i))
		if r, err := d.s.post(fmt.Sprintf("delivery-%d", i+1), body); err != nil || r.Status == "" {
			d.t.Fatalf("delivery %d: %+v %v", i+1, r, err)
		}
	}
	d.b.run("see the rows arrive", chromedp.WaitVisible(chromedp.CSS(`tr[data-id="3"]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-id="2"]`)))
	if rows := eval[int](d.b, `document.querySelectorAll("#rows tr").length`); rows != 3 {
		d.t.Fatalf("%d rows", rows)
	}
	hover := eval[string](d.b, `document.querySelector("#rows time").title + " | " + document.querySelector("#rows time").dataset.local`)
	if !strings.HasSuffix(hover, " UTC | 1") {
		d.t.Fatalf("a live row's time: %q", hover)
	}
	d.b.shot("events")
}

// explains opens the ignored push: the deploy rule's false part, and the
// value seen.
func (d *dash) explains() {
	d.b.run("open event 2", chromedp.Click(chromedp.CSS(`tr[data-id="2"] a`)), chromedp.WaitVisible(chromedp.CSS(".verdicts")))
	d.b.waitFor(`body.ref is "refs/heads/dev"`)
	d.b.shot("event-not-matched")
}

// replays event 1 after the confirmation, and sees the new job's attempt.
func (d *dash) replays() {
	b := d.b
	b.run("open event 1", chromedp.Navigate(d.ui+"/events/1"), chromedp.WaitVisible(chromedp.CSS(".job")))
	b.waitFor("deploying c0ffee0")
	b.run("replay", chromedp.Click(chromedp.CSS(`a.button[href="/events/1/replay"]`)), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	b.waitFor("Run event 1")
	b.shot("confirm")
	b.run("confirm", chromedp.Click(chromedp.CSS("#confirm")))
	b.waitFor("Replayed: queued job")
	deadline := time.Now().Add(15 * time.Second)
	for {
		done := eval[int](b, `[...document.querySelectorAll("article.job")].filter(j => j.querySelector(".badge.ok") && j.textContent.includes("Attempt 1")).length`)
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the replayed job never showed its attempt:\n%s", b.text())
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.shot("event-replayed")
	b.view("dashboard") // the README's picture: docs/dashboard.png
}

// showsEveryPage opens the other pages and tries a payload.
func (d *dash) showsEveryPage() {
	b := d.b
	for _, p := range []struct{ path, want string }{{"/failed", "No job has failed"}, {"/rules", "Last reload"}, {"/overview", "Deliveries per minute"}, {"/try", "A dry run"}} {
		b.run("open "+p.path, chromedp.Navigate(d.ui+p.path))
		b.waitFor(p.want)
		b.shot(strings.TrimPrefix(p.path, "/"))
	}
	b.run("try a payload", chromedp.SetValue(chromedp.CSS("#t-source"), "github"),
		chromedp.SetValue(chromedp.CSS("#t-headers"), "Content-Type: application/json\nX-GitHub-Event: push"),
		chromedp.SetValue(chromedp.CSS("#t-body"), `{"ref":"refs/heads/dev"}`),
		chromedp.Click(chromedp.CSS(`form.try button`)), chromedp.WaitVisible(chromedp.CSS("#result")))
	b.waitFor(`body.ref is "refs/heads/dev"`)
	b.shot("try-result")
}

// refusesCrossSitePosts: a page of another origin posts a replay; it is
// refused, and nothing runs.
func (d *dash) refusesCrossSitePosts() {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/events/1/replay"></form><script>document.getElementById("f").submit()</script>`, d.ui)
	}))
	defer evil.Close()
	d.b.run("visit another site", chromedp.Navigate(evil.URL))
	d.b.waitFor("cross-origin request detected")
	d.b.run("back", chromedp.Navigate(d.ui+"/events/1"), chromedp.WaitVisible(chromedp.CSS(".job")))
	if jobs := eval[int](d.b, `document.querySelectorAll("article.job").length`); jobs != 2 {
		d.t.Fatalf("the cross-site POST ran something: %d jobs", jobs)
	}
}
