package ui

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hookd/internal/browsertest"
)

// In a browser, a live row's state follows its event's: the row of a push
// whose job retries then fails reads failed, once, in the end.
func TestLiveRowsUpdateInBrowser(t *testing.T) {
	exe := browsertest.Chromium(t)
	f := startWith(t, slowYAML)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/events"), chromedp.WaitVisible(chromedp.CSS(`#live`))); err != nil {
		t.Fatal(err)
	}
	f.send("push", "d-1", push("refs/heads/main", "fail"))
	var seen []string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`Array.from(document.querySelectorAll('#rows tr[data-id="1"] .badge')).map(b => b.textContent).join(",")`))
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != state {
			seen = append(seen, state)
		}
		if state == "failed" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the row read %q, never just failed", seen)
}
