package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hookd/store"
)

// Three sources alike but for keep_ignored; each runs deploy for a push to
// main, and ignores the rest.
const keepRules = `
sources:
  full:
    verify: {provider: github, secret: "${TEST_SECRET}"}
  heads:
    verify: {provider: github, secret: "${TEST_SECRET}"}
    keep_ignored: headers
  ids:
    verify: {provider: github, secret: "${TEST_SECRET}"}
    keep_ignored: delivery_id
rules:
  - name: deploy
    sources: [full, heads, ids]
    when: event == "push" && body.ref == "refs/heads/main"
    actions: [{shell: {command: ["true"]}}]
`

// An ignored event keeps what its source says, through intake and a
// restart; duplicates are still answered duplicate; an accepted event
// keeps everything whatever keep_ignored says.
func TestKeepIgnored(t *testing.T) {
	dir := t.TempDir()
	te := startEngine(t, dir, keepRules, nil)
	fixture, err := os.ReadFile(filepath.Join("testdata", "pushes", "push-7k.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Replace(string(fixture), `"refs/heads/main"`, `"refs/heads/dev"`, 1))
	sum := sha256.Sum256(body)
	ids := map[string]uint64{}
	for _, src := range []string{"full", "heads", "ids"} {
		h := githubHeaders(body, "push", "d-"+src)
		a := te.send("POST", "/hooks/"+src+"?tag=x", h, body)
		if a.code != 200 || a.body["status"] != "ignored" {
			t.Fatalf("%s: %d %s", src, a.code, a.raw)
		}
		ids[src] = uint64(a.body["id"].(float64))
		if a := te.send("POST", "/hooks/"+src, h, body); a.body["status"] != "duplicate" || uint64(a.body["id"].(float64)) != ids[src] {
			t.Fatalf("%s: a redelivery: %d %s", src, a.code, a.raw)
		}
		main := push("refs/heads/main", "abc")
		if a := te.send("POST", "/hooks/"+src, githubHeaders(main, "push", "m-"+src), main); a.body["status"] != "accepted" {
			t.Fatalf("%s: a push to main: %d %s", src, a.code, a.raw)
		}
	}
	te.stop()
	te = startEngine(t, dir, keepRules, nil)

	read := func(src string) *store.Event {
		ev, err := te.store.Event(ids[src])
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if ev := read("full"); string(ev.Body) != string(body) || ev.Kept != nil || ev.Headers["x-github-delivery"] != "d-full" || ev.Query["tag"] != "x" {
		t.Errorf("keep_ignored all: %+v", ev)
	}
	want := store.Kept{What: "headers", BodyBytes: len(body), BodySHA256: hex.EncodeToString(sum[:])}
	if ev := read("heads"); ev.Body != nil || ev.Kept == nil || *ev.Kept != want || ev.Headers["x-github-event"] != "push" || ev.Query["tag"] != "x" || ev.RemoteAddr == "" {
		t.Errorf("keep_ignored headers: %+v kept %+v", ev, ev.Kept)
	}
	want = store.Kept{What: "delivery_id", BodyBytes: len(body)}
	if ev := read("ids"); ev.Body != nil || ev.Kept == nil || *ev.Kept != want || ev.Headers != nil || ev.Query != nil || ev.RemoteAddr != "" ||
		ev.DeliveryID != "d-ids" || ev.Event != "push" || ev.Status != "ignored" || ev.ReceivedAt.IsZero() || ev.Path != "/hooks/ids" {
		t.Errorf("keep_ignored delivery_id: %+v kept %+v", ev, ev.Kept)
	}
	for _, src := range []string{"heads", "ids"} {
		if a := te.send("POST", "/hooks/"+src, githubHeaders(body, "push", "d-"+src), body); a.body["status"] != "duplicate" {
			t.Errorf("%s: a redelivery after a restart: %d %s", src, a.code, a.raw)
		}
	}
	list, _, err := te.store.ListEvents(store.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if ev, _ := te.store.Event(b.ID); b.Status == "accepted" && (ev.Kept != nil || len(ev.Body) == 0) {
			t.Errorf("accepted event %d of %s lost its body: %+v", b.ID, b.Source, ev)
		}
	}
}

// The admin API shows what was not kept, and rematch says it cannot match
// such an event again rather than matching an empty body.
func TestKeepIgnoredShowAndRematch(t *testing.T) {
	te := startEngine(t, "", keepRules, nil)
	body := push("refs/heads/dev", "abc")
	id := map[string]string{}
	for _, src := range []string{"heads", "ids", "full"} {
		a := te.send("POST", "/hooks/"+src, githubHeaders(body, "push", "d-"+src), body)
		if a.body["status"] != "ignored" {
			t.Fatalf("%s: %d %s", src, a.code, a.raw)
		}
		id[src] = fmt.Sprint(a.body["id"])
	}
	heads, ids := id["heads"], id["ids"]
	a := te.adminGet("/events/" + heads)
	kept, _ := a.body["kept"].(map[string]any)
	if a.code != 200 || kept["what"] != "headers" || kept["body_bytes"] != float64(len(body)) || len(fmt.Sprint(kept["body_sha256"])) != 64 ||
		a.body["body"] != "" || a.body["body_error"] != nil {
		t.Fatalf("show %s: %d %s", heads, a.code, a.raw)
	}

	// Every rule matches now, even an empty body: only what was kept stops it.
	rules := strings.Replace(keepRules, `when: event == "push" && body.ref == "refs/heads/main"`, `when: "true"`, 1)
	if err := os.WriteFile(filepath.Join(te.dir, "rules", "rules.yaml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := te.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{heads, ids} {
		a := te.adminPost("/rematch", `{"id":`+id+`}`)
		items, _ := a.body["items"].([]any)
		if a.code != 200 || len(items) != 1 {
			t.Fatalf("rematch %s: %d %s", id, a.code, a.raw)
		}
		it := items[0].(map[string]any)
		if it["outcome"] != "not_kept" || !strings.Contains(fmt.Sprint(it["reason"]), "keep_ignored") {
			t.Errorf("rematch %s: %s", id, a.raw)
		}
	}
	a = te.adminPost("/rematch", `{"status":"ignored"}`)
	if a.code != 200 || strings.Count(a.raw, `"not_kept"`) != 2 || strings.Count(a.raw, `"queued"`) != 1 {
		t.Fatalf("rematch by filter: %d %s", a.code, a.raw)
	}
}
